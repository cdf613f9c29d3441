import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allDevices, referenceDevice, scaledError } from "../../testing/op-check.ts";
import { Rng } from "../../util/rng.ts";
import { noGrad } from "../engine.ts";
import {
  adamwUpdate,
  CTRL_SIZE,
  emaUpdate,
  GRAD_STAT_PARTS,
  gradClip,
  gradNorm,
  gradStats,
  lossScaleUpdate,
  stepCount,
} from "./optim.ts";

function randomArray(rng: Rng, n: number, std = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
  return a;
}

/** AdamW in float64 on the host, the reference for the fused kernel. */
function hostAdamW(
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  t: number,
  h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
  invScale: number,
): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * invScale;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * gi;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * gi * gi;
    const mh = m[i] / (1 - h.beta1 ** t);
    const vh = v[i] / (1 - h.beta2 ** t);
    p[i] = p[i] * (1 - h.lr * h.weightDecay) - (h.lr * mh) / (Math.sqrt(vh) + h.eps);
  }
}

describe("fused AdamW", () => {
  it("matches a float64 host AdamW over 5 steps, unscales grads and honours the skip flag", async () => {
    const h = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const n = 37 * 53;
    for (const { name, device } of await allDevices()) {
      const rng = new Rng(7);
      const p0 = randomArray(rng, n);
      const hp = p0.slice();
      const hm = new Float64Array(n);
      const hv = new Float64Array(n);
      const param = device.tensor(p0, [37, 53]);
      const m = device.zeros([37, 53]);
      const v = device.zeros([37, 53]);
      const count = device.zeros([1]);
      let t = 0;
      for (let step = 0; step < 5; step++) {
        // Gradients carry a loss scale of 4; step 2 is marked as overflowed and must be skipped.
        const skip = step === 2;
        const g = randomArray(rng, n, 4);
        const ctrl = device.tensor([0.25, skip ? 1 : 0, 0, 0], [CTRL_SIZE]);
        const grad = device.tensor(g, [37, 53]);
        noGrad(() => {
          stepCount(count, ctrl);
          adamwUpdate(param, grad, m, v, ctrl, count, h);
        });
        if (!skip) hostAdamW(hp, g, hm, hv, ++t, h, 0.25);
        grad.dispose();
        ctrl.dispose();
      }
      assert.equal(await count.item(), 4, `${name}: skipped step not counted`);
      const e = scaledError(await param.toArray(), hp);
      assert.ok(e < 2e-6, `${name}: AdamW params differ from host by ${e}`);
      assert.ok(scaledError(await m.toArray(), hm) < 2e-6, `${name}: first moment`);
      assert.ok(scaledError(await v.toArray(), hv) < 2e-6, `${name}: second moment`);
    }
  });

  it("clips inside the update when given the global norm", async () => {
    const h = { lr: 0.05, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 };
    for (const { name, device } of await allDevices()) {
      const rng = new Rng(12);
      const p0 = randomArray(rng, 53);
      const g = randomArray(rng, 53, 3);
      for (const normValue of [40, 0.5]) {
        const param = device.tensor(p0, [53]);
        const m = device.zeros([53]);
        const v = device.zeros([53]);
        const count = device.tensor([1], [1]);
        const ctrl = device.tensor([0.5, 0], [2]);
        const norm = device.tensor([normValue], [1]);
        adamwUpdate(param, device.tensor(g, [53]), m, v, ctrl, count, { ...h, clipNorm: 2 }, norm);
        const factor = Math.min(1, 2 / (normValue + 1e-6));
        const hp = p0.slice();
        hostAdamW(hp, g, new Float64Array(53), new Float64Array(53), 1, h, 0.5 * factor);
        const e = scaledError(await param.toArray(), hp);
        assert.ok(e < 2e-6, `${name} norm ${normValue}: fused clip off by ${e}`);
        assert.ok(
          scaledError(
            await m.toArray(),
            g.map((x) => 0.1 * x * 0.5 * factor),
          ) < 1e-6,
        );
      }
    }
  });

  it("reads f16 gradients on devices with f16", async () => {
    const h = { lr: 0.05, beta1: 0.8, beta2: 0.9, eps: 1e-6, weightDecay: 0 };
    for (const { name, device } of await allDevices()) {
      if (!device.supportsF16) continue;
      const rng = new Rng(3);
      const p0 = randomArray(rng, 41);
      const g = randomArray(rng, 41).map((x) => Math.round(x * 64) / 64);
      const param = device.tensor(p0, [41]);
      const m = device.zeros([41]);
      const v = device.zeros([41]);
      const count = device.tensor([1], [1]);
      const ctrl = device.tensor([1, 0], [2]);
      adamwUpdate(param, device.tensor(g, [41], "f16"), m, v, ctrl, count, h);
      const hp = p0.slice();
      hostAdamW(hp, g, new Float64Array(41), new Float64Array(41), 1, h, 1);
      assert.ok(scaledError(await param.toArray(), hp) < 2e-6, `${name}: f16 grads`);
    }
  });

  it("rejects mismatched shapes, non-f32 moments and bad hyper-parameters", async () => {
    const d = await referenceDevice();
    const p = d.zeros([3, 4]);
    const ctrl = d.tensor([1, 0], [2]);
    const c = d.zeros([1]);
    const h = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 };
    assert.throws(
      () => adamwUpdate(p, d.zeros([4, 3]), d.zeros([3, 4]), d.zeros([3, 4]), ctrl, c, h),
      /adamw: grad \[4, 3\] does not match param \[3, 4\]/,
    );
    assert.throws(
      () => adamwUpdate(p, d.zeros([3, 4]), d.zeros([3, 4], "f16"), d.zeros([3, 4]), ctrl, c, h),
      /adamw: first moment must be f32, got f16 \[3, 4\]/,
    );
    assert.throws(
      () =>
        adamwUpdate(p, d.zeros([3, 4]), d.zeros([3, 4]), d.zeros([3, 4]), ctrl, c, {
          ...h,
          beta2: 1,
        }),
      /adamw: beta2 must be in \[0, 1\), got 1/,
    );
    assert.throws(
      () => adamwUpdate(p, p, d.zeros([3, 4]), d.zeros([3, 4]), ctrl, c, h),
      /adamw: .* is both read and written/,
    );
  });
});

describe("gradient statistics, norm and clipping", () => {
  it("global norm over several gradients, scaled by 1/loss-scale, and clipping to maxNorm", async () => {
    for (const { name, device } of await allDevices()) {
      const rng = new Rng(11);
      const shapes = [[37, 53], [5], [3, 7, 11]];
      const host = shapes.map((s) =>
        randomArray(
          rng,
          s.reduce((a, b) => a * b, 1),
        ),
      );
      const grads = host.map((h, i) => device.tensor(h, shapes[i]));
      let sq = 0;
      for (const h of host) for (const x of h) sq += x * x;
      const partials = device.empty([grads.length * GRAD_STAT_PARTS]);
      grads.forEach((g, slot) => {
        gradStats(partials, g, { slot, parts: GRAD_STAT_PARTS, mode: "sumsq" });
      });
      const ctrl = device.tensor([0.5, 0], [2]);
      const norm = gradNorm(partials, ctrl);
      assert.deepEqual(norm.shape, []);
      const want = Math.sqrt(sq) * 0.5;
      const got = await norm.item();
      assert.ok(Math.abs(got - want) / want < 1e-5, `${name}: norm ${got} vs ${want}`);
      const maxNorm = want / 4;
      for (const g of grads) gradClip(g, norm, maxNorm, 1e-6);
      const factor = maxNorm / (want + 1e-6);
      for (let i = 0; i < grads.length; i++) {
        const e = scaledError(
          await grads[i].toArray(),
          host[i].map((x) => x * factor),
        );
        assert.ok(e < 1e-6, `${name}: clipped grad ${i} off by ${e}`);
      }
      // A norm already below maxNorm leaves gradients unchanged.
      const before = await grads[0].toArray();
      gradClip(grads[0], norm, want * 10, 1e-6);
      assert.deepEqual(await grads[0].toArray(), before, `${name}: no clip below maxNorm`);
    }
  });

  it("counts non-finite elements, f16 included", async () => {
    for (const { name, device } of await allDevices()) {
      for (const dtype of device.supportsF16 ? (["f32", "f16"] as const) : (["f32"] as const)) {
        const values = new Float32Array(1000).fill(0.5);
        values[17] = Number.NaN;
        values[999] = Number.POSITIVE_INFINITY;
        values[500] = Number.NEGATIVE_INFINITY;
        const g = device.tensor(values, [1000], dtype);
        const partials = device.empty([2 * GRAD_STAT_PARTS]);
        gradStats(partials, device.tensor([1, 2, 3], [3]), {
          slot: 0,
          parts: GRAD_STAT_PARTS,
          mode: "nonfinite",
        });
        gradStats(partials, g, { slot: 1, parts: GRAD_STAT_PARTS, mode: "nonfinite" });
        const p = Array.from(await partials.toArray());
        const first = p.slice(0, GRAD_STAT_PARTS).reduce((a, b) => a + b, 0);
        const second = p.slice(GRAD_STAT_PARTS).reduce((a, b) => a + b, 0);
        assert.equal(first, 0, `${name} ${dtype}: finite gradient`);
        assert.equal(second, 3, `${name} ${dtype}: three non-finite elements`);
      }
    }
  });
});

describe("loss-scale state machine", () => {
  it("skips and halves on overflow, grows after the interval, respects bounds", async () => {
    const attrs = {
      growthFactor: 2,
      backoffFactor: 0.5,
      growthInterval: 3,
      minScale: 1,
      maxScale: 64,
    };
    for (const { name, device } of await allDevices()) {
      const scale = device.tensor([16], [1]);
      const ctrl = device.tensor([1, 0, 0, 0], [4]);
      const clean = device.zeros([GRAD_STAT_PARTS]);
      const bad = device.tensor(
        Array.from({ length: GRAD_STAT_PARTS }, (_, i) => (i === 5 ? 2 : 0)),
        [GRAD_STAT_PARTS],
      );
      const seq = [clean, bad, clean, clean, clean, clean, clean, clean, bad, bad, bad, bad, bad];
      let s = 16;
      let good = 0;
      for (const [k, partials] of seq.entries()) {
        lossScaleUpdate(scale, ctrl, partials, attrs);
        const found = partials === bad;
        const c = await ctrl.toArray();
        assert.equal(c[0], 1 / s, `${name} step ${k}: invScale`);
        assert.equal(c[1], found ? 1 : 0, `${name} step ${k}: skip flag`);
        if (found) {
          s = Math.max(1, s / 2);
          good = 0;
        } else if (++good >= 3) {
          s = Math.min(64, s * 2);
          good = 0;
        }
        assert.equal(await scale.item(), s, `${name} step ${k}: scale`);
        assert.equal(c[2], good, `${name} step ${k}: good steps`);
      }
      assert.equal(s, 1, "the sequence ends clamped at minScale");
    }
  });

  it("with sums of squares, a non-finite sum is an overflow", async () => {
    const attrs = {
      growthFactor: 2,
      backoffFactor: 0.5,
      growthInterval: 100,
      minScale: 1,
      maxScale: 64,
      stats: "sumsq" as const,
    };
    for (const { name, device } of await allDevices()) {
      const scale = device.tensor([8], [1]);
      const ctrl = device.tensor([1, 0, 0, 0], [4]);
      for (const [bad, want] of [
        [3e5, false],
        [Number.POSITIVE_INFINITY, true],
        [Number.NaN, true],
        [0, false],
      ] as const) {
        const partials = device.tensor([1, 2, bad, 4], [4]);
        lossScaleUpdate(scale, ctrl, partials, attrs);
        assert.equal((await ctrl.toArray())[1], want ? 1 : 0, `${name}: ${bad}`);
      }
      assert.equal(await scale.item(), 2, `${name}: halved twice`);
    }
  });
});

describe("EMA", () => {
  it("ema = decay·ema + (1−decay)·param over a few steps", async () => {
    for (const { name, device } of await allDevices()) {
      const rng = new Rng(5);
      const e0 = randomArray(rng, 77);
      const ema = device.tensor(e0, [7, 11]);
      const want = e0.slice();
      for (let k = 0; k < 3; k++) {
        const p = randomArray(rng, 77);
        emaUpdate(ema, device.tensor(p, [7, 11]), 0.9);
        for (let i = 0; i < 77; i++) want[i] = 0.9 * want[i] + 0.1 * p[i];
      }
      assert.ok(scaledError(await ema.toArray(), want) < 1e-6, `${name}: ema`);
      assert.throws(
        () => emaUpdate(ema, device.zeros([11, 7]), 0.9),
        /ema_update: param \[11, 7\] does not match ema \[7, 11\]/,
      );
    }
  });
});
