/**
 * Writing simulated clips to a folder, for training elsewhere or for looking at:
 *
 *   dir/
 *     clip-000000/clip.mp4      the video (H.264)
 *     clip-000000/caption.txt   its detailed caption
 *     clip-000000/state.json    its scene and per-frame ground truth (see state-file.ts)
 *     ...
 *     index.json                one entry per clip: name, seed, size, frames, fps, caption
 *
 * Every file is written to a temporary name and renamed, so an interrupted export never leaves a
 * half-written clip that looks complete. The folder imports back with importFolder.
 */
import { mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../media/atomic-file.ts";
import { type WriteMp4Options, writeMp4 } from "../media/write-mp4.ts";
import { assertBuckets, type Bucket } from "./buckets.ts";
import { writeState } from "./state-file.ts";
import { createWorldStream, type WorldClip } from "./world-stream.ts";

export interface ExportOptions {
  /** Number of clips. */
  count: number;
  dir: string;
  seed: number;
  fps: number;
  /** Shapes to draw clips from (one picked per clip by seed). */
  buckets: readonly Bucket[];
  weights?: readonly number[];
  /** Encoder settings for the MP4s. */
  mp4?: WriteMp4Options;
  /** How many clips may be encoding at once while the next is simulated; default 2. */
  concurrency?: number;
  /** Called after each clip is on disk (progress reporting). */
  onClip?: (clip: ExportedClip, done: number) => void;
}

export interface ExportedClip {
  name: string;
  seed: number;
  width: number;
  height: number;
  frames: number;
  fps: number;
  caption: string;
}

export function clipName(index: number): string {
  return `clip-${String(index).padStart(6, "0")}`;
}

/**
 * Creates `dir` (and parents) or throws a clear error saying why it cannot be used. A folder that
 * already holds files is refused: old clips left beside new ones would silently join the dataset.
 */
async function prepareFolder(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => null);
  if (existing && !existing.isDirectory()) {
    throw new Error(`cannot export to ${dir}: it is a file, not a folder`);
  }
  if (existing && (await readdir(dir)).length > 0) {
    throw new Error(`cannot export to ${dir}: the folder is not empty; use a new or empty folder`);
  }
  await mkdir(dir, { recursive: true }).catch((err: Error) => {
    throw new Error(`cannot create folder ${dir}: ${err.message}`);
  });
}

async function writeClip(dir: string, name: string, clip: WorldClip, mp4?: WriteMp4Options) {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true }).catch((err: Error) => {
    throw new Error(`cannot create folder ${folder}: ${err.message}`);
  });
  await writeMp4(clip.video, join(folder, "clip.mp4"), mp4);
  await writeFileAtomic(join(folder, "caption.txt"), `${clip.caption}\n`);
  await writeState(join(folder, "state.json"), clip.seed, clip.truth);
}

/** Simulates and writes `count` clips (see the module comment); resolves with the index entries. */
export async function exportDataset(opts: ExportOptions): Promise<ExportedClip[]> {
  if (!Number.isInteger(opts.count) || opts.count < 1) {
    throw new Error(`exportDataset: count must be a positive integer, got ${opts.count}`);
  }
  assertBuckets(opts.buckets, "exportDataset buckets");
  const concurrency = opts.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`exportDataset: concurrency must be a positive integer, got ${concurrency}`);
  }
  await prepareFolder(opts.dir);

  const stream = createWorldStream({
    seed: opts.seed,
    buckets: opts.buckets,
    weights: opts.weights,
    fps: opts.fps,
    batchSize: 1,
    batches: opts.count,
  });
  const clips: ExportedClip[] = new Array(opts.count);
  const pending = new Set<Promise<void>>();
  let done = 0;
  let failure: unknown = null;
  for await (const batch of stream) {
    const clip = batch.items[0];
    const name = clipName(batch.index);
    const entry: ExportedClip = {
      name,
      seed: clip.seed,
      width: clip.video.width,
      height: clip.video.height,
      frames: clip.video.frames.length,
      fps: clip.video.fps,
      caption: clip.caption,
    };
    // Encode in the background while the next clip is simulated, at most `concurrency` at once.
    const job = writeClip(opts.dir, name, clip, opts.mp4).then(
      () => {
        clips[batch.index] = entry;
        done += 1;
        opts.onClip?.(entry, done);
      },
      (err) => {
        failure ??= err;
      },
    );
    pending.add(job);
    job.finally(() => pending.delete(job));
    if (pending.size >= concurrency) await Promise.race(pending);
    if (failure) break;
  }
  await Promise.all(pending);
  if (failure) throw failure;
  await writeFileAtomic(join(opts.dir, "index.json"), `${JSON.stringify({ clips }, null, 1)}\n`);
  return clips;
}
