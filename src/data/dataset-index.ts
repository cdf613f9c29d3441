/**
 * index.json of an exported dataset: the settings it was made with, and one entry per clip that
 * is completely on disk, with the byte size and SHA-256 of each of its files. It is rewritten
 * (atomically) every time a clip lands, so the folder is consistent at every moment: what the
 * index lists is whole, and anything else is an unfinished clip that a rerun redoes.
 * `verifyDataset` checks a folder against its index before it is used.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { plainReason } from "../media/fs-errors.ts";
import type { Bucket } from "./buckets.ts";

export const DATASET_FORMAT = "zoetrope-dataset/1";
export const CLIP_FILES = ["clip.mp4", "caption.txt", "state.json"] as const;

/** What decides a dataset's clips: the same settings give the same clips. */
export interface DatasetSettings {
  seed: number;
  fps: number;
  buckets: Bucket[];
  weights: number[] | null;
  mp4: { lossless: boolean; crf: number | null; preset: string | null };
}

export interface FileRecord {
  bytes: number;
  sha256: string;
}

export interface IndexedClip {
  name: string;
  seed: number;
  width: number;
  height: number;
  frames: number;
  fps: number;
  caption: string;
  files: Record<(typeof CLIP_FILES)[number], FileRecord>;
}

export interface DatasetIndex {
  format: typeof DATASET_FORMAT;
  /** How many clips the dataset is to hold. */
  count: number;
  /** Whether all `count` clips are on disk. */
  complete: boolean;
  settings: DatasetSettings;
  /** The clips on disk, by name. */
  clips: IndexedClip[];
}

export async function fileRecord(path: string): Promise<FileRecord> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest("hex") };
}

/**
 * Reads `dir/index.json`; null when there is none. Throws naming the file when it exists but is
 * not a dataset index (damaged, or someone else's file).
 */
export async function readDatasetIndex(dir: string): Promise<DatasetIndex | null> {
  const path = join(dir, "index.json");
  const info = await stat(path).catch(() => null);
  if (!info) return null;
  if (!info.isFile() || info.size > 512 * 2 ** 20) {
    throw new Error(`${path} is not a dataset index`);
  }
  const text = await readFile(path, "utf8").catch((err) => {
    throw new Error(`cannot read ${path}: ${plainReason(err)}`);
  });
  let data: Partial<DatasetIndex>;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${path} is damaged (not valid JSON)`);
  }
  if (data === null || typeof data !== "object" || data.format !== DATASET_FORMAT) {
    throw new Error(`${path} is not a Zoetrope dataset index (format ${DATASET_FORMAT})`);
  }
  const ok =
    Number.isInteger(data.count) &&
    typeof data.complete === "boolean" &&
    Array.isArray(data.clips) &&
    data.settings !== null &&
    typeof data.settings === "object" &&
    data.clips.every(
      (c) =>
        c !== null &&
        typeof c === "object" &&
        typeof c.name === "string" &&
        /^clip-\d{6,}$/.test(c.name) &&
        c.files !== null &&
        typeof c.files === "object" &&
        CLIP_FILES.every((f) => typeof c.files[f]?.bytes === "number"),
    );
  if (!ok) throw new Error(`${path} is damaged (fields are missing or wrong)`);
  return data as DatasetIndex;
}

/**
 * Checks one indexed clip's files; returns what is wrong, or null when all are as recorded.
 * `hashes: false` compares sizes only (quick, for resuming an export).
 */
export async function checkClip(
  dir: string,
  clip: IndexedClip,
  hashes: boolean,
): Promise<string | null> {
  for (const file of CLIP_FILES) {
    const path = join(dir, clip.name, file);
    const want = clip.files[file];
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) return `${path} is missing`;
    if (info.size !== want.bytes) return `${path} has ${info.size} bytes, not ${want.bytes}`;
    if (hashes && (await fileRecord(path)).sha256 !== want.sha256) {
      return `${path} has changed since it was written (its SHA-256 differs)`;
    }
  }
  return null;
}

/**
 * Verifies a dataset folder before use: an index, all of its clips, every file as recorded.
 * Throws one Error listing what is wrong; an unfinished dataset says how to finish it.
 */
export async function verifyDataset(dir: string): Promise<DatasetIndex> {
  const index = await readDatasetIndex(dir);
  if (!index) throw new Error(`${dir} has no index.json: it is not a finished dataset`);
  if (!index.complete || index.clips.length < index.count) {
    throw new Error(
      `${dir} is an unfinished dataset (${index.clips.length} of ${index.count} clips); finish it with: zoetrope world dataset --resume -o ${dir}`,
    );
  }
  const problems: string[] = [];
  for (const clip of index.clips) {
    const problem = await checkClip(dir, clip, true);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).map((p) => `  ${p}`);
    if (problems.length > 10) shown.push(`  … and ${problems.length - 10} more`);
    throw new Error(`${dir} does not match its index.json:\n${shown.join("\n")}`);
  }
  return index;
}
