/** What the model kinds' runners share: stopping on abort, progress reports with previews. */
import { rm } from "node:fs/promises";
import type { Video } from "../../media/video.ts";
import type { PreviewImage } from "../../models/latent-preview.ts";
import type { RunContext } from "../kinds.ts";
import { thumbnailPng } from "../png.ts";

/** Previews per sampling run (a window's, for the modes): every ceil(steps / 8) steps. */
const PREVIEWS = 8;
/** Side of a preview in pixels, about: latent previews are upscaled to it. */
const PREVIEW_SIDE = 64;

/** Throws the abort's reason (the worker tells a cancel from a lost lease by it). */
export function stopIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new Error("aborted");
}

/** The last step's report, with a thumbnail of the first frame of the result. */
export function finish(ctx: RunContext<unknown>, steps: number, video: Video): void {
  const preview = thumbnailPng(video.frames[0], video.width, video.height);
  ctx.progress({ step: steps, total: steps, preview });
}

/** Removes an output written while the job was being aborted, then throws the abort. */
export async function dropIfAborted(ctx: RunContext<unknown>): Promise<void> {
  if (!ctx.signal.aborted) return;
  await rm(ctx.outputPath, { force: true });
  stopIfAborted(ctx.signal);
}

/** A latent preview (one pixel per latent cell) upscaled by a whole factor to about 64 pixels. */
export function previewPng(img: PreviewImage): Buffer {
  const k = Math.max(1, Math.floor(PREVIEW_SIDE / Math.max(img.width, img.height)));
  const [w, h] = [img.width * k, img.height * k];
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / k) * img.width + Math.floor(x / k)) * 3;
      out.set(img.rgb.subarray(s, s + 3), (y * w + x) * 3);
    }
  return thumbnailPng(out, w, h, PREVIEW_SIDE); // larger latents (past 64 cells) are shrunk
}

/**
 * The report of denoising step `step` of `steps` (of the current window), `done` of `total` in
 * all: with a preview of the current prediction every ceil(steps / 8) steps and at the window's
 * last. The run's last step is not reported: `finish` does, with the result's thumbnail.
 */
export async function reportStep(
  ctx: RunContext<unknown>,
  at: { step: number; steps: number; done: number; total: number },
  preview: () => Promise<PreviewImage>,
): Promise<void> {
  const { step, steps, done, total } = at;
  if (done >= total) return;
  const show = step % Math.ceil(steps / PREVIEWS) === 0 || step === steps;
  ctx.progress({ step: done, total, ...(show ? { preview: previewPng(await preview()) } : {}) });
}
