/**
 * A module's parameters to and from safetensors, with the model's config in the metadata:
 * loading checks that the file is for this model (every parameter present with its shape, no
 * strangers) and names the file and the parameter when it is not.
 */
import type { Module } from "../nn/module.ts";
import { readWeights, type StoredDType, WeightFileError, writeWeights } from "./safetensors.ts";

export async function saveModule(
  module: Module,
  path: string,
  metadata: Record<string, string>,
  options: { dtype?: StoredDType; shardBytes?: number } = {},
): Promise<string[]> {
  const state = await module.stateDict();
  const shapes = new Map(module.namedParameters().map(([p, t]) => [p, [...t.shape]]));
  const tensors = Object.fromEntries(
    Object.entries(state).map(([k, data]) => [k, { shape: shapes.get(k) ?? [data.length], data }]),
  );
  return writeWeights(path, { tensors, metadata }, options);
}

/** Loads `path` into `module`'s parameters; returns the file's metadata. */
export async function loadModule(module: Module, path: string): Promise<Record<string, string>> {
  const file = await readWeights(path);
  const named = module.namedParameters();
  const known = new Set(named.map(([p]) => p));
  for (const [p, t] of named) {
    const stored = file.tensors[p];
    if (!stored)
      throw new WeightFileError(
        `${path}: parameter "${p}" is missing (weights for another model?)`,
      );
    if (stored.shape.join(",") !== t.shape.join(","))
      throw new WeightFileError(
        `${path}: parameter "${p}" is [${stored.shape.join(", ")}] in the file but [${t.shape.join(", ")}] in the model`,
      );
  }
  const extra = Object.keys(file.tensors).filter((k) => !known.has(k));
  if (extra.length)
    throw new WeightFileError(
      `${path}: ${extra.length} tensors the model does not have, e.g. "${extra[0]}"`,
    );
  module.loadStateDict(
    Object.fromEntries(Object.entries(file.tensors).map(([k, t]) => [k, t.data])),
  );
  return file.metadata;
}
