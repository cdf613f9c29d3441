import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice, type Device } from "../devices.ts";
import { Linear } from "../nn/linear.ts";
import { backward } from "../tensor/autograd.ts";
import { tidy } from "../tensor/engine.ts";
import { mul, square, sub } from "../tensor/ops/elementwise.ts";
import { mean, sum } from "../tensor/ops/reduce.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { scaledError } from "../testing/op-check.ts";
import { Rng } from "../util/rng.ts";
import { clipGradNorm, globalGradNorm } from "./clip.ts";
import { AdamW } from "./optimizer.ts";
import { trainingDevices } from "./test-devices.ts";

function param(device: Device, values: ArrayLike<number>, shape: number[]): Tensor {
  const t = device.tensor(values, shape);
  t.requiresGrad = true;
  return t;
}

function normals(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

/** Sets p.grad = c for each parameter by backpropagating Σ p·c. */
function setGrads(device: Device, params: Tensor[], cs: number[][]): void {
  tidy(() => {
    params.forEach((p, i) => {
      backward(sum(mul(p, device.tensor(cs[i], p.shape))));
    });
  });
}

describe("AdamW", () => {
  it("matches a float64 AdamW over 4 steps, with weight decay only where asked", async () => {
    const h = { lr: 0.02, beta1: 0.8, beta2: 0.9, eps: 1e-7, wd: 0.3 };
    for (const { name, device } of await trainingDevices()) {
      const rng = new Rng(4);
      const w0 = normals(rng, 35);
      const b0 = normals(rng, 5);
      const w = param(device, w0, [5, 7]);
      const b = param(device, b0, [5]);
      const opt = new AdamW([w, b], {
        lr: h.lr,
        betas: [h.beta1, h.beta2],
        eps: h.eps,
        weightDecay: h.wd,
        decays: (p) => p.rank >= 2,
      });
      const host = [w0.slice(), b0.slice()];
      const m = [new Array(35).fill(0), new Array(5).fill(0)];
      const v = [new Array(35).fill(0), new Array(5).fill(0)];
      for (let t = 1; t <= 4; t++) {
        const cs = [normals(rng, 35), normals(rng, 5)];
        setGrads(device, [w, b], cs);
        opt.step();
        opt.zeroGrad();
        for (let k = 0; k < 2; k++) {
          const wd = k === 0 ? h.wd : 0;
          for (let i = 0; i < host[k].length; i++) {
            m[k][i] = h.beta1 * m[k][i] + (1 - h.beta1) * cs[k][i];
            v[k][i] = h.beta2 * v[k][i] + (1 - h.beta2) * cs[k][i] ** 2;
            const mh = m[k][i] / (1 - h.beta1 ** t);
            const vh = v[k][i] / (1 - h.beta2 ** t);
            host[k][i] = host[k][i] * (1 - h.lr * wd) - (h.lr * mh) / (Math.sqrt(vh) + h.eps);
          }
        }
      }
      assert.ok(scaledError(await w.toArray(), host[0]) < 1e-5, `${name}: weight`);
      assert.ok(scaledError(await b.toArray(), host[1]) < 1e-5, `${name}: bias (no decay)`);
      assert.equal(await opt.stepsTaken(), 4);
      assert.equal(w.grad, null, "zeroGrad drops gradients");
      opt.dispose();
    }
  });

  it("leaves parameters without a gradient alone and skips a step the control tensor marks", async () => {
    for (const { name, device } of await trainingDevices()) {
      const a = param(device, [1, 2, 3], [3]);
      const b = param(device, [4, 5], [2]);
      const opt = new AdamW([a, b], { lr: 0.1 });
      setGrads(device, [a], [[1, 1, 1]]);
      opt.step({ control: device.tensor([1, 1, 0, 0], [4]) });
      assert.deepEqual([...(await a.toArray())], [1, 2, 3], `${name}: skipped step`);
      assert.equal(await opt.stepsTaken(), 0);
      opt.step();
      const after = await a.toArray();
      assert.ok(
        after.every((x, i) => x < [1, 2, 3][i]),
        `${name}: a moved against its gradient`,
      );
      assert.deepEqual([...(await b.toArray())], [4, 5], `${name}: b has no gradient`);
      assert.equal(await opt.stepsTaken(), 1);
    }
  });

  it("clipping fused into the update equals clipGradNorm followed by a plain step", async () => {
    for (const { name, device } of await trainingDevices()) {
      const rng = new Rng(8);
      const w0 = normals(rng, 24);
      const cs = [normals(rng, 24).map((x) => x * 5)];
      const results: ArrayLike<number>[] = [];
      for (const fused of [false, true]) {
        const w = param(device, w0, [4, 6]);
        const opt = new AdamW([w], { lr: 0.1 });
        setGrads(device, [w], cs);
        if (fused) opt.step({ clip: { norm: globalGradNorm([w]), maxNorm: 1 } });
        else {
          clipGradNorm([w], 1);
          opt.step();
        }
        results.push(await w.toArray());
      }
      assert.ok(scaledError(results[1], results[0]) < 1e-6, `${name}: fused vs separate clip`);
      assert.ok(scaledError(results[1], w0) > 1e-3, `${name}: the step moved the weights`);
    }
  });

  it("fits a linear regression (the loss falls 100-fold in 150 steps)", async () => {
    const device = await createDevice({ kind: "cpu" });
    const rng = new Rng(9);
    const layer = new Linear(device, rng, 6, 3);
    const trueW = device.randn([6, 3], rng);
    const x = device.randn([64, 6], rng);
    const { matmul } = await import("../tensor/ops/matmul.ts");
    const y = matmul(x, trueW);
    const opt = new AdamW(layer.parameters(), { lr: 0.05, weightDecay: 0 });
    const lossAt = () =>
      tidy(() => {
        const l = mean(square(sub(layer.forward(x), y)));
        backward(l);
        return l;
      });
    const first = await lossAt().item();
    let last = first;
    for (let s = 0; s < 150; s++) {
      opt.zeroGrad();
      const l = lossAt();
      opt.step();
      last = await l.item();
      l.dispose();
    }
    assert.ok(last < first / 100, `loss ${first} → ${last}`);
  });

  it("rejects parameters it cannot train", async () => {
    const device = await createDevice({ kind: "cpu" });
    const p = param(device, [1], [1]);
    assert.throws(() => new AdamW([]), /AdamW: needs a non-empty list of parameters/);
    assert.throws(
      () => new AdamW([device.zeros([2])]),
      /AdamW: parameter Tensor#\d+ f32\[2\] on cpu does not require grad/,
    );
    assert.throws(() => new AdamW([p, p]), /AdamW: parameter .* is listed twice/);
    const half = device.zeros([2], "f16");
    half.requiresGrad = true;
    assert.throws(() => new AdamW([half]), /must be f32 \(master weights\), got f16/);
    assert.throws(
      () => new AdamW([p], { betas: [0.9, 1] }),
      /AdamW: beta2 must be in \[0, 1\), got 1/,
    );
    assert.throws(
      () => new AdamW([p], { lr: -1 }),
      /AdamW: lr must be a finite number ≥ 0, got -1/,
    );
  });
});
