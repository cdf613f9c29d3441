/**
 * Writing simulated clips to a folder, for training elsewhere or for looking at:
 *
 *   dir/
 *     clip-000000/clip.mp4      the video (H.264)
 *     clip-000000/caption.txt   its detailed caption
 *     clip-000000/state.json    its scene and per-frame ground truth (see state-file.ts)
 *     ...
 *     index.json                settings, and per clip: name, seed, size, frames, fps, caption,
 *                               and each file's size and SHA-256 (see dataset-index.ts)
 *
 * The folder is consistent at every moment. Each clip is written into a hidden staging folder
 * and renamed into place when all three files are complete; the index is rewritten (atomically)
 * as each clip lands. Interrupted — by a signal, a full disk, anything — the folder holds whole
 * clips and an index listing exactly them; staging folders are removed on the way out, or by the
 * next run. Running the export again with the same settings continues where it stopped (clip i
 * depends only on the seed and i), and a larger count extends a finished dataset.
 */
import { constants } from "node:fs";
import { access, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { trackTemp, untrackCreatedFolder, untrackTemp } from "../media/cleanup.ts";
import { fsFailure, plainReason } from "../media/fs-errors.ts";
import { makeFolders, type OutputTarget, writeFileSafely } from "../media/safe-output.ts";
import { type WriteMp4Options, writeMp4 } from "../media/write-mp4.ts";
import { validateOptions } from "../world/validate.ts";
import { assertBuckets, type Bucket } from "./buckets.ts";
import {
  CLIP_FILES,
  checkClip,
  DATASET_FORMAT,
  type DatasetIndex,
  type DatasetSettings,
  fileRecord,
  type IndexedClip,
  readDatasetIndex,
} from "./dataset-index.ts";
import { writeState } from "./state-file.ts";
import { makeWorldClip, planBatch, type WorldClip } from "./world-stream.ts";

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

export interface ExportResult {
  clips: ExportedClip[];
  /** Clips already on disk from an earlier run (kept, not remade). */
  reused: number;
}

export function clipName(index: number): string {
  return `clip-${String(index).padStart(6, "0")}`;
}

const STAGING = /^\.clip-\d+\.partial-\d+$/;

export function settingsOf(opts: ExportOptions): DatasetSettings {
  return {
    seed: opts.seed,
    fps: opts.fps,
    buckets: opts.buckets.map((b) => ({ width: b.width, height: b.height, frames: b.frames })),
    weights: opts.weights ? [...opts.weights] : null,
    mp4: {
      lossless: opts.mp4?.lossless === true,
      crf: opts.mp4?.crf ?? null,
      preset: opts.mp4?.preset ?? null,
    },
  };
}

/** Human words for how two settings differ ("seed 3, not 4"). */
function settingsDifference(had: DatasetSettings, want: DatasetSettings): string | null {
  const parts: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (had.seed !== want.seed) parts.push(`seed ${had.seed}, not ${want.seed}`);
  if (had.fps !== want.fps) parts.push(`${had.fps} fps, not ${want.fps}`);
  const shapes = (s: DatasetSettings) =>
    s.buckets.map((b) => `${b.width}x${b.height}x${b.frames}`).join(",");
  if (!same(had.buckets, want.buckets)) parts.push(`shapes ${shapes(had)}, not ${shapes(want)}`);
  if (!same(had.weights, want.weights)) parts.push("different bucket weights");
  if (!same(had.mp4, want.mp4)) {
    parts.push(
      had.mp4.lossless !== want.mp4.lossless ? "a different --lossless" : "other encoder settings",
    );
  }
  return parts.length > 0 ? parts.join("; ") : null;
}

/**
 * Makes `dir` ready: creates it, or checks that an existing one is empty or an earlier run of
 * this same dataset (then cleans up what that run left unfinished). Returns the clips already
 * done, by index.
 */
async function prepareFolder(
  dir: string,
  settings: DatasetSettings,
  count: number,
): Promise<Map<number, IndexedClip>> {
  const existing = await stat(dir).catch((err) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`cannot export to ${dir}: ${plainReason(err)}`);
  });
  if (existing && !existing.isDirectory()) {
    throw new Error(`cannot export to ${dir}: it is a file, not a folder`);
  }
  if (!existing) {
    const created = await makeFolders(dir, dir);
    // The folder becomes the dataset at once: it stays even if the first clip fails.
    created.forEach(untrackCreatedFolder);
  }
  await access(dir, constants.W_OK | constants.X_OK).catch((err) => {
    throw new Error(`cannot export to ${dir}: ${plainReason(err)}`);
  });
  const names = await readdir(dir).catch((err) => {
    throw new Error(`cannot export to ${dir}: ${plainReason(err)}`);
  });
  const index = await readDatasetIndex(dir).catch((err: Error) => {
    throw new Error(`cannot export to ${dir}: ${err.message}`);
  });
  const done = new Map<number, IndexedClip>();
  if (!index) {
    if (names.length > 0) {
      throw new Error(
        `cannot export to ${dir}: the folder is not empty and is not a Zoetrope dataset; use a new or empty folder`,
      );
    }
    return done;
  }
  const diff = settingsDifference(index.settings, settings);
  if (diff) {
    throw new Error(
      `cannot export to ${dir}: it holds a dataset made with other settings (${diff}); use a new folder, or the same settings (or --resume) to continue it`,
    );
  }
  if (index.clips.length > count) {
    throw new Error(
      `cannot export to ${dir}: it already holds ${index.clips.length} clips, more than the ${count} asked for`,
    );
  }
  for (const clip of index.clips) {
    const i = Number(clip.name.slice(5));
    // A clip whose files no longer match is remade (sizes only here; reading verifies hashes).
    if (i < count && (await checkClip(dir, clip, false)) === null) done.set(i, clip);
  }
  // Whatever else is ours and unfinished goes: staging folders, clips not (or no longer) indexed.
  for (const name of names) {
    const m = /^clip-(\d{6,})$/.exec(name);
    if (STAGING.test(name) || (m && !done.has(Number(m[1])))) {
      await rm(join(dir, name), { recursive: true, force: true });
    }
  }
  return done;
}

/** Simulates and writes `count` clips (see the module comment); resolves with the index entries. */
export async function exportDataset(opts: ExportOptions): Promise<ExportResult> {
  if (!Number.isInteger(opts.count) || opts.count < 1) {
    throw new Error(`exportDataset: count must be a positive integer, got ${opts.count}`);
  }
  assertBuckets(opts.buckets, "exportDataset buckets");
  const concurrency = opts.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`exportDataset: concurrency must be a positive integer, got ${concurrency}`);
  }
  const settings = settingsOf(opts);
  const streamOpts = {
    seed: opts.seed,
    buckets: opts.buckets,
    weights: opts.weights,
    fps: opts.fps,
    batchSize: 1,
  };
  // Every shape must be one the simulator accepts, before the folder is touched.
  for (const b of opts.buckets) {
    validateOptions({
      width: b.width,
      height: b.height,
      fps: opts.fps,
      seconds: b.frames / opts.fps,
    });
  }
  const done = await prepareFolder(opts.dir, settings, opts.count);
  const reused = done.size;
  const index = new IndexWriter(opts.dir, opts.count, settings, done);
  if (done.size < opts.count || !(await index.onDiskComplete())) await index.write();

  const pending = new Set<Promise<void>>();
  let failure: unknown = null;
  for (let i = 0; i < opts.count && !failure; i++) {
    if (done.has(i)) continue;
    const { bucket, seeds } = planBatch(streamOpts, i);
    const clip = makeWorldClip(seeds[0], bucket, opts.fps);
    // Encode in the background while the next clip is simulated, at most `concurrency` at once.
    // A clip renamed into place stays tracked (removed if the process is stopped) until the index
    // lists it, so that an interrupted run never leaves a clip the index does not name.
    const job = writeClip(opts.dir, i, clip, opts.mp4)
      .then((entry) => index.add(i, entry))
      .finally(() => untrackTemp(join(opts.dir, clipName(i))))
      .then(
        (entry) => opts.onClip?.(publicEntry(entry), index.size),
        (err) => {
          failure ??= err;
        },
      );
    pending.add(job);
    job.finally(() => pending.delete(job));
    if (pending.size >= concurrency) await Promise.race(pending);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await Promise.all(pending);
  if (failure) {
    const message = failure instanceof Error ? failure.message : String(failure);
    throw new Error(
      `${message}\n${index.size} of ${opts.count} clips are complete in ${opts.dir}; run the same command again (or with --resume) to continue`,
    );
  }
  return { clips: index.clips().map(publicEntry), reused };
}

function publicEntry(c: IndexedClip): ExportedClip {
  const { files: _files, ...entry } = c;
  return entry;
}

/** Writes clip i into a staging folder, then renames it into place; returns its index entry. */
async function writeClip(
  dir: string,
  i: number,
  clip: WorldClip,
  mp4?: WriteMp4Options,
): Promise<IndexedClip> {
  const name = clipName(i);
  const staging = join(dir, `.${name}.partial-${process.pid}`);
  // Errors name the file as it will be, not the staging folder.
  const target = (file: string): OutputTarget => ({
    path: join(dir, name, file),
    kind: "file",
    real: join(staging, file),
    created: [],
  });
  trackTemp(staging);
  try {
    await rm(staging, { recursive: true, force: true });
    await makeFolders(staging, join(dir, name)).then((made) => made.forEach(untrackCreatedFolder));
    await writeMp4(clip.video, target("clip.mp4"), mp4);
    await writeFileSafely(target("caption.txt"), `${clip.caption}\n`);
    await writeState(target("state.json"), clip.seed, clip.truth);
    const files = {} as IndexedClip["files"];
    for (const file of CLIP_FILES) files[file] = await fileRecord(join(staging, file));
    await rename(staging, join(dir, name)).catch((err) => {
      throw fsFailure("write", join(dir, name), err);
    });
    // Synchronously after the rename, before any signal can be handled; untracked by the caller.
    trackTemp(join(dir, name));
    return {
      name,
      seed: clip.seed,
      width: clip.video.width,
      height: clip.video.height,
      frames: clip.video.frames.length,
      fps: clip.video.fps,
      caption: clip.caption,
      files,
    };
  } catch (err) {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
    throw err;
  } finally {
    untrackTemp(staging);
  }
}

/** Keeps index.json in step with the clips on disk; writes are serialised. */
class IndexWriter {
  private queue: Promise<void> = Promise.resolve();
  constructor(
    private readonly dir: string,
    private readonly count: number,
    private readonly settings: DatasetSettings,
    private readonly done: Map<number, IndexedClip>,
  ) {}

  get size(): number {
    return this.done.size;
  }

  clips(): IndexedClip[] {
    return [...this.done.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  }

  /** Whether the index on disk already says this dataset is complete (then nothing is rewritten). */
  async onDiskComplete(): Promise<boolean> {
    const onDisk = await readDatasetIndex(this.dir).catch(() => null);
    return onDisk?.complete === true && onDisk.count === this.count;
  }

  /** Rewrites index.json from the clips done at the moment the write runs (writes are queued). */
  write(): Promise<void> {
    return this.enqueue(() => this.save());
  }

  /**
   * Lists a clip that is already renamed into place. If the index cannot be written (a full disk),
   * the clip is taken back off the list and removed, so the folder never holds a clip that the
   * index on disk does not name; the space it frees lets the other writes go on.
   */
  add(i: number, entry: IndexedClip): Promise<IndexedClip> {
    return this.enqueue(async () => {
      this.done.set(i, entry);
      try {
        await this.save();
      } catch (err) {
        this.done.delete(i);
        await rm(join(this.dir, entry.name), { recursive: true, force: true }).catch(() => {});
        throw err;
      }
      return entry;
    });
  }

  /** Writes index.json (atomically) listing the clips done now. */
  private save(): Promise<void> {
    const index: DatasetIndex = {
      format: DATASET_FORMAT,
      count: this.count,
      complete: this.done.size === this.count,
      settings: this.settings,
      clips: this.clips(),
    };
    return writeFileSafely(join(this.dir, "index.json"), `${JSON.stringify(index, null, 1)}\n`);
  }

  /** Runs `job` after every earlier one has finished, failed or not. */
  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job);
    this.queue = next.then(
      () => {},
      () => {},
    );
    return next;
  }
}
