/**
 * Looking at a video file without decoding it: size, frame rate, duration, from ffmpeg's stream
 * listing. Also the one place that turns "this path is not a readable video" into a clear Error,
 * so readVideo and the dataset importer report problems the same way.
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { ffmpegReason, runFfmpeg } from "./ffmpeg.ts";
import { plainReason } from "./fs-errors.ts";
import { parseInputInfo, type StreamInfo } from "./stream-info.ts";
import { SIZE_TAG } from "./write-mp4.ts";

export interface VideoInfo {
  path: string;
  /** Displayed size: for odd-sized Zoetrope MP4s the size before padding. */
  width: number;
  height: number;
  /** Size of the stored (decoded) frames, which may include one row/column of padding. */
  storedWidth: number;
  storedHeight: number;
  fps: number;
  /** Seconds, NaN when the container does not say. */
  duration: number;
  /** round(duration × fps): ffmpeg's own estimate, exact for constant-frame-rate files. */
  estimatedFrames: number;
  container: string;
  codec: string;
}

/** Throws a clear error unless `path` is an existing regular file. */
export async function assertFile(path: string, what: string): Promise<void> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") throw new Error(`${what}: file not found: ${path}`);
    throw new Error(`${what}: cannot read ${path}: ${plainReason(err)}`);
  });
  if (!info.isFile()) throw new Error(`${what}: ${path} is not a file`);
  if (info.size === 0) throw new Error(`${what}: ${path} is empty (0 bytes), not a video`);
}

/**
 * Interprets ffmpeg's stream listing for `path`; throws naming the file and ffmpeg's reason when
 * it is not a readable video.
 */
export function streamInfoOrThrow(
  path: string,
  stderr: string,
  what: string,
  ffmpegSaw = path,
): StreamInfo {
  const info = parseInputInfo(stderr);
  if (!info) {
    if (/^Input #0,/m.test(stderr)) {
      // A listed input with other streams (audio) lacks video; one with none holds no frames at all.
      const reason = /^\s+Stream #0:/m.test(stderr)
        ? "has no video stream"
        : "has no video frames (its container lists no streams: is the file complete?)";
      throw new Error(`${what}: ${path} ${reason}`);
    }
    throw new Error(
      `${what}: cannot read ${path} as a video: ${stripPath(ffmpegReason(stderr), ffmpegSaw)}`,
    );
  }
  // ffmpeg renders plain text as an "ANSI art" video; a caption or log file is not a clip.
  if (info.container === "tty") throw new Error(`${what}: ${path} is a text file, not a video`);
  return info;
}

/** ffmpeg prefixes its reason with the path; drop it since the message already names the file. */
function stripPath(reason: string, path: string): string {
  return reason.startsWith(`${path}: `) ? reason.slice(path.length + 2) : reason;
}

/** The true (unpadded) size recorded by writeMp4 in an odd-sized file, if any and plausible. */
export function taggedSize(info: StreamInfo): [number, number] | null {
  const m = /^(\d+)x(\d+)$/.exec(info.metadata[SIZE_TAG] ?? "");
  if (!m) return null;
  const w = Number(m[1]);
  const h = Number(m[2]);
  const plausible = w >= 1 && h >= 1 && info.width - w <= 1 && info.height - h <= 1;
  return plausible && w <= info.width && h <= info.height ? [w, h] : null;
}

/** Reads a video file's size, frame rate and duration (no decoding). */
export async function probeVideo(path: string): Promise<VideoInfo> {
  await assertFile(path, "probeVideo");
  // With no output ffmpeg exits 1 after listing the input; the listing is what we want.
  // Absolute, so that a name starting with "-" or "proto:" is never read as an option or protocol.
  const absolute = resolve(path);
  const { stderr } = await runFfmpeg(["-i", absolute]);
  const info = streamInfoOrThrow(path, stderr, "probeVideo", absolute);
  const size = taggedSize(info) ?? [info.width, info.height];
  return {
    path,
    width: size[0],
    height: size[1],
    storedWidth: info.width,
    storedHeight: info.height,
    fps: info.fps,
    duration: info.duration,
    estimatedFrames:
      info.duration > 0 && info.fps > 0 ? Math.round(info.duration * info.fps) : Number.NaN,
    container: info.container,
    codec: info.codec,
  };
}
