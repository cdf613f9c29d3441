/** Settings checks the job kinds share, as zod refinements (issues name the field). */
import { z } from "zod";
import { checkPrompt } from "../../cli/prompt-check.ts";
import { DEFAULT_GUIDANCE, DEFAULT_STEPS } from "../../models/sampling-defaults.ts";

/**
 * A server job holds all its frames in memory while it encodes: 256 MiB of raw RGB at most
 * (the CLI allows 1 GiB, but a server runs jobs for others, possibly several at once).
 */
export const MAX_JOB_FRAME_BYTES = 256 * 2 ** 20;

/** Frame sides, clip length, rate and steps one job may ask for (below the CLI's: see above). */
export const MIN_JOB_SIDE = 16;
export const MAX_JOB_SIDE = 512;
export const MAX_JOB_SECONDS = 16;
export const MAX_JOB_FPS = 60;
export const MAX_JOB_STEPS = 200;

/** The prompt's problems (negation, nothing understood, …) as an issue on `prompt`. */
export function promptIssue(prompt: string, ctx: z.RefinementCtx): void {
  try {
    checkPrompt(prompt);
  } catch (err) {
    ctx.addIssue({ code: "custom", path: ["prompt"], message: (err as Error).message });
  }
}

/** An issue on `seconds` when the clip's raw frames would pass MAX_JOB_FRAME_BYTES. */
export function frameBytesIssue(
  s: { width: number; height: number; seconds: number; fps: number },
  ctx: z.RefinementCtx,
): void {
  const frames = Math.max(1, Math.round(s.seconds * s.fps));
  const bytes = s.width * s.height * 3 * frames;
  if (bytes > MAX_JOB_FRAME_BYTES) {
    ctx.addIssue({
      code: "custom",
      path: ["seconds"],
      message: `${s.width}×${s.height} for ${frames} frames is ${(bytes / 2 ** 20).toFixed(0)} MiB of raw frames; a server job may hold at most ${MAX_JOB_FRAME_BYTES / 2 ** 20} MiB (shorten, shrink or lower fps)`,
    });
  }
}

/** The prompt field every prompted kind takes. */
export const promptField = z
  .string()
  .trim()
  .min(1, "the prompt is empty")
  .max(1000, "the prompt is longer than 1000 characters");

/** The seed field: same seed and settings, same output. */
export const seedField = z.int().min(0).max(4294967295).default(0);

/** The sampler's settings every model kind takes, with the CLI's defaults. */
export const samplerFields = {
  seed: seedField,
  steps: z.int().min(1).max(MAX_JOB_STEPS).default(DEFAULT_STEPS),
  guidance: z.number().min(0).max(30).default(DEFAULT_GUIDANCE),
  method: z.enum(["euler", "heun"]).default("euler"),
};
