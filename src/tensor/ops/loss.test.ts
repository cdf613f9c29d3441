import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allDevices, checkOp, referenceDevice, testDevices } from "../../testing/op-check.ts";
import { scale } from "./elementwise.ts";
import { l1Loss, mseLoss, softmaxCrossEntropy } from "./loss.ts";

describe("losses: hand-checked values on every device", () => {
  it("mse and l1, plain and weighted (weight broadcast over a row)", async () => {
    for (const td of await testDevices()) {
      const pred = td.device.tensor([1, 2, 3, 4], [2, 2], td.float);
      const target = td.device.tensor([0, 2, 5, 0], [2, 2], td.float);
      // Errors 1, 0, −2, 4.
      assert.equal(await mseLoss(pred, target).item(), 21 / 4, td.name);
      assert.equal(await l1Loss(pred, target).item(), 7 / 4, td.name);
      const rowWeight = td.device.tensor([1, 2], [2, 1], td.float);
      assert.equal(await mseLoss(pred, target, rowWeight).item(), (1 + 0 + 8 + 32) / 4, td.name);
      assert.equal(await l1Loss(pred, target, rowWeight).item(), (1 + 0 + 4 + 8) / 4, td.name);
      const full = td.device.tensor([1, 0, 0.5, 2], [2, 2], td.float);
      assert.equal(await mseLoss(pred, target, full).item(), (1 + 0 + 2 + 32) / 4, td.name);
    }
  });
});

// The losses are means, so their gradients are O(1/n); scaling by n keeps the comparison of
// gradients meaningful against checkOp's scale-aware tolerance.
describe("losses: forward and gradient against the f64 reference", () => {
  it("mseLoss at 37×53, plain and with a per-row weight", async () => {
    const n = 37 * 53;
    await checkOp("mseLoss", [{ shape: [37, 53] }, { shape: [37, 53] }], (p, t) =>
      scale(mseLoss(p, t), n),
    );
    await checkOp(
      "mseLoss weighted",
      [{ shape: [37, 53] }, { shape: [37, 53] }, { shape: [37, 1], gen: (r) => r.uniform(0, 2) }],
      (p, t, w) => scale(mseLoss(p, t, w), n),
    );
  });
  it("l1Loss at 3×7×11×5, plain and weighted", async () => {
    const n = 3 * 7 * 11 * 5;
    await checkOp("l1Loss", [{ shape: [3, 7, 11, 5] }, { shape: [3, 7, 11, 5] }], (p, t) =>
      scale(l1Loss(p, t), n),
    );
    await checkOp(
      "l1Loss weighted",
      [{ shape: [3, 7, 11, 5] }, { shape: [3, 7, 11, 5] }, { shape: [3, 1, 1, 5] }],
      (p, t, w) => scale(l1Loss(p, t, w), n),
    );
  });
});

describe("losses: bad inputs", () => {
  it("names both shapes on a mismatch, and checks dtypes and weights", async () => {
    const [{ device }] = await testDevices();
    const p = device.zeros([4, 3]);
    assert.throws(
      () => mseLoss(p, device.zeros([3, 4])),
      /mseLoss: pred \[4, 3\] and target \[3, 4\] have different shapes/,
    );
    assert.throws(
      () => l1Loss(p, device.zeros([4, 1])),
      /l1Loss: pred \[4, 3\] and target \[4, 1\] have different shapes/,
    );
    assert.throws(
      () => mseLoss(device.zeros([4, 3], "i32"), device.zeros([4, 3], "i32")),
      /mseLoss: needs float tensors, got i32 \[4, 3\]/,
    );
    assert.throws(
      () => mseLoss(p, device.zeros([4, 3], "f16")),
      /mseLoss: dtypes differ: pred f32 \[4, 3\] and target f16 \[4, 3\]/,
    );
    assert.throws(
      () => l1Loss(p, device.zeros([4, 3]), device.zeros([2, 3])),
      /l1Loss: weight \[2, 3\] does not broadcast to pred \[4, 3\]/,
    );
    assert.throws(
      () => mseLoss(p, device.zeros([4, 3]), device.zeros([2, 4, 3])),
      /mseLoss: weight \[2, 4, 3\] does not broadcast to pred \[4, 3\]/,
    );
  });
});

describe("softmax cross-entropy", () => {
  it("forward and gradient at [37, 53] and [3, 7, 29] against the f64 reference", async () => {
    await checkOp(
      "softmax_xent",
      [
        { shape: [37, 53], gen: (r) => r.normal() * 3 },
        { shape: [37], dtype: "i32", high: 53 },
      ],
      (x, t) => softmaxCrossEntropy(x, t),
    );
    await checkOp(
      "softmax_xent 3d",
      [{ shape: [3, 7, 29] }, { shape: [3, 7], dtype: "i32", high: 29 }],
      (x, t) => softmaxCrossEntropy(x, t),
    );
  });

  it("matches hand-computed values, ignores negative targets, gives NaN beyond the classes", async () => {
    for (const { name, device } of await allDevices()) {
      const logits = device.tensor([0, Math.log(3), 1, 2, 5, 5, 5, 5, 0, 0, 0, 0], [3, 4]);
      logits.requiresGrad = true;
      const targets = device.tensor([1, -1, 7], [3], "i32");
      const loss = softmaxCrossEntropy(logits, targets);
      const got = await loss.toArray();
      // Row 0: softmax denominator 1 + 3 + e + e², target 1 has numerator 3.
      const denom = 1 + 3 + Math.E + Math.E ** 2;
      assert.ok(Math.abs(got[0] - Math.log(denom / 3)) < 1e-5, `${name}: row 0 loss ${got[0]}`);
      assert.equal(got[1], 0, `${name}: an ignored row has loss 0`);
      assert.ok(Number.isNaN(got[2]), `${name}: an out-of-range target gives NaN`);
      const { backward } = await import("../autograd.ts");
      const { sum } = await import("./reduce.ts");
      const { mul } = await import("./elementwise.ts");
      backward(sum(mul(loss, device.tensor([1, 1, 0], [3]))));
      const g = await logits.grad!.toArray();
      const want = [1 / denom, 3 / denom - 1, Math.E / denom, Math.E ** 2 / denom];
      for (let j = 0; j < 4; j++) assert.ok(Math.abs(g[j] - want[j]) < 1e-5, `${name}: grad ${j}`);
      for (let j = 4; j < 8; j++) assert.equal(g[j], 0, `${name}: ignored row has zero gradient`);
    }
  });

  it("rejects bad operands with the op and both shapes", async () => {
    const device = await referenceDevice();
    const x = device.zeros([4, 5]);
    assert.throws(
      () => softmaxCrossEntropy(x, device.zeros([3], "i32")),
      /softmax_xent: targets \[3\] must match logits \[4, 5\]/,
    );
    assert.throws(
      () => softmaxCrossEntropy(x, device.zeros([4])),
      /softmax_xent: targets must be i32, got f32 \[4\]/,
    );
  });
});
