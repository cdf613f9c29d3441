/**
 * The mixed-precision path (f16 compute, f32 master weights, dynamic loss scaling) against the
 * f32 path on the same small model, seed and batches.
 *
 * Stated tolerances: per-step training losses of the two paths differ by at most
 * 0.02 + 0.02·loss over 20 steps, and the logits of one forward pass by a scaled error below 1e-2
 * (f16 keeps ~3 decimal digits; kernels accumulate in f32). Measured on lavapipe: ≤ 5e-4 in loss.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice, type Device } from "../devices.ts";
import { TokenTransformer } from "../nn/transformer.ts";
import { noGrad, tidy } from "../tensor/engine.ts";
import { affine, cast } from "../tensor/ops/elementwise.ts";
import { softmaxCrossEntropy } from "../tensor/ops/loss.ts";
import { sum } from "../tensor/ops/reduce.ts";
import { scaledError } from "../testing/op-check.ts";
import { Rng } from "../util/rng.ts";
import { choosePrecision, type PrecisionPolicy } from "./mixed-precision.ts";
import { trainingDevices } from "./test-devices.ts";
import { repeatingPatternBatch } from "./toy-sequences.ts";
import { Trainer } from "./trainer.ts";

const WEBGPU = process.env.ZOETROPE_TEST_WEBGPU !== "0";
const STEPS = 20;

function model(device: Device): TokenTransformer {
  return new TokenTransformer(device, new Rng(1), {
    vocab: 16,
    dim: 32,
    heads: 2,
    layers: 1,
    causal: true,
    rope: {},
  });
}

async function trainLosses(device: Device, policy: PrecisionPolicy): Promise<number[]> {
  const m = model(device);
  const trainer = new Trainer(m.parameters(), {
    policy,
    optimizer: { lr: 1e-2, weightDecay: 0 },
    clipNorm: 1,
  });
  const data = new Rng(2);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const b = repeatingPatternBatch(data, 8, 16, 16, 4);
    const ids = device.tensor(b.ids, [8, 16], "i32");
    const targets = device.tensor(b.targets, [8, 16], "i32");
    const { loss, gradNorm } = trainer.step((dtype) =>
      affine(sum(softmaxCrossEntropy(cast(m.forward(ids, dtype), "f32"), targets)), 1 / b.counted),
    );
    losses.push(await loss.item());
    for (const t of [loss, gradNorm, ids, targets]) t?.dispose();
  }
  if (policy.lossScaling)
    assert.equal(await trainer.optimizer.stepsTaken(), STEPS, "no step overflowed");
  trainer.dispose();
  m.dispose();
  return losses;
}

function assertClose(a: number[], b: number[], what: string): number {
  let worst = 0;
  a.forEach((x, i) => {
    const d = Math.abs(x - b[i]);
    worst = Math.max(worst, d);
    assert.ok(d <= 0.02 + 0.02 * Math.abs(b[i]), `${what}: step ${i} losses ${x} vs ${b[i]}`);
  });
  return worst;
}

describe("mixed precision", () => {
  it("chooses f16 where the device has it and f32 elsewhere", { skip: !WEBGPU }, async () => {
    const full = await createDevice({ kind: "webgpu" });
    const noHalf = await createDevice({ kind: "webgpu", f16: false });
    const cpu = await createDevice({ kind: "cpu" });
    if (full.supportsF16) assert.equal(choosePrecision(full).compute, "f16");
    assert.equal(choosePrecision(full, "f32").compute, "f32");
    const p = choosePrecision(noHalf);
    assert.deepEqual([p.compute, p.master, p.lossScaling], ["f32", "f32", false]);
    assert.match(p.reason, /webgpu has no f16/);
    assert.equal(choosePrecision(cpu).compute, "f16", "the CPU emulates f16 by rounding");
    assert.throws(
      () => choosePrecision(cpu, "bf16" as "f16"),
      /prefer must be "f16" or "f32", got "bf16"/,
    );
  });

  it("f16 and f32 forward passes agree", async () => {
    for (const { name, device } of await trainingDevices()) {
      if (!device.supportsF16) continue;
      const m = model(device);
      const ids = device.tensor(
        repeatingPatternBatch(new Rng(7), 4, 16, 16, 4).ids,
        [4, 16],
        "i32",
      );
      const [a, b] = await Promise.all(
        (["f32", "f16"] as const).map((dt) =>
          noGrad(() => tidy(() => m.forward(ids, dt))).toArray(),
        ),
      );
      const e = scaledError(b, a);
      assert.ok(e < 1e-2, `${name}: f16 logits differ from f32 by ${e}`);
      assert.ok(e > 0, `${name}: the f16 pass really ran in f16`);
    }
  });

  it("f16 training matches f32 training step by step, and so does a device without f16", async (t) => {
    for (const { name, device } of await trainingDevices()) {
      if (!device.supportsF16) continue;
      const f32 = await trainLosses(device, choosePrecision(device, "f32"));
      const f16 = await trainLosses(device, choosePrecision(device, "f16"));
      const worst = assertClose(f16, f32, `${name} f16 vs f32`);
      assert.ok(
        f32[STEPS - 1] < f32[0] - 0.3,
        `${name}: training makes progress (${f32[0]} → ${f32[STEPS - 1]})`,
      );
      t.diagnostic(
        `${name}: largest f16−f32 loss difference over ${STEPS} steps ${worst.toExponential(2)}`,
      );
      if (WEBGPU && device.kind === "webgpu") {
        const noHalf = await createDevice({ kind: "webgpu", f16: false });
        const fallback = await trainLosses(noHalf, choosePrecision(noHalf));
        assertClose(fallback, f16, `${name} without f16 vs f16`);
        noHalf.destroy();
      }
    }
  });
});
