/** What the model kinds' runners share: stopping on abort, the last progress report. */
import { rm } from "node:fs/promises";
import type { Video } from "../../media/video.ts";
import type { RunContext } from "../kinds.ts";
import { thumbnailPng } from "../png.ts";

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
