/**
 * `world-render`: a clip of the simulated world from a prompt, as MP4 — what `zoetrope world
 * render` does, through the same library calls (prompt check, expansion, simulation, the
 * atomic MP4 writer), with progress per frame encoded and a thumbnail preview.
 */
import { rm } from "node:fs/promises";
import { z } from "zod";
import { checkPrompt } from "../../cli/prompt-check.ts";
import { storedPixelFormat, writeMp4 } from "../../media/write-mp4.ts";
import { expandPrompt } from "../../world/expand.ts";
import { simulate } from "../../world/simulate.ts";
import { MAX_FPS, MAX_SECONDS, validateOptions } from "../../world/validate.ts";
import type { JobKind, ProgressReport } from "../kinds.ts";
import { thumbnailPng } from "../png.ts";
import { frameBytesIssue, promptField, promptIssue, seedField } from "./checks.ts";

const MAX_SIDE = 1024;
/** About this many previews per job, whatever its length. */
const PREVIEWS_PER_JOB = 8;

const settings = z
  .object({
    prompt: promptField,
    seed: seedField,
    width: z.int().min(8).max(MAX_SIDE).default(128),
    height: z.int().min(8).max(MAX_SIDE).default(128),
    fps: z.number().min(1).max(MAX_FPS).default(24),
    seconds: z.number().gt(0).max(MAX_SECONDS).default(3),
    lossless: z.boolean().default(false),
  })
  .strict()
  .superRefine((s, ctx) => {
    promptIssue(s.prompt, ctx);
    frameBytesIssue(s, ctx);
  });

export type WorldRenderSettings = z.infer<typeof settings>;

/**
 * The frames as ffmpeg's stdin feeder will pull them (it iterates and respects back-pressure, so
 * a frame is taken when the encoder is ready for it): reports each one, and ends the stream early
 * once `signal` is aborted so that the encoder stops at once.
 */
function reportingFrames(
  frames: Uint8Array[],
  onFrame: (index: number, frame: Uint8Array) => void,
  signal: AbortSignal,
): Uint8Array[] {
  const copy = [...frames];
  Object.defineProperty(copy, Symbol.iterator, {
    value: function* () {
      for (let i = 0; i < frames.length; i++) {
        if (signal.aborted) return;
        onFrame(i, frames[i]);
        yield frames[i];
      }
    },
  });
  return copy;
}

export const worldRender: JobKind<WorldRenderSettings> = {
  name: "world-render",
  description:
    "A clip of the simulated physics world from a short prompt (what `zoetrope world render` makes), as H.264 MP4.",
  settings,
  output: { extension: "mp4", contentType: "video/mp4" },
  async run({ settings: s, outputPath, progress, signal }) {
    const unknownWords = checkPrompt(s.prompt);
    const shape = { width: s.width, height: s.height, fps: s.fps, seconds: s.seconds };
    validateOptions(shape);
    const expanded = expandPrompt(s.prompt, s.seed);
    const clip = simulate(expanded.scene, shape);
    const { width, height, fps } = clip.video;
    const total = clip.video.frames.length;
    const every = Math.max(1, Math.floor(total / PREVIEWS_PER_JOB));
    const frames = reportingFrames(
      clip.video.frames,
      (i, frame) => {
        const report: ProgressReport = { step: i + 1, total };
        if (i % every === 0 || i + 1 === total) report.preview = thumbnailPng(frame, width, height);
        progress(report);
      },
      signal,
    );
    // writeMp4 puts the file in place only once complete. The path is this attempt's own and is
    // served only after the queue records the job as done, so a clip cut short by an abort is
    // simply removed again.
    await writeMp4({ ...clip.video, frames }, outputPath, { lossless: s.lossless });
    if (signal.aborted) {
      await rm(outputPath, { force: true });
      throw signal.reason ?? new Error("aborted");
    }
    return {
      caption: expanded.caption,
      prompt: s.prompt,
      seed: s.seed,
      width,
      height,
      fps,
      frames: total,
      pixelFormat: storedPixelFormat(width, height, s.lossless),
      unknownWords,
    };
  },
};
