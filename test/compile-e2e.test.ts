/**
 * The compiled path end to end: the 2-layer causal transformer of engine-e2e.test.ts (embedding,
 * rotary attention, layer norms, GELU MLP, cross-entropy with ignored targets) trained with
 * AdamW, global-norm clipping and an EMA, once eagerly on the CPU reference and once as one
 * compiled ONNX Runtime step, from the same seed and batches, with a learning-rate warm-up that
 * reaches the compiled step as a dynamic scalar.
 *
 * Stated bounds: over the first 20 steps every loss agrees to 1e-4 relative (+1e-6 absolute); the weights and EMA weights after them
 * differ by a scaled error ≤ 1e-4; the step compiles once (one program for one
 * shape) and learns (the mean of the last 3 losses is below 60% of the first).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { compile } from "../src/compile/compile.ts";
import { createDevice, type Device } from "../src/devices.ts";
import { TokenTransformer } from "../src/nn/transformer.ts";
import { cast, mul } from "../src/tensor/ops/elementwise.ts";
import { softmaxCrossEntropy } from "../src/tensor/ops/loss.ts";
import { sum } from "../src/tensor/ops/reduce.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { scaledError } from "../src/testing/op-check.ts";
import { choosePrecision } from "../src/train/mixed-precision.ts";
import { repeatingPatternBatch } from "../src/train/toy-sequences.ts";
import { Trainer } from "../src/train/trainer.ts";
import { Rng } from "../src/util/rng.ts";

const VOCAB = 16;
const BATCH = 8;
const LENGTH = 16;
const STEPS = 60;
/** Both runs compute in f32 in different orders: they agree closely for a while, then drift apart. */
const PARITY_STEPS = 20;

const lrAt = (step: number) => 3e-2 * Math.min(1, (step + 1) / 4);

interface Batch {
  ids: Tensor;
  targets: Tensor;
  invCount: Tensor;
}

async function train(device: Device, compiled: boolean) {
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
    optimizer: { lr: 2e-2, weightDecay: 0.01 },
    clipNorm: 0.5,
    ema: { decay: 0.9 },
  });
  // Mean cross-entropy over the counted tokens (ignored targets give 0).
  const step = (b: Batch, lr: number) =>
    trainer.step(
      (dtype) =>
        mul(
          sum(softmaxCrossEntropy(cast(model.forward(b.ids, dtype), "f32"), b.targets)),
          b.invCount,
        ),
      { lr },
    );
  const compiledStep = compile((b: Batch) => ({ loss: step(b, 2e-2).loss }), { dynamic: ["lr"] });
  const ema = trainer.ema;
  assert.ok(ema);
  let weights: ArrayLike<number>[] = [];
  let emaWeights: ArrayLike<number>[] = [];
  const data = new Rng(2);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const batch = repeatingPatternBatch(data, BATCH, LENGTH, VOCAB, 4);
    const b: Batch = {
      ids: device.tensor(batch.ids, [BATCH, LENGTH], "i32"),
      targets: device.tensor(batch.targets, [BATCH, LENGTH], "i32"),
      invCount: device.tensor([1 / batch.counted], [1]),
    };
    const loss = compiled ? (await compiledStep(b, { lr: lrAt(s) })).loss : step(b, lrAt(s)).loss;
    losses.push(await loss.item());
    if (s === PARITY_STEPS - 1) {
      weights = await Promise.all(model.parameters().map((p) => p.toArray()));
      emaWeights = await Promise.all(ema.shadow.map((p) => p.toArray()));
    }
  }
  return {
    losses,
    weights,
    emaWeights,
    programs: compiledStep.programs.size,
    model,
    trainer,
  };
}

it("a transformer trained as one compiled ONNX Runtime step matches the eager reference step by step", async () => {
  const eager = await train(await createDevice({ kind: "cpu" }), false);
  const compiled = await train(await createDevice({ kind: "onnx" }), true);
  assert.equal(compiled.programs, 1, "one shape, one program");
  eager.losses.slice(0, PARITY_STEPS).forEach((l, i) => {
    const c = compiled.losses[i];
    assert.ok(
      Math.abs(l - c) <= 1e-4 * Math.abs(l) + 1e-6,
      `step ${i}: eager loss ${l}, compiled ${c}`,
    );
  });
  eager.weights.forEach((w, i) => {
    const err = scaledError(compiled.weights[i], w);
    assert.ok(err <= 1e-4, `parameter ${i} after ${PARITY_STEPS} steps: scaled error ${err}`);
  });
  eager.emaWeights.forEach((w, i) => {
    const err = scaledError(compiled.emaWeights[i], w);
    assert.ok(err <= 1e-4, `EMA of parameter ${i}: scaled error ${err}`);
  });
  const first = compiled.losses[0];
  const last = compiled.losses.slice(-3).reduce((p, l) => p + l, 0) / 3;
  assert.ok(last < 0.6 * first, `learns: first ${first}, last three ${last}`);
});
