/**
 * End to end: a 2-layer causal transformer (D = 32, 2 heads, vocabulary 16, rotary positions)
 * learns a toy next-token task — each sequence repeats a random 4-token pattern — with AdamW and
 * gradient clipping, once on the CPU reference and once on WebGPU (lavapipe in CI), from the
 * same seed and the same batches.
 *
 * Stated bounds:
 * - the first loss is near ln 16 = 2.77 (an untrained model guesses uniformly): within ±0.7;
 * - after 80 steps the mean loss of the last 5 steps is below 0.15 (the task is learnable
 *   exactly once the pattern has been seen; an untrained model stays near 2.77), and next-token
 *   accuracy on fresh sequences is at least 95%;
 * - the CPU and WebGPU runs agree at every step: |loss_cpu − loss_gpu| ≤ 5e-3 + 1e-2·loss_cpu
 *   (both compute in f32, but in different orders, so they drift apart slowly), and their final
 *   weights differ by a scaled error below 1e-2.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createDevice, type Device } from "../src/devices.ts";
import { TokenTransformer } from "../src/nn/transformer.ts";
import { noGrad, tidy } from "../src/tensor/engine.ts";
import { affine, cast } from "../src/tensor/ops/elementwise.ts";
import { softmaxCrossEntropy } from "../src/tensor/ops/loss.ts";
import { sum } from "../src/tensor/ops/reduce.ts";
import { scaledError } from "../src/testing/op-check.ts";
import { choosePrecision } from "../src/train/mixed-precision.ts";
import { repeatingPatternBatch } from "../src/train/toy-sequences.ts";
import { Trainer } from "../src/train/trainer.ts";
import { Rng } from "../src/util/rng.ts";

const VOCAB = 16;
const BATCH = 8;
const LENGTH = 16;
const PERIOD = 4;
const STEPS = 80;

interface RunResult {
  losses: number[];
  accuracy: number;
  state: Record<string, Float32Array>;
}

async function train(device: Device): Promise<RunResult> {
  const model = new TokenTransformer(device, new Rng(1), {
    vocab: VOCAB,
    dim: 32,
    heads: 2,
    layers: 2,
    causal: true,
    rope: {},
  });
  const trainer = new Trainer(model.parameters(), {
    policy: choosePrecision(device, "f32"),
    optimizer: { lr: 1e-2, betas: [0.9, 0.999], weightDecay: 0.01 },
    clipNorm: 1,
  });
  const data = new Rng(2);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const batch = repeatingPatternBatch(data, BATCH, LENGTH, VOCAB, PERIOD);
    const ids = device.tensor(batch.ids, [BATCH, LENGTH], "i32");
    const targets = device.tensor(batch.targets, [BATCH, LENGTH], "i32");
    const { loss, gradNorm } = trainer.step((dtype) => {
      const logits = cast(model.forward(ids, dtype), "f32"); // [B, T, V]
      const perToken = softmaxCrossEntropy(logits, targets); // [B, T], 0 where masked
      return affine(sum(perToken), 1 / batch.counted); // mean over counted tokens
    });
    losses.push(await loss.item());
    for (const t of [loss, gradNorm, ids, targets]) t?.dispose();
  }
  // Next-token accuracy on fresh sequences.
  const test = repeatingPatternBatch(new Rng(3), 16, LENGTH, VOCAB, PERIOD);
  const logits = await noGrad(() =>
    tidy(() => model.forward(device.tensor(test.ids, [16, LENGTH], "i32"))),
  ).toArray();
  let right = 0;
  for (let p = 0; p < test.targets.length; p++) {
    if (test.targets[p] < 0) continue;
    let best = 0;
    for (let v = 1; v < VOCAB; v++) if (logits[p * VOCAB + v] > logits[p * VOCAB + best]) best = v;
    if (best === test.targets[p]) right++;
  }
  const state = await model.stateDict();
  trainer.dispose();
  model.dispose();
  return { losses, accuracy: right / test.counted, state };
}

it("a 2-layer transformer learns a repeating-pattern task identically on cpu and webgpu", async (t) => {
  const cpu = await train(await createDevice({ kind: "cpu" }));
  const runs = [{ name: "cpu", run: cpu }];
  if (process.env.ZOETROPE_TEST_WEBGPU !== "0") {
    runs.push({ name: "webgpu", run: await train(await createDevice({ kind: "webgpu" })) });
  }
  for (const { name, run } of runs) {
    const first = run.losses[0];
    assert.ok(
      Math.abs(first - Math.log(VOCAB)) < 0.7,
      `${name}: first loss ${first} is near ln 16`,
    );
    const last5 = run.losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(
      last5 < 0.15,
      `${name}: mean of the last 5 losses ${last5.toFixed(4)} ≥ 0.15 (losses ${run.losses.map((l) => l.toFixed(3)).join(" ")})`,
    );
    assert.ok(run.accuracy >= 0.95, `${name}: next-token accuracy ${run.accuracy} < 95%`);
    t.diagnostic(
      `${name}: first loss ${first.toFixed(4)}, last-5 mean ${last5.toFixed(4)}, accuracy ${run.accuracy}`,
    );
  }
  if (runs.length === 2) {
    const gpu = runs[1].run;
    let worst = 0;
    cpu.losses.forEach((l, step) => {
      const diff = Math.abs(l - gpu.losses[step]);
      worst = Math.max(worst, diff);
      assert.ok(
        diff <= 5e-3 + 1e-2 * l,
        `step ${step}: cpu loss ${l} and webgpu loss ${gpu.losses[step]} differ by ${diff}`,
      );
    });
    let worstWeight = 0;
    for (const [path, w] of Object.entries(cpu.state)) {
      const e = scaledError(gpu.state[path], w);
      worstWeight = Math.max(worstWeight, e);
      assert.ok(e < 1e-2, `final weight ${path} differs between cpu and webgpu by ${e}`);
    }
    t.diagnostic(
      `cpu vs webgpu: largest loss difference ${worst.toExponential(2)}, largest weight difference ${worstWeight.toExponential(2)}`,
    );
  }
});
