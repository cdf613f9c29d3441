/**
 * state.json: a clip's scene and ground truth on disk. It is a ClipTruth (scene, size, fps,
 * per-frame object states, events) plus a format tag and the clip's seed, so it loads straight
 * back as the reference the evaluator compares a video against.
 */
import { readFile, stat } from "node:fs/promises";
import { plainReason } from "../media/fs-errors.ts";
import { type OutputTarget, type StagedOutput, stageFileSafely } from "../media/safe-output.ts";
import type { ClipTruth } from "../world/scene.ts";
import { truthToJSON } from "../world/simulate.ts";
import { validateScene } from "../world/validate.ts";

export const STATE_FORMAT = "zoetrope-state/1";

export interface StateFile extends ClipTruth {
  format: typeof STATE_FORMAT;
  /** Seed the clip was made from (see makeWorldClip). */
  seed: number;
}

/** Largest state file read (a 2-minute 120 fps clip with 4 objects is about 30 MB). */
export const MAX_STATE_BYTES = 256 * 2 ** 20;

export async function writeState(
  path: string | OutputTarget,
  seed: number,
  truth: ClipTruth,
): Promise<void> {
  await (await stageState(path, seed, truth)).commit();
}

/** The state file, written and checked but not yet in place (see safe-output's stageOutput). */
export function stageState(
  path: string | OutputTarget,
  seed: number,
  truth: ClipTruth,
): Promise<StagedOutput> {
  const state: StateFile = { format: STATE_FORMAT, seed, ...truth };
  // Rounded to 6 decimals: far below a pixel or a millimetre, and a third of the size.
  return stageFileSafely(path, `${truthToJSON(state)}\n`);
}

/** Reads a state.json (or a bare ClipTruth JSON); throws naming the file when it is not one. */
export async function readState(path: string): Promise<ClipTruth> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(
      err.code === "ENOENT"
        ? `state file not found: ${path}`
        : `cannot read ${path}: ${plainReason(err)}`,
    );
  });
  if (!info.isFile()) throw new Error(`cannot read ${path}: it is not a file`);
  if (info.size > MAX_STATE_BYTES) {
    throw new Error(
      `${path} is ${(info.size / 2 ** 20).toFixed(0)} MiB, larger than any clip state (at most ${MAX_STATE_BYTES / 2 ** 20} MiB)`,
    );
  }
  const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${path}: ${plainReason(err)}`);
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
  if (
    !Array.isArray(t.frames) ||
    !Array.isArray(t.events) ||
    typeof t.scene !== "object" ||
    t.scene === null
  ) {
    throw new Error(
      `${path} is not a clip state: frames and events must be lists, scene an object`,
    );
  }
  const whole = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
  if (!whole(t.width) || !whole(t.height) || !(Number(t.fps) > 0 && Number.isFinite(t.fps))) {
    throw new Error(`${path} is not a clip state: width, height and fps must be positive numbers`);
  }
  try {
    validateScene(t.scene);
  } catch (err) {
    throw new Error(`${path} is not a clip state: ${(err as Error).message}`);
  }
  const { format: _format, ...truth } = t as StateFile;
  return truth as ClipTruth;
}
