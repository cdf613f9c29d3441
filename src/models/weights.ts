/**
 * Weight files: one safetensors file per trained network, its parameters under their module
 * paths and, in "__metadata__", the format, which network it is ("autoencoder" or
 * "text-to-video"), the model config as JSON, and any caller fields (step, data position ...).
 * Writes are atomic (a temporary file renamed into place), so a crash never leaves a
 * half-written file where a good one was. Loading checks everything against the model it fills
 * and says what is wrong: a missing, truncated or corrupt file, another network, another
 * config, or a missing, extra or misshapen parameter.
 */
import { checkState, saveModule } from "../io/module-weights.ts";
import {
  type NamedArray,
  readWeights as readWeightFile,
  type StoredDType,
  WeightFileError,
} from "../io/safetensors.ts";
import type { Module } from "../nn/module.ts";

export const WEIGHTS_FORMAT = "zoetrope-weights-1";

export type NetworkKind = "autoencoder" | "text-to-video";

export interface SavedWeights {
  kind: NetworkKind;
  /** The config the weights were trained with (parsed from the metadata). */
  config: unknown;
  /** Every metadata field, as stored. */
  metadata: Record<string, string>;
}

/**
 * Writes `module`'s parameters with their config to `file`, atomically; f16 and shards under
 * 16 MiB (with an index) on request, for weights committed to the repository.
 */
export async function saveWeights(
  file: string,
  module: Module,
  kind: NetworkKind,
  config: unknown,
  extra: Record<string, string> = {},
  options: { dtype?: StoredDType; shardBytes?: number } = {},
): Promise<string[]> {
  for (const key of ["format", "kind", "config"])
    if (key in extra) throw new Error(`saveWeights: metadata field "${key}" is reserved`);
  const metadata = { ...extra, format: WEIGHTS_FORMAT, kind, config: JSON.stringify(config) };
  return saveModule(module, file, metadata, options);
}

/** Reads and checks a weight file's container and metadata (not yet against a model). */
export async function readWeights(
  file: string,
): Promise<SavedWeights & { tensors: Record<string, NamedArray> }> {
  const { metadata, tensors } = await readWeightFile(file);
  const fail = (problem: string) => new WeightFileError(`${file}: ${problem}`);
  if (metadata.format !== WEIGHTS_FORMAT)
    throw fail(
      `not a Zoetrope weight file (format ${metadata.format ?? "missing"}, expected ${WEIGHTS_FORMAT})`,
    );
  const kind = metadata.kind;
  if (kind !== "autoencoder" && kind !== "text-to-video")
    throw fail(`unknown network kind "${kind}"`);
  let config: unknown;
  try {
    config = JSON.parse(metadata.config ?? "");
  } catch {
    throw fail("corrupt metadata: the config is not JSON");
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
 * when anything disagrees; the module is left untouched unless every check passes. `saved`
 * passes the file's contents when the caller has already read it (to build the module from its
 * config), so that it is not read and decoded twice.
 */
export async function loadWeights(
  file: string,
  module: Module,
  kind: NetworkKind,
  config: unknown,
  saved?: SavedWeights & { tensors: Record<string, NamedArray> },
): Promise<SavedWeights> {
  const weights = saved ?? (await readWeights(file));
  if (weights.kind !== kind)
    throw new WeightFileError(`${file}: holds ${weights.kind} weights, expected ${kind}`);
  const diff = jsonDiff(weights.config, config);
  if (diff.length)
    throw new WeightFileError(
      `${file}: was trained with another config: ${diff.slice(0, 5).join("; ")}`,
    );
  module.loadStateDict(checkState(module, weights.tensors, file));
  return { kind: weights.kind, config: weights.config, metadata: weights.metadata };
}

/** What loadMatchingWeights took from the file and what it left as the module had it. */
export interface MatchedWeights {
  /** Parameters filled from the file (same name and shape). */
  loaded: string[];
  /** Parameters the file lacks or has in another shape: they keep the module's values. */
  kept: string[];
  /** Tensors of the file that the module has no place for. */
  unused: string[];
}

/**
 * Fills the parameters of `module` that `file` holds under the same name and shape, and leaves
 * the rest as they are: for starting a network from one trained with a different config (e.g. a
 * text-to-video model moved to an autoencoder with more latent channels, whose patch projections
 * change shape while everything else carries over). The file must be the same kind of network
 * and share at least one parameter; its values must be finite.
 */
export async function loadMatchingWeights(
  file: string,
  module: Module,
  kind: NetworkKind,
): Promise<MatchedWeights> {
  const weights = await readWeights(file);
  if (weights.kind !== kind)
    throw new WeightFileError(`${file}: holds ${weights.kind} weights, expected ${kind}`);
  const params = module.namedParameters();
  const shapes = new Map(params.map(([p, t]) => [p, t.shape.join("×")]));
  const matching: Record<string, NamedArray> = {};
  const loaded: string[] = [];
  const unused: string[] = [];
  for (const [name, t] of Object.entries(weights.tensors)) {
    if (shapes.get(name) === t.shape.join("×")) {
      matching[name] = t;
      loaded.push(name);
    } else unused.push(name);
  }
  if (loaded.length === 0)
    throw new WeightFileError(`${file}: shares no parameter (same name and shape) with the model`);
  // checkState wants every parameter: the ones the file cannot give keep the module's values.
  const kept: string[] = [];
  for (const [p, t] of params)
    if (!(p in matching)) {
      matching[p] = { shape: [...t.shape], data: Float32Array.from(await t.toArray()) };
      kept.push(p);
    }
  module.loadStateDict(checkState(module, matching, file));
  return { loaded, kept, unused };
}
