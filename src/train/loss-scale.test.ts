import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenTransformer } from "../nn/transformer.ts";
import { backward } from "../tensor/autograd.ts";
import type { Device } from "../tensor/device.ts";
import { tidy } from "../tensor/engine.ts";
import { affine, cast } from "../tensor/ops/elementwise.ts";
import { softmaxCrossEntropy } from "../tensor/ops/loss.ts";
import { sum } from "../tensor/ops/reduce.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { scaledError } from "../testing/op-check.ts";
import { Rng } from "../util/rng.ts";
import { DynamicLossScaler } from "./loss-scale.ts";
import type { ComputeDType } from "./mixed-precision.ts";
import { trainingDevices } from "./test-devices.ts";
import { repeatingPatternBatch } from "./toy-sequences.ts";
import { Trainer } from "./trainer.ts";

function tinyModel(device: Device): TokenTransformer {
  return new TokenTransformer(device, new Rng(1), {
    vocab: 8,
    dim: 16,
    heads: 2,
    layers: 1,
    causal: true,
    rope: {},
  });
}

/** Mean next-token loss of the model on a fixed batch, computed in `dtype`, as an f32 scalar. */
function lossFn(device: Device, model: TokenTransformer): (dtype: ComputeDType) => Tensor {
  const b = repeatingPatternBatch(new Rng(5), 4, 9, 8, 3);
  return (dtype) => {
    const ids = device.tensor(b.ids, [4, 9], "i32");
    const targets = device.tensor(b.targets, [4, 9], "i32");
    const logits = cast(model.forward(ids, dtype), "f32"); // [4, 9, 8]
    return affine(sum(softmaxCrossEntropy(logits, targets)), 1 / b.counted);
  };
}

async function grads(params: Tensor[]): Promise<(Float32Array | Float64Array | Int32Array)[]> {
  const out = await Promise.all(params.map((p) => p.grad!.toArray()));
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
  return out;
}

/**
 * Trains from an absurd initial scale (2^40) in f16: the first steps overflow and must leave the
 * weights untouched while the scale backs off (÷64 per step) until the gradients fit.
 */
async function checkOverflowBackoff(device: Device, clipNorm: number | undefined): Promise<void> {
  const name = `${device.kind}${clipNorm ? " with clipping" : ""}`;
  const model = tinyModel(device);
  const trainer = new Trainer(model.parameters(), {
    policy: { compute: "f16", master: "f32", lossScaling: true, reason: "test" },
    optimizer: { lr: 1e-2 },
    clipNorm,
    lossScaler: { initScale: 2 ** 40, backoffFactor: 2 ** -6, growthInterval: 1000 },
  });
  const f = lossFn(device, model);
  let before = await model.stateDict();
  let scale = 2 ** 40;
  let applied = 0;
  const log: string[] = [];
  for (let step = 0; step < 6; step++) {
    const { loss } = trainer.step(f);
    loss.dispose();
    const skipped = await trainer.scaler!.skipped();
    const after = await model.stateDict();
    log.push(`${scale}:${skipped ? "skip" : "step"}`);
    if (skipped) {
      assert.deepEqual(after, before, `${name} step ${step}: a skipped step changed weights`);
      scale /= 64;
    } else {
      applied++;
      assert.notDeepEqual(after, before, `${name} step ${step}: an applied step changed nothing`);
    }
    assert.equal(await trainer.scaler!.currentScale(), scale, `${name} step ${step}: scale`);
    before = after;
  }
  assert.ok(log[0].endsWith("skip"), `${name}: 2^40 must overflow f16 (${log.join(" ")})`);
  assert.ok(applied >= 2, `${name}: the scale came down far enough to train (${log.join(" ")})`);
  assert.equal(await trainer.optimizer.stepsTaken(), applied, `${name}: only applied steps count`);
  trainer.dispose();
}

describe("DynamicLossScaler", () => {
  it("backward of the scaled loss gives scale × the plain gradients (seeded, no extra op)", async () => {
    for (const { name, device } of await trainingDevices()) {
      const model = tinyModel(device);
      const params = model.parameters();
      const f = lossFn(device, model);
      tidy(() => backward(f("f32")));
      const plain = await grads(params);
      const scaler = new DynamicLossScaler(device, { initScale: 1024 });
      tidy(() => scaler.backward(f("f32")));
      const scaled = await grads(params);
      plain.forEach((g, i) => {
        const e = scaledError(
          scaled[i],
          g.map((x) => x * 1024),
        );
        assert.ok(e < 1e-6, `${name}: ${model.namedParameters()[i][0]} off by ${e}`);
      });
      assert.equal(await scaler.currentScale(), 1024);
    }
  });

  it("f16 overflow skips the step (weights untouched) and backs off until gradients fit", async () => {
    for (const { device } of await trainingDevices()) {
      if (!device.supportsF16) continue;
      // Without clipping the scaler counts non-finite elements; with it, it reuses the sums of
      // squares of the clipping pass.
      await checkOverflowBackoff(device, undefined);
      await checkOverflowBackoff(device, 1);
    }
  });

  it("grows the scale after growthInterval clean steps, up to maxScale", async () => {
    for (const { name, device } of await trainingDevices()) {
      const model = tinyModel(device);
      const trainer = new Trainer(model.parameters(), {
        policy: { compute: "f32", master: "f32", lossScaling: true, reason: "test" },
        lossScaler: { initScale: 4, growthInterval: 2, maxScale: 16 },
      });
      const f = lossFn(device, model);
      const scales: number[] = [];
      for (let step = 0; step < 7; step++) {
        trainer.step(f).loss.dispose();
        scales.push(await trainer.scaler!.currentScale());
      }
      assert.deepEqual(scales, [4, 8, 8, 16, 16, 16, 16], name);
    }
  });
});
