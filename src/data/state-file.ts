/**
 * state.json: a clip's scene and ground truth on disk. It is a ClipTruth (scene, size, fps,
 * per-frame object states, events) plus a format tag and the clip's seed, so it loads straight
 * back as the reference the evaluator compares a video against.
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../media/atomic-file.ts";
import type { ClipTruth } from "../world/scene.ts";
import { truthToJSON } from "../world/simulate.ts";

export const STATE_FORMAT = "zoetrope-state/1";

export interface StateFile extends ClipTruth {
  format: typeof STATE_FORMAT;
  /** Seed the clip was made from (see makeWorldClip). */
  seed: number;
}

export async function writeState(path: string, seed: number, truth: ClipTruth): Promise<void> {
  const state: StateFile = { format: STATE_FORMAT, seed, ...truth };
  // Rounded to 6 decimals: far below a pixel or a millimetre, and a third of the size.
  await writeFileAtomic(path, `${truthToJSON(state)}\n`);
}

/** Reads a state.json (or a bare ClipTruth JSON); throws naming the file when it is not one. */
export async function readState(path: string): Promise<ClipTruth> {
  const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new Error(
      err.code === "ENOENT"
        ? `state file not found: ${path}`
        : `cannot read ${path}: ${err.message}`,
    );
  });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  const t = data as Partial<ClipTruth> & { format?: unknown };
  if (t === null || typeof t !== "object") throw new Error(`${path} is not a clip state object`);
  if (t.format !== undefined && t.format !== STATE_FORMAT) {
    throw new Error(`${path}: unsupported state format ${JSON.stringify(t.format)}`);
  }
  const missing = (["scene", "width", "height", "fps", "frames", "events"] as const).filter(
    (k) => t[k] === undefined,
  );
  if (missing.length > 0) {
    throw new Error(`${path} is not a clip state: missing ${missing.join(", ")}`);
  }
  if (!Array.isArray(t.frames) || !Array.isArray(t.events) || typeof t.scene !== "object") {
    throw new Error(
      `${path} is not a clip state: frames and events must be lists, scene an object`,
    );
  }
  const { format: _format, ...truth } = t as StateFile;
  return truth as ClipTruth;
}
