import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClose, checkOp, testDevices } from "../../testing/op-check.ts";
import { backward } from "../autograd.ts";
import { runOp, tidy } from "../engine.ts";
import {
  groupNorm,
  groupNormOp,
  layerNorm,
  layerNormOp,
  modulate,
  rmsNorm,
  rmsNormOp,
} from "./norm.ts";
import { sum } from "./reduce.ts";

describe("layer norm and RMS norm over the last axis", () => {
  it("layerNorm forward and gradients at 37×53, with and without gamma/beta", async () => {
    await checkOp(
      "layerNorm γβ",
      [{ shape: [37, 53] }, { shape: [53] }, { shape: [53] }],
      (x, g, b) => layerNorm(x, g, b),
    );
    await checkOp("layerNorm", [{ shape: [37, 53] }], (x) => layerNorm(x));
    await checkOp("layerNorm γ", [{ shape: [3, 5, 53] }, { shape: [53] }], (x, g) =>
      layerNorm(x, g),
    );
    await checkOp("layerNorm β", [{ shape: [37, 53] }, { shape: [53] }], (x, b) =>
      layerNorm(x, undefined, b),
    );
  });

  it("rmsNorm forward and gradients at 37×53, with and without gamma", async () => {
    await checkOp("rmsNorm γ", [{ shape: [37, 53] }, { shape: [53] }], (x, g) => rmsNorm(x, g));
    await checkOp("rmsNorm", [{ shape: [37, 53] }], (x) => rmsNorm(x));
  });

  it("saved statistics (mean, rstd) are f32 and match the reference, also from f16 input", async () => {
    // Offset rows: a large mean is where a naive one-pass variance would lose precision.
    const gen = (r: { normal(): number }, i: number) => 3 + (i % 7) * 0.5 + r.normal();
    await checkOp(
      "layernorm stats",
      [{ shape: [37, 53], gen }, { shape: [53] }, { shape: [53] }],
      (x, g, b) => runOp(layerNormOp, [x, g, b], { eps: 1e-5, hasGamma: true, hasBeta: true }),
      { grad: false },
    );
    await checkOp(
      "rmsnorm stats",
      [{ shape: [37, 53], gen }],
      (x) => runOp(rmsNormOp, [x], { eps: 1e-6, hasGamma: false, hasBeta: false }),
      { grad: false },
    );
    for (const td of await testDevices()) {
      const x = td.device.tensor([1, 2, 3, 4, 10, 10, 10, 14], [2, 4], td.float);
      const [y, mean, rstd] = runOp(layerNormOp, [x], { eps: 0, hasGamma: false, hasBeta: false });
      assert.equal(mean.dtype, "f32", `${td.name}: mean dtype`);
      assert.equal(rstd.dtype, "f32", `${td.name}: rstd dtype`);
      assert.equal(y.dtype, td.float, `${td.name}: y dtype`);
      assert.deepEqual(mean.shape, [2]);
      assertClose(await mean.toArray(), [2.5, 11], 1e-6, `${td.name} mean`);
      // Row 0: variance 1.25; row 1: values 10,10,10,14 have variance 3.
      assertClose(
        await rstd.toArray(),
        [1 / Math.sqrt(1.25), 1 / Math.sqrt(3)],
        1e-5,
        `${td.name} rstd`,
      );
      const s = Math.sqrt(1.25);
      const tol = td.float === "f16" ? 2e-3 : 1e-5;
      assertClose(
        await y.toArray(),
        [
          -1.5 / s,
          -0.5 / s,
          0.5 / s,
          1.5 / s,
          -1 / Math.sqrt(3),
          -1 / Math.sqrt(3),
          -1 / Math.sqrt(3),
          Math.sqrt(3),
        ],
        tol,
        `${td.name} y`,
      );
      const r = rmsNorm(td.device.tensor([3, 4], [1, 2], td.float), undefined, 0);
      assertClose(
        await r.toArray(),
        [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)],
        tol,
        `${td.name} rms`,
      );
      for (const t of [x, y, mean, rstd, r]) t.dispose();
    }
  });
});

describe("group norm", () => {
  it("groupNorm forward and gradients on [2, 6, 3, 5, 7] with 3 groups", async () => {
    await checkOp(
      "groupNorm γβ",
      [{ shape: [2, 6, 3, 5, 7] }, { shape: [6] }, { shape: [6] }],
      (x, g, b) => groupNorm(x, 3, g, b),
    );
    await checkOp("groupNorm", [{ shape: [2, 6, 3, 5, 7] }], (x) => groupNorm(x, 3));
    await checkOp("groupNorm [N, C]", [{ shape: [5, 12] }, { shape: [12] }], (x, g) =>
      groupNorm(x, 4, g),
    );
    await checkOp(
      "groupnorm stats",
      [{ shape: [2, 6, 3, 5, 7] }],
      (x) => runOp(groupNormOp, [x], { eps: 1e-5, groups: 3, hasGamma: false, hasBeta: false }),
      { grad: false },
    );
  });

  it("one group per channel normalises each channel's spatial values on its own", async () => {
    for (const td of await testDevices()) {
      // x [1, 2, 3]: channel 0 = 1, 2, 3; channel 1 = 5, 5, 8; gamma scales, beta shifts.
      const x = td.device.tensor([1, 2, 3, 5, 5, 8], [1, 2, 3], td.float);
      const g = td.device.tensor([2, 1], [2], td.float);
      const b = td.device.tensor([0, 1], [2], td.float);
      const y = groupNorm(x, 2, g, b, 0);
      const s0 = Math.sqrt(2 / 3);
      const s1 = Math.sqrt(2);
      const tol = td.float === "f16" ? 2e-3 : 1e-5;
      assertClose(
        await y.toArray(),
        [(2 * -1) / s0, 0, 2 / s0, 1 - 1 / s1, 1 - 1 / s1, 1 + 2 / s1],
        tol,
        `${td.name} groupNorm`,
      );
      for (const t of [x, g, b, y]) t.dispose();
    }
  });
});

describe("adaLN modulation", () => {
  it("modulate forward and gradients on x [3, 7, 53], shift/scale [3, 53]", async () => {
    await checkOp(
      "modulate",
      [{ shape: [3, 7, 53] }, { shape: [3, 53] }, { shape: [3, 53] }],
      (x, s, c) => modulate(x, s, c),
    );
    await checkOp(
      "modulate T=40",
      [{ shape: [2, 40, 19] }, { shape: [2, 19] }, { shape: [2, 19] }],
      (x, s, c) => modulate(x, s, c),
    );
  });

  it("computes x·(1 + scale) + shift broadcast over T", async () => {
    for (const td of await testDevices()) {
      const x = td.device.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], td.float);
      const shift = td.device.tensor([10, 20, 30, 40], [2, 2], td.float);
      const scale = td.device.tensor([1, -1, 0, 0.5], [2, 2], td.float);
      const y = modulate(x, shift, scale);
      assertClose(await y.toArray(), [12, 20, 16, 20, 35, 49, 37, 52], 1e-6, `${td.name} modulate`);
      for (const t of [x, shift, scale, y]) t.dispose();
    }
  });
});

describe("normalisation bad inputs", () => {
  it("names the problem and the shapes", async () => {
    const [{ device }] = await testDevices();
    const x = device.zeros([4, 6]);
    const g5 = device.zeros([5]);
    const i32 = device.zeros([4, 6], "i32");
    assert.throws(() => layerNorm(x, g5), /layernorm: gamma \[5\] does not match x \[4, 6\]/);
    assert.throws(() => rmsNorm(x, g5), /rmsnorm: gamma \[5\] does not match x \[4, 6\]/);
    assert.throws(() => layerNorm(x, undefined, undefined, -1), /layernorm: eps must be/);
    assert.throws(() => layerNorm(i32), /layernorm: x must be a float tensor, got i32 \[4, 6\]/);
    assert.throws(
      () => layerNorm(x, device.zeros([6], "f16")),
      /layernorm: dtypes differ: x f32 \[4, 6\] and gamma f16 \[6\]/,
    );
    assert.throws(
      () => groupNorm(x, 4),
      /groupnorm: 6 channels of x \[4, 6\] do not split into 4 groups/,
    );
    assert.throws(() => groupNorm(x, 0), /groupnorm: groups must be a positive integer/);
    assert.throws(
      () => groupNorm(device.zeros([6]), 2),
      /groupnorm: x must be \[N, C, \.\.\.spatial\]/,
    );
    assert.throws(
      () => groupNorm(x, 2, g5),
      /groupnorm: gamma \[5\] does not match x \[4, 6\] \(expected \[6\]\)/,
    );
    const x3 = device.zeros([2, 3, 6]);
    assert.throws(
      () => modulate(x3, device.zeros([2, 5]), device.zeros([2, 6])),
      /modulate: shift \[2, 5\] does not match x \[2, 3, 6\] \(expected \[2, 6\]\)/,
    );
    assert.throws(
      () => modulate(x3, device.zeros([2, 6]), device.zeros([3, 6])),
      /modulate: scale \[3, 6\] does not match x \[2, 3, 6\]/,
    );
    assert.throws(() => modulate(x, x, x), /modulate: x must be \[B, T, D\], got \[4, 6\]/);
    const xg = device.tensor([1, 2, 3, 4, 5, 7], [2, 3]);
    xg.requiresGrad = true;
    assert.throws(
      () =>
        tidy(() => {
          const [, mean] = runOp(layerNormOp, [xg], { eps: 1e-5, hasGamma: false, hasBeta: false });
          backward(sum(mean));
        }),
      /layernorm: the saved statistics \(mean, rstd\) are not differentiable/,
    );
  });
});
