/**
 * Decoding any video ffmpeg can read (MP4, WebM, MOV, GIF, …) into a Video of rgb24 frames,
 * optionally resized, resampled in time and cut short on the way, so that big user clips never
 * have to exist in memory at full size.
 */
import { resolve } from "node:path";
import { ffmpegReason, runFfmpeg } from "./ffmpeg.ts";
import { assertFile, probeVideo } from "./probe.ts";
import { parseOutputInfo } from "./stream-info.ts";
import type { Video } from "./video.ts";
import { SWS_FLAGS } from "./write-mp4.ts";

export interface ReadVideoOptions {
  /**
   * Resize every frame to exactly width×height. "crop" (default) scales to cover the target and
   * cuts the overflow evenly from both sides, keeping the aspect ratio; "stretch" scales to the
   * target and distorts the aspect ratio.
   */
  resize?: { width: number; height: number; fit?: "crop" | "stretch" };
  /** Resample to this constant frame rate (duplicating or dropping frames). */
  fps?: number;
  /** Decode at most this many frames from the start. */
  maxFrames?: number;
  /** Called as frames arrive (for progress on long clips) with the count decoded so far. */
  onFrames?: (decoded: number) => void;
}

/** Decodes `path` to rgb24 frames; throws naming the file when it is missing, unreadable or empty. */
export async function readVideo(path: string, opts: ReadVideoOptions = {}): Promise<Video> {
  await assertFile(path, "readVideo");
  validate(opts);
  const info = await probeVideo(path).catch((err: Error) => {
    throw new Error(err.message.replace(/^probeVideo:/, "readVideo:"));
  });

  // Convert to RGB first: cropping or scaling in yuv420p would round sizes to even numbers.
  const filters: string[] = ["format=rgb24"];
  if (info.width !== info.storedWidth || info.height !== info.storedHeight) {
    filters.push(`crop=${info.width}:${info.height}:0:0`); // drop writeMp4's odd-size padding
  }
  if (opts.fps !== undefined) filters.push(`fps=${opts.fps}`);
  if (opts.resize) filters.push(...resizeFilters(info.width, info.height, opts.resize));

  // Accurate rounding and full-resolution chroma interpolation: flat colours come back exact.
  const args = ["-i", resolve(path), "-sws_flags", SWS_FLAGS];
  args.push("-vf", filters.join(","));
  if (opts.maxFrames !== undefined) args.push("-frames:v", String(opts.maxFrames));
  // Without a target rate keep every decoded frame exactly once (no CFR duplication).
  if (opts.fps === undefined) args.push("-vsync", "passthrough");
  args.push("-an", "-sn", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1");

  // Frames are cut from ffmpeg's output as it streams, so memory holds the frames and nothing
  // more (no whole-output buffer to copy from). Their size is known once ffmpeg has listed its
  // output stream (it may differ from the input's, e.g. after autorotation).
  const frames: Uint8Array[] = [];
  let frameBytes = opts.resize ? opts.resize.width * opts.resize.height * 3 : 0;
  let size: { width: number; height: number } | null = opts.resize ?? null;
  let early: Buffer[] = [];
  let current: Uint8Array | null = null;
  let filled = 0;
  let log = "";
  const take = (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      current ??= new Uint8Array(frameBytes);
      const n = Math.min(frameBytes - filled, chunk.length - at);
      current.set(chunk.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === frameBytes) {
        frames.push(current);
        current = null;
        filled = 0;
      }
    }
    opts.onFrames?.(frames.length);
  };
  const learnSize = () => {
    if (size) return;
    const complete = log.slice(0, log.lastIndexOf("\n") + 1);
    size = parseOutputInfo(complete);
    if (!size) return;
    frameBytes = size.width * size.height * 3;
    for (const chunk of early) take(chunk);
    early = [];
  };
  const result = await runFfmpeg(args, {
    onStderr: (text) => {
      if (size) return;
      log += text;
      learnSize();
    },
    onStdout: (chunk) => {
      if (size) take(chunk);
      else early.push(Buffer.from(chunk));
    },
  });
  if (result.code !== 0) {
    throw new Error(`readVideo: cannot decode ${path}: ${ffmpegReason(result.stderr)}`);
  }
  if (!size) {
    log = result.stderr;
    learnSize();
  }
  const { width, height } = size ?? info;
  if (!size) {
    frameBytes = width * height * 3;
    for (const chunk of early) take(chunk);
  }
  if (frames.length === 0) throw new Error(`readVideo: ${path} has no video frames`);
  if (filled !== 0) {
    throw new Error(
      `readVideo: ${path} decoded to ${frames.length * frameBytes + filled} bytes, not a whole number of ${width}×${height} frames`,
    );
  }
  const fps = opts.fps ?? frameRate(info.fps, info.duration, frames.length, path);
  return { width, height, fps, frames };
}

function frameRate(fps: number, duration: number, count: number, path: string): number {
  if (fps > 0 && Number.isFinite(fps)) return fps;
  if (duration > 0) return count / duration;
  throw new Error(`readVideo: ${path} does not say its frame rate; pass opts.fps`);
}

function validate(opts: ReadVideoOptions): void {
  const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
  if (opts.resize && (!positiveInt(opts.resize.width) || !positiveInt(opts.resize.height))) {
    throw new Error(
      `readVideo: resize width and height must be positive integers, got ${opts.resize.width}×${opts.resize.height}`,
    );
  }
  if (opts.fps !== undefined && !(opts.fps > 0 && Number.isFinite(opts.fps))) {
    throw new Error(`readVideo: fps must be a positive number, got ${opts.fps}`);
  }
  if (opts.maxFrames !== undefined && !positiveInt(opts.maxFrames)) {
    throw new Error(`readVideo: maxFrames must be a positive integer, got ${opts.maxFrames}`);
  }
}

/** ffmpeg filters that bring a srcW×srcH picture to the requested size. */
function resizeFilters(
  srcW: number,
  srcH: number,
  resize: NonNullable<ReadVideoOptions["resize"]>,
): string[] {
  const { width, height } = resize;
  // Area averaging when shrinking avoids aliasing; bicubic when enlarging.
  const flags = `${width * height < srcW * srcH ? "area" : "bicubic"}+accurate_rnd+full_chroma_int`;
  if (resize.fit === "stretch") return [`scale=${width}:${height}:flags=${flags}`, "setsar=1"];
  const scale = Math.max(width / srcW, height / srcH);
  const scaledW = Math.max(width, Math.round(srcW * scale));
  const scaledH = Math.max(height, Math.round(srcH * scale));
  return [
    `scale=${scaledW}:${scaledH}:flags=${flags}`,
    `crop=${width}:${height}:${(scaledW - width) >> 1}:${(scaledH - height) >> 1}`,
    "setsar=1",
  ];
}
