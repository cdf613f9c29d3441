import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { simplifyPermutation } from "../../gpu/kernels/shape.ts";
import { allDevices, checkOp, testDevices } from "../../testing/op-check.ts";
import type { DType } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import {
  assign,
  concat,
  copy,
  pad,
  permute,
  slice,
  sliceAxis,
  split,
  stack,
  transpose,
} from "./shape.ts";

const arange = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Runs `fn` on every test device (and in i32) and compares with exact expected values. */
async function expectOnEveryDevice(
  name: string,
  data: number[],
  shape: number[],
  fn: (x: Tensor) => Tensor,
  wantShape: number[],
  want: number[],
): Promise<void> {
  for (const td of await testDevices()) {
    for (const dtype of [td.float, "i32"] as DType[]) {
      const x = td.device.tensor(data, shape, dtype);
      const y = fn(x);
      assert.deepEqual([...y.shape], wantShape, `${name} on ${td.name} ${dtype}: shape`);
      assert.deepEqual([...(await y.toArray())], want, `${name} on ${td.name} ${dtype}: values`);
    }
  }
}

describe("hand-checked shape ops on every device, float and i32", () => {
  it("permute of a 2×3×4 arange", async () => {
    // out[k][i][j] = x[i][j][k] = 12i + 4j + k
    await expectOnEveryDevice(
      "permute [2,0,1]",
      arange(24),
      [2, 3, 4],
      (x) => permute(x, [2, 0, 1]),
      [4, 2, 3],
      [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23],
    );
    // out[i][k][j] = 12i + 4j + k (keeps the first axis, swaps the last two)
    await expectOnEveryDevice(
      "permute [0,2,1]",
      arange(24),
      [2, 3, 4],
      (x) => permute(x, [0, -1, 1]),
      [2, 4, 3],
      [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23],
    );
    // out[j][i][k] = 12i + 4j + k (keeps the last axis)
    await expectOnEveryDevice(
      "transpose 0,1",
      arange(24),
      [2, 3, 4],
      (x) => transpose(x, 0, 1),
      [3, 2, 4],
      [0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23],
    );
  });

  it("concat, slice with negative and clamped bounds, pad, split, stack", async () => {
    await expectOnEveryDevice(
      "concat axis 1",
      arange(6),
      [2, 3],
      (x) => concat([x, slice(x, [0, 1], [2, 2]), x], 1),
      [2, 7],
      [0, 1, 2, 1, 0, 1, 2, 3, 4, 5, 4, 3, 4, 5],
    );
    await expectOnEveryDevice(
      "slice negative",
      arange(12),
      [3, 4],
      (x) => slice(x, [-2, 1], [100, -1]),
      [2, 2],
      [5, 6, 9, 10],
    );
    await expectOnEveryDevice(
      "slice empty",
      arange(12),
      [3, 4],
      (x) => slice(x, [2, 0], [1, 4]),
      [0, 4],
      [],
    );
    await expectOnEveryDevice(
      "pad",
      arange(4),
      [2, 2],
      (x) => pad(x, [1, 0], [0, 2], 7),
      [3, 4],
      [7, 7, 7, 7, 0, 1, 7, 7, 2, 3, 7, 7],
    );
    await expectOnEveryDevice(
      "split middle piece",
      arange(10),
      [2, 5],
      (x) => split(x, [1, 3, 1], -1)[1],
      [2, 3],
      [1, 2, 3, 6, 7, 8],
    );
    await expectOnEveryDevice(
      "stack axis 1",
      arange(4),
      [2, 2],
      (x) => stack([x, transpose(x, 0, 1)], 1),
      [2, 2, 2],
      [0, 1, 0, 2, 2, 3, 1, 3],
    );
    await expectOnEveryDevice(
      "stack of copies",
      arange(4),
      [2, 2],
      (x) => stack([x, copy(x), x], -1),
      [2, 2, 3],
      [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
    );
  });
});

describe("shape ops: forward and gradient at odd shapes against the f64 reference", () => {
  it("permute: tiled (innermost axis moves) and strided paths", async () => {
    for (const perm of [
      [3, 1, 0, 2],
      [0, 2, 1, 3],
      [2, 3, 0, 1],
      [1, 0, 3, 2],
      [0, 1, 3, 2],
    ]) {
      await checkOp(`permute ${perm}`, [{ shape: [3, 7, 11, 5] }], (x) => permute(x, perm));
    }
    await checkOp("transpose 37×53", [{ shape: [37, 53] }], (x) => transpose(x, 0, 1));
    await checkOp("permute with unit axes", [{ shape: [1, 37, 1, 33] }], (x) =>
      permute(x, [3, 2, 0, 1]),
    );
  });

  it("concat of 1, 3 and 10 inputs along different axes", async () => {
    await checkOp(
      "concat axis 1",
      [{ shape: [3, 7, 5] }, { shape: [3, 2, 5] }, { shape: [3, 11, 5] }],
      (a, b, c) => concat([a, b, c], 1),
    );
    await checkOp("concat axis 0", [{ shape: [37, 53] }, { shape: [4, 53] }], (a, b) =>
      concat([a, b], 0),
    );
    const ten = Array.from({ length: 10 }, (_, i) => ({ shape: [5, i + 1] }));
    await checkOp("concat 10 inputs on the last axis", ten, (...xs) => concat(xs, -1), {
      fdSamples: 4,
    });
    await checkOp("concat one input", [{ shape: [7, 3] }], (a) => concat([a], 0));
  });

  it("slice, sliceAxis and split", async () => {
    await checkOp("slice 37×53", [{ shape: [37, 53] }], (x) => slice(x, [3, -40], [-1, 50]));
    await checkOp("slice 3×7×11×5", [{ shape: [3, 7, 11, 5] }], (x) =>
      slice(x, [1, 0, 2, -3], [3, 5, 11, 5]),
    );
    await checkOp("sliceAxis", [{ shape: [3, 7, 11, 5] }], (x) => sliceAxis(x, 2, 4, 9));
    await checkOp("split", [{ shape: [7, 37] }], (x) => split(x, [10, 0, 20, 7], 1));
  });

  it("pad, copy, stack", async () => {
    await checkOp("pad 37×53", [{ shape: [37, 53] }], (x) => pad(x, [2, 0], [1, 5], -1.5));
    await checkOp("pad 3×7×11×5", [{ shape: [3, 7, 11, 5] }], (x) =>
      pad(x, [0, 1, 2, 3], [1, 0, 3, 0]),
    );
    await checkOp("copy", [{ shape: [37, 53] }], (x) => copy(x));
    await checkOp("stack", [{ shape: [7, 11] }, { shape: [7, 11] }], (a, b) => stack([a, b], 1));
  });

  it("gradients of chained slices, pads and permutes", async () => {
    await checkOp("slice∘permute∘pad", [{ shape: [5, 7, 9] }], (x) =>
      slice(permute(pad(x, [1, 0, 2], [0, 3, 1]), [2, 0, 1]), [1, 0, 1], [-1, 6, 9]),
    );
  });
});

describe("shape ops: bad inputs name the op and the shapes", () => {
  it("rejects bad permutations, ranges, shapes and dtypes", async () => {
    const [{ device }] = await testDevices();
    const x = device.zeros([2, 3, 4]);
    assert.throws(() => permute(x, [0, 1]), /permute: \[0, 1\] is not a permutation .*\[2, 3, 4\]/);
    assert.throws(() => permute(x, [0, 1, 1]), /permute: \[0, 1, 1\] is not a permutation/);
    assert.throws(() => transpose(x, 0, 3), /transpose: axis 3 is out of range for rank 3/);
    assert.throws(
      () => concat([x, device.zeros([2, 5, 5])], 1),
      /concat: shapes \[2, 3, 4\] and \[2, 5, 5\] differ outside axis 1/,
    );
    assert.throws(
      () => concat([x, device.zeros([2, 3, 4], "i32")], 0),
      /concat: dtypes differ: f32 \[2, 3, 4\] and i32 \[2, 3, 4\]/,
    );
    assert.throws(() => concat([], 0), /concat: needs at least one tensor/);
    assert.throws(() => slice(x, [0, 0], [1, 1]), /slice: starts and ends must have one entry/);
    assert.throws(() => slice(x, [0, 0.5, 0], [1, 1, 1]), /slice: bounds must be integers/);
    assert.throws(() => pad(x, [0, -1, 0], [0, 0, 0]), /pad: padding must be non-negative/);
    assert.throws(() => pad(x, [0, 0], [0, 0]), /pad: before and after must have one entry/);
    assert.throws(
      () => pad(device.zeros([2], "i32"), [1], [1], 0.5),
      /pad: an i32 tensor cannot be padded with 0.5/,
    );
    assert.throws(
      () => split(x, [1, 1], 1),
      /split: sizes \[1, 1\] do not add up to dim 1 \(3\) of \[2, 3, 4\]/,
    );
    assert.throws(
      () => stack([x, device.zeros([2, 4, 3])], 0),
      /stack: shapes \[2, 3, 4\] and \[2, 4, 3\] differ/,
    );
    assert.throws(() => stack([x], 4), /stack: axis 4 is out of range for rank 4/);
  });
});

describe("permutation simplification used by the WGSL permute", () => {
  it("drops unit axes and merges axes that stay adjacent", () => {
    assert.deepEqual(simplifyPermutation([2, 3, 4], [2, 0, 1]), { shape: [6, 4], perm: [1, 0] });
    assert.deepEqual(simplifyPermutation([2, 3, 4, 5], [0, 2, 1, 3]), {
      shape: [2, 3, 4, 5],
      perm: [0, 2, 1, 3],
    });
    assert.deepEqual(simplifyPermutation([1, 37, 1, 33], [3, 2, 0, 1]), {
      shape: [37, 33],
      perm: [1, 0],
    });
    assert.deepEqual(simplifyPermutation([2, 3, 4], [0, 1, 2]), { shape: [24], perm: [0] });
    assert.deepEqual(simplifyPermutation([1, 1], [1, 0]), { shape: [], perm: [] });
  });
});

describe("assign", () => {
  it("assign copies (and converts) into an existing tensor", async () => {
    for (const { name, device } of await allDevices()) {
      const dst = device.zeros([2, 3]);
      assign(dst, device.tensor([1, 2, 3, 4, 5, 6], [2, 3]));
      assert.deepEqual([...(await dst.toArray())], [1, 2, 3, 4, 5, 6], name);
      if (device.supportsF16) {
        const half = device.zeros([3], "f16");
        assign(half, device.tensor([0.1, 1, 65504], [3]));
        const got = await half.toArray();
        assert.ok(Math.abs(got[0] - 0.1) < 1e-4 && got[2] === 65504, `${name}: f32 → f16`);
      }
      const ints = device.zeros([2], "i32");
      assign(ints, device.tensor([7, -3], [2], "i32"));
      assert.deepEqual([...(await ints.toArray())], [7, -3], `${name}: i32`);
      assert.throws(
        () => assign(ints, device.zeros([2])),
        /assign: cannot copy f32 \[2\] into i32/,
      );
    }
  });
});
