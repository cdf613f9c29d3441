/**
 * Importing a user's own clips for training: a folder of videos, each with a caption in a text
 * file of the same name ("cat.mp4" + "cat.txt"). Sub-folders one level down are searched too, and
 * there a lone video may use "caption.txt" — the layout `exportDataset` writes, so an exported
 * dataset imports as it is.
 *
 * With buckets, every clip is decoded straight into the bucket that fits it best (closest aspect
 * ratio, then size; see nearestBucket): scaled to cover the bucket and centre-cropped, resampled
 * to `fps` when given, and cut to the bucket's frame count. Without buckets clips keep their own
 * size, frame rate and length.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, join, relative } from "node:path";
import { probeVideo, type VideoInfo } from "../media/probe.ts";
import { readVideo } from "../media/read-video.ts";
import type { Video } from "../media/video.ts";
import { assertBuckets, type Bucket, nearestBucket } from "./buckets.ts";
import { readDatasetIndex, verifyDataset } from "./dataset-index.ts";

/** File endings treated as videos. */
export const VIDEO_EXTENSIONS = [".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".gif"];

export interface FolderEntry {
  /** Path relative to the imported folder, without extension (e.g. "cats/cat-01"). */
  name: string;
  videoPath: string;
  captionPath: string;
}

export interface ImportedClip extends FolderEntry {
  caption: string;
  /** The file as stored: size, frame rate, duration. */
  source: VideoInfo;
  /** The bucket it was fitted to, when buckets were given. */
  bucket?: Bucket;
  video: Video;
}

export interface ImportProblem {
  path: string;
  reason: string;
}

export interface ImportOptions {
  /** Fit each clip to its nearest bucket (see the module comment). */
  buckets?: readonly Bucket[];
  /** Resample every clip to this frame rate. */
  fps?: number;
  /** Decode at most this many frames of each clip (ignored when buckets set the length). */
  maxFrames?: number;
  /**
   * "throw" (default): any unreadable file or missing caption fails the import, listing every
   * problem. "skip": such clips are left out and reported in `problems`.
   */
  onProblem?: "throw" | "skip";
}

export interface ImportResult {
  clips: ImportedClip[];
  problems: ImportProblem[];
}

/**
 * Lists the videos in `dir` (and its direct sub-folders) with their caption files. Problems
 * (a video without a caption) are returned, not thrown, so callers can report all at once.
 */
export async function scanFolder(
  dir: string,
): Promise<{ entries: FolderEntry[]; problems: ImportProblem[] }> {
  const info = await stat(dir).catch(() => null);
  if (!info) throw new Error(`importFolder: folder not found: ${dir}`);
  if (!info.isDirectory()) throw new Error(`importFolder: ${dir} is not a folder`);
  const entries: FolderEntry[] = [];
  const problems: ImportProblem[] = [];
  const scanOne = async (folder: string, depth: number) => {
    const items = (await readdir(folder, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    const files = new Set(items.filter((d) => d.isFile()).map((d) => d.name));
    const videos = [...files].filter((f) => VIDEO_EXTENSIONS.includes(extname(f).toLowerCase()));
    for (const file of videos) {
      const stem = file.slice(0, -extname(file).length);
      const own = `${stem}.txt`;
      const shared = depth > 0 && videos.length === 1 && files.has("caption.txt");
      const captionFile = files.has(own) ? own : shared ? "caption.txt" : null;
      const videoPath = join(folder, file);
      if (!captionFile) {
        problems.push({ path: videoPath, reason: `missing caption ${join(folder, own)}` });
        continue;
      }
      const name = relative(
        dir,
        join(folder, depth > 0 && captionFile === "caption.txt" ? "" : stem),
      );
      entries.push({
        name: name || basename(folder),
        videoPath,
        captionPath: join(folder, captionFile),
      });
    }
    if (depth === 0) {
      // Hidden folders are not clips (an exporter's unfinished staging folders among them).
      for (const d of items)
        if (d.isDirectory() && !d.name.startsWith(".")) await scanOne(join(folder, d.name), 1);
    }
  };
  await scanOne(dir, 0);
  return { entries, problems };
}

/** Reads and checks one caption file; throws naming it when empty or unreadable. */
async function readCaption(path: string): Promise<string> {
  const text = await readFile(path, "utf8").catch((err: Error) => {
    throw new Error(`cannot read caption ${path}: ${err.message}`);
  });
  const caption = text.trim();
  if (caption.length === 0) throw new Error(`caption ${path} is empty`);
  return caption;
}

/** Decodes one entry, fitted to a bucket when buckets are given. */
export async function loadClip(
  entry: FolderEntry,
  opts: ImportOptions = {},
): Promise<ImportedClip> {
  const caption = await readCaption(entry.captionPath);
  const source = await probeVideo(entry.videoPath);
  if (!opts.buckets) {
    const video = await readVideo(entry.videoPath, { fps: opts.fps, maxFrames: opts.maxFrames });
    return { ...entry, caption, source, video };
  }
  // Frames available at the target rate; the container's estimate, refined after decoding.
  const rate = opts.fps ?? source.fps;
  const available = source.duration > 0 ? Math.round(source.duration * rate) : Infinity;
  let bucket = nearestBucket(source.width, source.height, available, opts.buckets);
  if (!bucket) throw tooShort(entry, source, opts.buckets);
  let video = await readVideo(entry.videoPath, {
    resize: { width: bucket.width, height: bucket.height, fit: "crop" },
    fps: opts.fps,
    maxFrames: bucket.frames,
  });
  if (video.frames.length < bucket.frames) {
    // The duration overstated the frames: fall back to the best bucket that the real count fits.
    const same = opts.buckets.filter(
      (b) => b.width === bucket!.width && b.height === bucket!.height,
    );
    bucket = nearestBucket(source.width, source.height, video.frames.length, same);
    if (!bucket) throw tooShort(entry, source, opts.buckets);
    video = { ...video, frames: video.frames.slice(0, bucket.frames) };
  }
  return { ...entry, caption, source, bucket, video };
}

function tooShort(entry: FolderEntry, source: VideoInfo, buckets: readonly Bucket[]): Error {
  const shortest = Math.min(...buckets.map((b) => b.frames));
  return new Error(
    `${entry.videoPath} is too short for every bucket (${source.duration.toFixed(2)} s; the shortest bucket needs ${shortest} frames)`,
  );
}

/**
 * Yields the folder's clips one at a time (so a large folder never sits in memory at once).
 * In "throw" mode every problem is found first (missing captions, unreadable videos) and one
 * Error lists them all; in "skip" mode bad clips are passed over and collected in `problems`.
 */
export async function* streamFolder(
  dir: string,
  opts: ImportOptions = {},
  problems: ImportProblem[] = [],
): AsyncGenerator<ImportedClip> {
  if (opts.buckets) assertBuckets(opts.buckets, "importFolder buckets");
  const scan = await scanFolder(dir);
  // An exported dataset is used only whole and unchanged: its index says what that is.
  if (await readDatasetIndex(dir)) await verifyDataset(dir);
  problems.push(...scan.problems);
  if (scan.entries.length === 0 && scan.problems.length === 0) {
    throw new Error(`importFolder: no video files (${VIDEO_EXTENSIONS.join(", ")}) in ${dir}`);
  }
  const strict = (opts.onProblem ?? "throw") === "throw";
  if (strict) {
    // Check every file before yielding anything, so a training run fails before it starts.
    for (const entry of scan.entries) {
      try {
        await readCaption(entry.captionPath);
        await probeVideo(entry.videoPath);
      } catch (err) {
        problems.push({ path: entry.videoPath, reason: (err as Error).message });
      }
    }
    if (problems.length > 0) throw problemsError(dir, problems);
  }
  for (const entry of scan.entries) {
    try {
      yield await loadClip(entry, opts);
    } catch (err) {
      const problem = { path: entry.videoPath, reason: (err as Error).message };
      if (strict) throw problemsError(dir, [problem]);
      problems.push(problem);
    }
  }
}

/** Imports every clip in `dir` (see streamFolder for how problems are handled). */
export async function importFolder(dir: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const problems: ImportProblem[] = [];
  const clips: ImportedClip[] = [];
  for await (const clip of streamFolder(dir, opts, problems)) clips.push(clip);
  return { clips, problems };
}

function problemsError(dir: string, problems: ImportProblem[]): Error {
  // Reasons from the media layer start with the function's name, which means nothing to users.
  const lines = problems.map(
    (p) => `  ${p.path}: ${p.reason.replace(/^(probeVideo|readVideo): /, "")}`,
  );
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return new Error(`importFolder: ${count} in ${dir}:\n${lines.join("\n")}`);
}
