/**
 * Encoding a Video to an H.264 MP4 with ffmpeg: by default libx264 in yuv420p, so it plays everywhere.
 *
 * yuv420p stores colour at half resolution, so H.264 can only hold even widths and heights in it
 * (its crop window moves in steps of two pixels). An odd-sized video is therefore stored in
 * yuv444p (H.264 High 4:4:4), which holds any size exactly: the file is the size that was asked
 * for, in every player. Some browsers do not play 4:4:4, which is why even sizes keep yuv420p.
 * (Files from earlier versions padded odd sizes and recorded the true size as `zoetrope_size`;
 * readVideo still crops those.)
 *
 * `lossless: true` instead stores the RGB frames bit-exactly (libx264rgb at qp 0, any size).
 * Files are larger and most browsers will not play them, but a clip read back is the clip that
 * was written — what measuring a simulated clip needs (the evaluator's segmentation is sensitive
 * to even ±1 codec noise).
 *
 * ffmpeg can exit 0 after failing to write (a full disk during the final `faststart` pass), so
 * the finished file is checked box by box (mp4-boxes.ts) and ffmpeg's log is searched for write
 * errors before the file is put in place (safe-output.ts).
 */

import { resolve } from "node:path";
import { ffmpegReason, runFfmpeg } from "./ffmpeg.ts";
import { checkMp4 } from "./mp4-boxes.ts";
import { type OutputTarget, type StagedOutput, stageOutput } from "./safe-output.ts";
import { assertVideo, type Video } from "./video.ts";

/** Metadata key with which earlier versions recorded the true size of a padded (odd-sized) video. */
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
  /**
   * Text tags stored in the file (e.g. prompt, caption, seed): keys of letters, digits and "_",
   * values any text. Kept as MP4 user-data tags that ffprobe lists under format.tags.
   */
  metadata?: Record<string, string>;
}

/** ffmpeg arguments that store `metadata` (validated: a bad key would be silently dropped). */
function metadataArgs(metadata: Record<string, string> | undefined): string[] {
  if (!metadata) return [];
  const args: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(key)) {
      throw new Error(
        `writeMp4: metadata key ${JSON.stringify(key)} must be a letter then letters, digits or "_" (at most 64)`,
      );
    }
    if (typeof value !== "string") {
      throw new Error(`writeMp4: metadata ${key} must be text, got ${typeof value}`);
    }
    args.push("-metadata", `${key}=${value}`);
  }
  return args;
}

/** The pixel format an encode uses: what the file will hold. */
export function storedPixelFormat(width: number, height: number, lossless = false): string {
  if (lossless) return "rgb24";
  return width % 2 === 0 && height % 2 === 0 ? "yuv420p" : "yuv444p";
}

/** Lines of ffmpeg's log that mean the output was not fully written, whatever its exit code. */
const WRITE_ERROR =
  /No space left on device|Error writing trailer|Error submitting a packet to the muxer|av_interleaved_write_frame\(\)|I\/O error|Disk quota exceeded|Input\/output error/i;

/**
 * Writes `video` to `path` (a path or a prepared output) as MP4. The file appears only when
 * complete and checked; on failure nothing is left behind and an existing file is untouched.
 */
export async function writeMp4(
  video: Video,
  path: string | OutputTarget,
  opts: WriteMp4Options = {},
): Promise<void> {
  await (await stageMp4(video, path, opts)).commit();
}

/** Encodes and checks the MP4 without putting it in place yet (see safe-output's stageOutput). */
export async function stageMp4(
  video: Video,
  path: string | OutputTarget,
  opts: WriteMp4Options = {},
): Promise<StagedOutput> {
  const name = typeof path === "string" ? path : path.path;
  assertVideo(video, `writeMp4(${name})`);
  const crf = opts.crf ?? 12;
  if (!Number.isFinite(crf) || crf < 0 || crf > 51) {
    throw new Error(`writeMp4: crf must be between 0 and 51, got ${crf}`);
  }
  const { width, height, fps } = video;
  const lossless = opts.lossless === true;
  const pixFmt = storedPixelFormat(width, height, lossless);
  const preset = opts.preset ?? "medium";
  const codec = lossless
    ? ["-c:v", "libx264rgb", "-preset", preset, "-qp", "0", "-pix_fmt", "rgb24"]
    : [
        ...["-sws_flags", SWS_FLAGS],
        ...["-c:v", "libx264", "-preset", preset, "-crf", String(crf)],
        // Say which RGB↔YUV matrix was used (swscale's default, BT.601) so players convert alike.
        ...["-pix_fmt", pixFmt, "-colorspace", "smpte170m", "-color_range", "tv"],
      ];
  const args = [
    "-y",
    ...["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${width}x${height}`],
    ...["-framerate", String(fps), "-i", "pipe:0"],
    ...codec,
    ...metadataArgs(opts.metadata),
    // use_metadata_tags: keys beyond the few standard ones are kept (as mdta tags), not dropped.
    ...["-movflags", opts.metadata ? "+faststart+use_metadata_tags" : "+faststart"],
    "-an",
    ...["-f", "mp4"],
  ];
  return stageOutput(
    path,
    async (tmp) => {
      // Absolute, so that a name starting with "-" is never read as an option.
      const result = await runFfmpeg([...args, resolve(tmp)], { stdin: video.frames });
      if (result.code !== 0 || WRITE_ERROR.test(result.stderr)) {
        const full = /No space left on device|Disk quota exceeded/i.test(result.stderr);
        throw new Error(
          `cannot write ${name}: ${full ? "the disk is full" : ffmpegReason(result.stderr)}`,
        );
      }
    },
    {
      verify: async (tmp) => {
        const check = await checkMp4(tmp);
        if (!check.complete) {
          throw new Error(
            `cannot write ${name}: the encoder left it incomplete (${check.problem})`,
          );
        }
      },
    },
  );
}
