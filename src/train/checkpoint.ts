/**
 * Training checkpoints in a run folder, written so that a process ended at any moment leaves a
 * usable run behind:
 *
 *   run/latest                 the name of the newest complete checkpoint
 *   run/step-000120/model.safetensors      parameters (config and step in the metadata)
 *   run/step-000120/ema.safetensors        the EMA of the parameters, under the same names
 *   run/step-000120/optimizer.safetensors  AdamW moments and step count, loss-scale state
 *   run/step-000120/state.json             step, data RNG, data position, EMA update count
 *
 * A checkpoint is written into a hidden temporary folder and renamed into place, then `latest`
 * is replaced atomically; older checkpoints beyond `keep` are removed only after that.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadModule, saveModule } from "../io/module-weights.ts";
import { type NamedArray, readWeights, WeightFileError, writeWeights } from "../io/safetensors.ts";
import type { Module } from "../nn/module.ts";
import { noGrad } from "../tensor/engine.ts";
import { assign } from "../tensor/ops/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Trainer } from "./trainer.ts";

export interface TrainState {
  step: number;
  /** The data generator's state (Rng.getState()). */
  rng: number[];
  /** Where the data stream stands (e.g. the index of the next clip), as the task defines it. */
  data?: unknown;
}

const STEP_RE = /^step-(\d{6,})$/;

function stepDir(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

/** Everything the trainer keeps besides the parameters, by name. */
function trainerState(trainer: Trainer): [string, Tensor][] {
  const out = trainer.optimizer.namedState();
  if (trainer.scaler)
    out.push(
      ["loss_scale.scale", trainer.scaler.scale],
      ["loss_scale.control", trainer.scaler.control],
    );
  return out;
}

async function tensorsOf(named: [string, Tensor][]) {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of named)
    out[name] = { shape: [...t.shape], data: Float32Array.from(await t.toArray()) };
  return out;
}

function restore(
  named: [string, Tensor][],
  stored: Record<string, { shape: number[]; data: Float32Array }>,
  file: string,
): void {
  for (const [name, t] of named) {
    const s = stored[name];
    if (!s)
      throw new WeightFileError(
        `${file}: "${name}" is missing (a checkpoint of another model or trainer?)`,
      );
    if (s.data.length !== t.size)
      throw new WeightFileError(
        `${file}: "${name}" has ${s.data.length} values, the run needs ${t.size}`,
      );
    noGrad(() => {
      const src = t.device.tensor(s.data, t.shape, t.dtype);
      assign(t, src);
      src.dispose();
    });
  }
}

/** Writes a checkpoint of `model` and `trainer` at `state.step`; returns its folder. */
export async function saveCheckpoint(
  runDir: string,
  model: Module,
  trainer: Trainer,
  state: TrainState,
  metadata: Record<string, string>,
  keep = 2,
): Promise<string> {
  await mkdir(runDir, { recursive: true });
  const name = stepDir(state.step);
  const tmp = join(runDir, `.${name}.${process.pid}.partial`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    const meta = { ...metadata, step: String(state.step) };
    await saveModule(model, join(tmp, "model.safetensors"), meta);
    if (trainer.ema) {
      const names = model.namedParameters().map(([p]) => p);
      const shadow = trainer.ema.shadow.map((t, i): [string, Tensor] => [names[i], t]);
      await writeWeights(join(tmp, "ema.safetensors"), {
        tensors: await tensorsOf(shadow),
        metadata: meta,
      });
    }
    await writeWeights(join(tmp, "optimizer.safetensors"), {
      tensors: await tensorsOf(trainerState(trainer)),
      metadata: { step: String(state.step) },
    });
    const json = { ...state, emaUpdates: trainer.ema?.updates ?? 0 };
    await writeFile(join(tmp, "state.json"), `${JSON.stringify(json)}\n`);
    const final = join(runDir, name);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const latestTmp = join(runDir, `.latest.${process.pid}.partial`);
  await writeFile(latestTmp, `${name}\n`);
  await rename(latestTmp, join(runDir, "latest"));
  // Only now may older checkpoints go.
  const steps = (await readdir(runDir))
    .filter((d) => STEP_RE.test(d))
    .sort()
    .reverse();
  for (const old of steps.slice(Math.max(1, keep)))
    await rm(join(runDir, old), { recursive: true, force: true });
  return join(runDir, name);
}

/**
 * Restores the newest checkpoint of `runDir` into `model` and `trainer`; returns its state, or
 * null when the folder has none (a fresh run).
 */
export async function loadCheckpoint(
  runDir: string,
  model: Module,
  trainer: Trainer,
): Promise<TrainState | null> {
  let name: string;
  try {
    name = (await readFile(join(runDir, "latest"), "utf8")).trim();
  } catch {
    return null;
  }
  if (!STEP_RE.test(name))
    throw new WeightFileError(`${join(runDir, "latest")}: names "${name}", not a checkpoint`);
  const dir = join(runDir, name);
  if (!(await stat(dir).catch(() => null))?.isDirectory())
    throw new WeightFileError(
      `${dir}: the checkpoint that ${join(runDir, "latest")} names is missing`,
    );
  const statePath = join(dir, "state.json");
  let state: TrainState & { emaUpdates?: number };
  try {
    state = JSON.parse(await readFile(statePath, "utf8"));
  } catch {
    throw new WeightFileError(`${statePath}: missing or not valid JSON`);
  }
  if (!Number.isInteger(state.step) || state.step < 0 || !Array.isArray(state.rng))
    throw new WeightFileError(`${statePath}: no valid step and rng state`);
  await loadModule(model, join(dir, "model.safetensors"));
  const opt = join(dir, "optimizer.safetensors");
  restore(trainerState(trainer), (await readWeights(opt)).tensors, opt);
  if (trainer.ema) {
    const emaPath = join(dir, "ema.safetensors");
    const stored = (await readWeights(emaPath)).tensors;
    const names = model.namedParameters().map(([p]) => p);
    restore(
      trainer.ema.shadow.map((t, i): [string, Tensor] => [names[i], t]),
      stored,
      emaPath,
    );
    trainer.ema.updates = state.emaUpdates ?? state.step;
  }
  return { step: state.step, rng: state.rng, data: state.data };
}

/**
 * The EMA weights of `runDir`'s newest checkpoint (what ships), by parameter name, or null when
 * the run has no checkpoint or trained without an EMA. Big models' EMA files are sharded
 * (ema.safetensors.index.json beside ema-0000k-of-0000n.safetensors): both forms are read.
 */
export async function readLatestEma(runDir: string): Promise<Record<string, NamedArray> | null> {
  const latest = (await readFile(join(runDir, "latest"), "utf8").catch(() => "")).trim();
  if (!STEP_RE.test(latest)) return null;
  const path = join(runDir, latest, "ema.safetensors");
  const stored = await Promise.all(
    [path, `${path}.index.json`].map((p) => stat(p).catch(() => null)),
  );
  if (!stored.some(Boolean)) return null;
  return (await readWeights(path)).tensors;
}
