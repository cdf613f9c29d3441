/**
 * The training loop every model trains with: batches from a task's seeded data stream, a
 * learning-rate schedule, AdamW with clipping and an EMA (Trainer), compiled into one ONNX
 * Runtime step on an `onnx` device (eager elsewhere), checkpoints in a run folder every few
 * steps and when stopped, exact resume, and a CSV log of the loss.
 *
 * Resume is exact: the data generator's state, the step, the optimiser and EMA are all in the
 * checkpoint, so N steps in one run and N/2 + N/2 across a restart end at the same weights.
 */
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { compile } from "../compile/compile.ts";
import type { Module } from "../nn/module.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Rng } from "../util/rng.ts";
import { loadCheckpoint, saveCheckpoint, type TrainState } from "./checkpoint.ts";
import { writeLossPlot } from "./loss-plot.ts";
import type { ComputeDType } from "./mixed-precision.ts";
import { choosePrecision } from "./mixed-precision.ts";
import { checkSchedule, type LrSchedule, lrAt } from "./schedule.ts";
import { Trainer } from "./trainer.ts";

export type Batch = Record<string, Tensor>;

export interface NextBatch {
  batch: Batch;
  /** The data position after this batch (saved with checkpoints). */
  position: unknown;
  /** Samples in the batch (for samples/s). */
  samples: number;
}

export interface TrainTask {
  model: Module;
  /** Weight-file metadata (the model's config as JSON strings). */
  metadata: Record<string, string>;
  /**
   * The next batch from the data stream: host-side sampling with `rng` (data, noise,
   * timesteps), uploaded as tensors. `position` is the task's data position, saved with
   * checkpoints; it returns the position after the batch.
   */
  batch(rng: Rng, position: unknown): NextBatch | Promise<NextBatch>;
  /** The loss of one batch (a one-element tensor), computing in `dtype`. */
  loss(batch: Batch, dtype: ComputeDType): Tensor;
}

export interface TrainOptions {
  steps: number;
  schedule: Omit<LrSchedule, "total">;
  weightDecay?: number;
  clipNorm?: number;
  emaDecay?: number;
  seed: number;
  /** The run folder: checkpoints, `latest`, log.csv. */
  runDir: string;
  /** Checkpoint every this many steps (and at the end, and when stopped). */
  checkpointEvery: number;
  /** Continue from the run folder's newest checkpoint when it has one. */
  resume?: boolean;
  /** Stop early (Ctrl-C): the loop checkpoints and returns. */
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void;
}

export interface StepInfo {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  samplesPerSecond: number;
  etaSeconds: number;
}

export interface TrainResult {
  /** The step reached (steps done in all, across resumes). */
  step: number;
  /** Losses of the steps this call ran. */
  losses: number[];
  resumedFrom: number | null;
  stopped: boolean;
}

/** Drops log rows after `step` (a resume from an earlier checkpoint rewrites them). */
async function trimLog(path: string, step: number): Promise<void> {
  const text = await readFile(path, "utf8").catch(() => "");
  if (!text) return;
  const [head, ...rows] = text.trimEnd().split("\n");
  const kept = rows.filter((r) => Number(r.split(",")[0]) <= step);
  await writeFile(path, `${[head, ...kept].join("\n")}\n`);
}

export async function train(task: TrainTask, o: TrainOptions): Promise<TrainResult> {
  const schedule: LrSchedule = { ...o.schedule, total: o.steps };
  checkSchedule(schedule);
  const device = task.model.device;
  const trainer = new Trainer(task.model.parameters(), {
    policy: choosePrecision(device, "f32"),
    optimizer: { lr: schedule.lr, weightDecay: o.weightDecay ?? 0.01 },
    clipNorm: o.clipNorm,
    ema: o.emaDecay === undefined ? undefined : { decay: o.emaDecay, warmup: true },
  });
  const rng = new Rng(o.seed);
  let state: TrainState = { step: 0, rng: rng.getState(), data: undefined };
  const resumed = o.resume ? await loadCheckpoint(o.runDir, task.model, trainer) : null;
  if (resumed) {
    state = resumed;
    rng.setState(resumed.rng);
  }
  await mkdir(o.runDir, { recursive: true });
  const logPath = join(o.runDir, "log.csv");
  if (resumed) await trimLog(logPath, resumed.step);
  else await writeFile(logPath, "step,loss,lr,seconds\n");

  const compiled = device.kind === "onnx";
  const step = compile(
    (b: Batch) => ({ loss: trainer.step((dtype) => task.loss(b, dtype)).loss }),
    {
      dynamic: ["lr", "ema_decay"],
    },
  );
  const checkpoint = async () => {
    await saveCheckpoint(
      o.runDir,
      task.model,
      trainer,
      { step: state.step, rng: rng.getState(), data: state.data },
      task.metadata,
    );
    await writeLossPlot(o.runDir, `${basename(resolve(o.runDir))}: loss to step ${state.step}`);
  };
  const losses: number[] = [];
  const t0 = performance.now();
  let samples = 0;
  let stopped = false;
  try {
    while (state.step < o.steps) {
      if (o.signal?.aborted) {
        stopped = true;
        break;
      }
      const { batch, position, samples: n } = await task.batch(rng, state.data);
      const lr = lrAt(schedule, state.step);
      let loss: Tensor;
      if (compiled) {
        // The EMA's host-side update count advances here (the traced step ran its JS once).
        const updates = trainer.ema?.updates ?? 0;
        const emaDecay = trainer.ema ? trainer.ema.decayAt(updates) : 0;
        loss = (await step(batch, { lr, ema_decay: emaDecay })).loss;
        if (trainer.ema) trainer.ema.updates = updates + 1;
      } else {
        loss = trainer.step((dtype) => task.loss(batch, dtype), { lr }).loss;
      }
      const value = await loss.item();
      loss.dispose();
      for (const t of Object.values(batch)) t.dispose();
      state = { step: state.step + 1, rng: [], data: position };
      losses.push(value);
      samples += n;
      const seconds = (performance.now() - t0) / 1000;
      await appendFile(logPath, `${state.step},${value},${lr},${seconds.toFixed(3)}\n`);
      const perStep = seconds / losses.length;
      o.onStep?.({
        step: state.step,
        steps: o.steps,
        loss: value,
        lr,
        samplesPerSecond: samples / seconds,
        etaSeconds: perStep * (o.steps - state.step),
      });
      if (state.step % o.checkpointEvery === 0 || state.step === o.steps) await checkpoint();
    }
    if (stopped && losses.length > 0 && state.step % o.checkpointEvery !== 0) await checkpoint();
  } finally {
    trainer.dispose();
  }
  return { step: state.step, losses, resumedFrom: resumed?.step ?? null, stopped };
}
