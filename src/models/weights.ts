/**
 * Weight files: one safetensors file per trained network, its parameters under their module
 * paths and, in "__metadata__", the format, which network it is ("autoencoder" or
 * "text-to-video"), the model config as JSON, and any caller fields (step, data position ...).
 * Writes are atomic (a temporary file renamed into place), so a crash never leaves a
 * half-written file where a good one was. Loading checks everything against the model it fills
 * and says what is wrong: a missing, truncated or corrupt file, another network, another
 * config, or a missing, extra or misshapen parameter.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import type { Module } from "../nn/module.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  type NamedArray,
  WeightFileError,
} from "./safetensors.ts";

export const WEIGHTS_FORMAT = "zoetrope-weights-1";

export type NetworkKind = "autoencoder" | "text-to-video";

export interface SavedWeights {
  kind: NetworkKind;
  /** The config the weights were trained with (parsed from the metadata). */
  config: unknown;
  /** Every metadata field, as stored. */
  metadata: Record<string, string>;
}

/** Writes `module`'s parameters with their config to `file`, atomically. */
export async function saveWeights(
  file: string,
  module: Module,
  kind: NetworkKind,
  config: unknown,
  extra: Record<string, string> = {},
): Promise<void> {
  const tensors: Record<string, NamedArray> = {};
  const state = await module.stateDict();
  for (const [path, t] of module.namedParameters())
    tensors[path] = { shape: [...t.shape], data: state[path] };
  for (const key of ["format", "kind", "config"])
    if (key in extra) throw new Error(`saveWeights: metadata field "${key}" is reserved`);
  const metadata = { ...extra, format: WEIGHTS_FORMAT, kind, config: JSON.stringify(config) };
  const bytes = encodeSafetensors({ metadata, tensors });
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Reads and checks a weight file's container and metadata (not yet against a model). */
export async function readWeights(
  file: string,
): Promise<SavedWeights & { tensors: Record<string, NamedArray> }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new WeightFileError(
      file,
      code === "ENOENT" ? "weight file does not exist" : `cannot read (${(err as Error).message})`,
    );
  }
  const { metadata, tensors } = decodeSafetensors(bytes, file);
  if (metadata.format !== WEIGHTS_FORMAT)
    throw new WeightFileError(
      file,
      `not a Zoetrope weight file (format ${metadata.format ?? "missing"}, expected ${WEIGHTS_FORMAT})`,
    );
  const kind = metadata.kind;
  if (kind !== "autoencoder" && kind !== "text-to-video")
    throw new WeightFileError(file, `unknown network kind "${kind}"`);
  let config: unknown;
  try {
    config = JSON.parse(metadata.config ?? "");
  } catch {
    throw new WeightFileError(file, "corrupt metadata: the config is not JSON");
  }
  return { kind, config, metadata, tensors };
}

/** Differences between two JSON values, as "path: a ≠ b" lines. */
function jsonDiff(a: unknown, b: unknown, path = "config"): string[] {
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      jsonDiff(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}.${k}`,
      ),
    );
  }
  return a === b ? [] : [`${path}: file has ${JSON.stringify(a)}, model has ${JSON.stringify(b)}`];
}

/**
 * Loads `file` into `module` (built from `config`). Throws a WeightFileError naming the file
 * when anything disagrees; the module is left untouched unless every check passes.
 */
export async function loadWeights(
  file: string,
  module: Module,
  kind: NetworkKind,
  config: unknown,
): Promise<SavedWeights> {
  const saved = await readWeights(file);
  if (saved.kind !== kind)
    throw new WeightFileError(file, `holds ${saved.kind} weights, expected ${kind}`);
  const diff = jsonDiff(saved.config, config);
  if (diff.length)
    throw new WeightFileError(
      file,
      `was trained with another config: ${diff.slice(0, 5).join("; ")}`,
    );
  const params = module.namedParameters();
  const known = new Set(params.map(([p]) => p));
  const extra = Object.keys(saved.tensors).filter((p) => !known.has(p));
  if (extra.length)
    throw new WeightFileError(
      file,
      `has parameters the model lacks: ${extra.slice(0, 5).join(", ")}`,
    );
  const state: Record<string, Float32Array> = {};
  for (const [path, t] of params) {
    const s = saved.tensors[path];
    if (!s) throw new WeightFileError(file, `is missing parameter "${path}"`);
    if (s.shape.join() !== t.shape.join())
      throw new WeightFileError(
        file,
        `parameter "${path}" is [${s.shape}] in the file but [${t.shape}] in the model`,
      );
    for (let i = 0; i < s.data.length; i++)
      if (!Number.isFinite(s.data[i]))
        throw new WeightFileError(file, `parameter "${path}" holds a non-finite value at ${i}`);
    state[path] = s.data;
  }
  module.loadStateDict(state);
  return { kind: saved.kind, config: saved.config, metadata: saved.metadata };
}
