/**
 * Encoding a Video to an H.264 MP4 with ffmpeg: by default libx264 in yuv420p, so it plays everywhere.
 *
 * yuv420p stores colour at half resolution, so H.264 can only hold even widths and heights (its
 * crop window moves in steps of two pixels as well). An odd-sized video is therefore padded by
 * one column and/or row that repeats the edge pixels, and its true size goes into the MP4's
 * metadata as `zoetrope_size=WxH`; `readVideo` crops the padding off again, and other players
 * show the (invisible) repeated edge.
 *
 * `lossless: true` instead stores the RGB frames bit-exactly (libx264rgb at qp 0, any size, no
 * padding). Files are larger and most browsers will not play them, but a clip read back is the
 * clip that was written — what measuring a simulated clip needs (the evaluator's segmentation
 * is sensitive to even ±1 codec noise).
 */

import { resolve } from "node:path";
import { writeAtomically } from "./atomic-file.ts";
import { ffmpegReason, runFfmpeg } from "./ffmpeg.ts";
import { assertVideo, type Video } from "./video.ts";

/** Metadata key that records the true size of a padded (odd-sized) video. */
export const SIZE_TAG = "zoetrope_size";

/** swscale flags for every RGB↔YUV conversion: accurate rounding, full-resolution chroma. */
export const SWS_FLAGS = "bicubic+accurate_rnd+full_chroma_int";

export interface WriteMp4Options {
  /** x264 constant rate factor, 0 (lossless-ish) … 51 (worst); default 12 for training fidelity. */
  crf?: number;
  /** Store RGB exactly (libx264rgb, qp 0) instead of lossy yuv420p; crf is then ignored. */
  lossless?: boolean;
  /** x264 speed/size trade-off; default "medium". */
  preset?: "ultrafast" | "superfast" | "veryfast" | "faster" | "fast" | "medium" | "slow";
}

/**
 * Writes `video` to `path` as MP4. The file appears only when complete (temp file + rename); on
 * failure nothing is left behind and an existing file at `path` is untouched.
 */
export async function writeMp4(
  video: Video,
  path: string,
  opts: WriteMp4Options = {},
): Promise<void> {
  assertVideo(video, `writeMp4(${path})`);
  const crf = opts.crf ?? 12;
  if (!Number.isFinite(crf) || crf < 0 || crf > 51) {
    throw new Error(`writeMp4: crf must be between 0 and 51, got ${crf}`);
  }
  const { width, height, fps } = video;
  const lossless = opts.lossless === true;
  const paddedW = lossless ? width : width + (width % 2);
  const paddedH = lossless ? height : height + (height % 2);
  const padded = paddedW !== width || paddedH !== height;
  const preset = opts.preset ?? "medium";
  const codec = lossless
    ? ["-c:v", "libx264rgb", "-preset", preset, "-qp", "0", "-pix_fmt", "rgb24"]
    : [
        ...["-sws_flags", SWS_FLAGS],
        ...["-c:v", "libx264", "-preset", preset, "-crf", String(crf)],
        // Say which RGB↔YUV matrix was used (swscale's default, BT.601) so players convert alike.
        ...["-pix_fmt", "yuv420p", "-colorspace", "smpte170m", "-color_range", "tv"],
      ];
  const args = [
    "-y",
    ...["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${paddedW}x${paddedH}`],
    ...["-framerate", String(fps), "-i", "pipe:0"],
    ...codec,
    ...(padded
      ? ["-movflags", "+faststart+use_metadata_tags", "-metadata", `${SIZE_TAG}=${width}x${height}`]
      : ["-movflags", "+faststart"]),
    "-an",
    ...["-f", "mp4"],
  ];
  const frames = padded ? padFrames(video, paddedW, paddedH) : video.frames;
  await writeAtomically(path, async (tmp) => {
    // Absolute, so that a name starting with "-" is never read as an option.
    const result = await runFfmpeg([...args, resolve(tmp)], { stdin: frames });
    if (result.code !== 0) {
      throw new Error(`writeMp4: ffmpeg could not encode ${path}: ${ffmpegReason(result.stderr)}`);
    }
  });
}

/** Yields each frame enlarged to paddedW×paddedH by repeating the last column and row. */
function* padFrames(video: Video, paddedW: number, paddedH: number): Generator<Uint8Array> {
  const { width, height } = video;
  for (const frame of video.frames) {
    const out = new Uint8Array(paddedW * paddedH * 3);
    for (let y = 0; y < paddedH; y++) {
      const srcRow = Math.min(y, height - 1) * width * 3;
      const dstRow = y * paddedW * 3;
      out.set(frame.subarray(srcRow, srcRow + width * 3), dstRow);
      if (paddedW > width)
        out.copyWithin(dstRow + width * 3, dstRow + (width - 1) * 3, dstRow + width * 3);
    }
    yield out;
  }
}
