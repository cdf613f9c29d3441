import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClose, checkOp, testDevices } from "../../testing/op-check.ts";
import { backward } from "../autograd.ts";
import { tidy } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import {
  causalConv3d,
  conv3d,
  conv3dBackwardInput,
  conv3dBackwardWeight,
  type Padding3,
  upsampleNearest,
} from "./conv.ts";
import { mul } from "./elementwise.ts";
import { sum } from "./reduce.ts";

// The odd sizes of the brief: N=2, Cin=3, Cout=5, T=5, H=7, W=6, 3×3×3 kernels.
const X = [2, 3, 5, 7, 6];
const W3 = [5, 3, 3, 3, 3];
const SAME: Padding3 = [
  [1, 1],
  [1, 1],
  [1, 1],
];
const ODD_PAD: Padding3 = [
  [1, 0],
  [0, 2],
  [1, 1],
];

describe("conv3d against the f64 reference on every device", () => {
  it("stride 1, padding 1, with bias", async () => {
    await checkOp("conv3d stride 1", [{ shape: X }, { shape: W3 }, { shape: [5] }], (x, w, b) =>
      conv3d(x, w, b, { padding: SAME }),
    );
  });

  it("stride 2 with uneven padding, no bias", async () => {
    await checkOp("conv3d stride 2", [{ shape: X }, { shape: W3 }], (x, w) =>
      conv3d(x, w, undefined, { stride: [2, 2, 2], padding: ODD_PAD }),
    );
  });

  it("causal padding, with spatial stride [1, 2, 1] and with time stride 2", async () => {
    await checkOp("causalConv3d", [{ shape: X }, { shape: W3 }, { shape: [5] }], (x, w, b) =>
      causalConv3d(x, w, b, [1, 2, 1]),
    );
    await checkOp(
      "causalConv3d time stride",
      [{ shape: [1, 3, 7, 5, 4] }, { shape: [2, 3, 3, 1, 3] }],
      (x, w) => causalConv3d(x, w, undefined, [2, 1, 1]),
    );
  });

  it("non-cubic kernel 2×1×3 with stride [1, 1, 2] and no padding", async () => {
    await checkOp(
      "conv3d 2x1x3",
      [{ shape: [2, 4, 3, 5, 9] }, { shape: [3, 4, 2, 1, 3] }, { shape: [3] }],
      (x, w, b) => conv3d(x, w, b, { stride: [1, 1, 2] }),
    );
  });

  it("the backward ops on their own, with their gradients (second derivatives)", async () => {
    const geo = { stride: [2, 2, 2] as [number, number, number], padding: ODD_PAD };
    // stride 2 over 5×7×6 with ODD_PAD gives 2×4×3 outputs.
    await checkOp("conv3d_backward_input", [{ shape: [2, 5, 2, 4, 3] }, { shape: W3 }], (g, w) =>
      conv3dBackwardInput(g, w, [5, 7, 6], geo),
    );
    await checkOp("conv3d_backward_weight", [{ shape: X }, { shape: [2, 5, 2, 4, 3] }], (x, g) =>
      conv3dBackwardWeight(x, g, [3, 3, 3], geo),
    );
  });
});

describe("upsampleNearest against the f64 reference on every device", () => {
  it("factors [2, 3, 1] and [1, 2, 2] on odd sizes", async () => {
    await checkOp("upsample 2,3,1", [{ shape: [2, 3, 3, 5, 7] }], (x) =>
      upsampleNearest(x, [2, 3, 1]),
    );
    await checkOp("upsample 1,2,2", [{ shape: [1, 2, 5, 3, 3] }], (x) =>
      upsampleNearest(x, [1, 2, 2]),
    );
  });
});

describe("conv3d hand-computed values", () => {
  it("causal 1-D conv in time: y[t] = 10·x[t-1] + x[t]", async () => {
    for (const { name, device, float } of await testDevices()) {
      const x = device.tensor([1, 2, 3], [1, 1, 3, 1, 1], float);
      const w = device.tensor([10, 1], [1, 1, 2, 1, 1], float);
      const y = causalConv3d(x, w);
      assert.deepEqual(y.shape, [1, 1, 3, 1, 1]);
      assertClose(await y.toArray(), [1, 12, 23], 1e-6, `${name} causal`);
    }
  });

  it("a 2×2 kernel of ones with stride 2 sums 2×2 blocks, plus bias", async () => {
    for (const { name, device, float } of await testDevices()) {
      const x = device.tensor(
        Array.from({ length: 16 }, (_, i) => i),
        [1, 1, 1, 4, 4],
        float,
      );
      const w = device.tensor([1, 1, 1, 1], [1, 1, 1, 2, 2], float);
      const y = conv3d(x, w, device.tensor([0.5], [1], float), { stride: [1, 2, 2] });
      assert.deepEqual(y.shape, [1, 1, 1, 2, 2]);
      assertClose(await y.toArray(), [10.5, 18.5, 42.5, 50.5], 1e-6, `${name} block sums`);
    }
  });

  it("two channels in, two out, zero padding at the border", async () => {
    for (const { name, device, float } of await testDevices()) {
      // x: channel 0 = [1, 2, 3], channel 1 = [4, 5, 6] along w; kernel width 3, padding 1.
      const x = device.tensor([1, 2, 3, 4, 5, 6], [1, 2, 1, 1, 3], float);
      // out 0 = centre tap of channel 0; out 1 = left tap of channel 1 + right tap of channel 0.
      const w = device.tensor([0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0], [2, 2, 1, 1, 3], float);
      const y = conv3d(x, w, undefined, {
        padding: [
          [0, 0],
          [0, 0],
          [1, 1],
        ],
      });
      assertClose(await y.toArray(), [1, 2, 3, 2, 3 + 4, 5], 1e-6, `${name} channels`);
    }
  });

  it("causality: changing the last frame leaves earlier outputs unchanged", async () => {
    for (const { name, device, float } of await testDevices()) {
      const n = 1 * 2 * 4 * 3 * 3;
      const base = Array.from({ length: n }, (_, i) => Math.sin(i));
      const changed = base.map((v, i) => (i % 36 >= 27 ? v + 5 : v)); // frame t = 3 of each channel
      const w = device.tensor(
        Array.from({ length: 3 * 2 * 3 * 3 * 3 }, (_, i) => Math.cos(i)),
        [3, 2, 3, 3, 3],
        float,
      );
      const y0 = await causalConv3d(device.tensor(base, [1, 2, 4, 3, 3], float), w).toArray();
      const y1 = await causalConv3d(device.tensor(changed, [1, 2, 4, 3, 3], float), w).toArray();
      for (let i = 0; i < y0.length; i++) {
        const t = Math.floor(i / 9) % 4;
        if (t < 3) assert.equal(y1[i], y0[i], `${name}: output ${i} (frame ${t}) changed`);
      }
      assert.ok(
        y0.some((v, i) => Math.floor(i / 9) % 4 === 3 && v !== y1[i]),
        `${name}: last frame unchanged`,
      );
    }
  });

  it("upsampling repeats values; its gradient sums each block", async () => {
    for (const { name, device, float } of await testDevices()) {
      const x = device.tensor([1, 2, 3, 4], [1, 1, 1, 2, 2], float);
      x.requiresGrad = true;
      const y = upsampleNearest(x, [2, 1, 2]);
      assert.deepEqual(y.shape, [1, 1, 2, 2, 4]);
      const frame = [1, 1, 2, 2, 3, 3, 4, 4];
      assertClose(await y.toArray(), [...frame, ...frame], 0, `${name} upsample`);
      // Weights 1..16 over the output: each input's gradient is the sum over its 2×1×2 block.
      const wts = device.tensor(
        Array.from({ length: 16 }, (_, i) => i + 1),
        [1, 1, 2, 2, 4],
        float,
      );
      tidy(() => backward(sum(mul(upsampleNearest(x, [2, 1, 2]), wts))));
      assertClose(
        await x.grad!.toArray(),
        [1 + 2 + 9 + 10, 3 + 4 + 11 + 12, 5 + 6 + 13 + 14, 7 + 8 + 15 + 16],
        1e-6,
        `${name} upsample grad`,
      );
    }
  });

  it("bias gradient is the sum of the output gradient per channel", async () => {
    for (const { name, device, float } of await testDevices()) {
      const x = device.zeros([2, 1, 3, 2, 2], float);
      const w = device.zeros([3, 1, 1, 1, 1], float);
      const b = device.zeros([3], float);
      b.requiresGrad = true;
      tidy(() => backward(sum(conv3d(x, w, b))));
      assertClose(await b.grad!.toArray(), [24, 24, 24], 1e-6, `${name} dBias`);
    }
  });
});

describe("conv3d bad inputs", () => {
  it("names the op and the shapes", async () => {
    const { device } = (await testDevices())[0];
    const t = (shape: number[]) => device.zeros(shape);
    assert.throws(
      () => conv3d(t([2, 3, 5, 7, 6]), t([5, 4, 3, 3, 3])),
      (e: Error) =>
        e instanceof ShapeError &&
        /^conv3d: input channels differ: x has 3, w expects 4 \(x \[2, 3, 5, 7, 6\], w \[5, 4, 3, 3, 3\]\)$/.test(
          e.message,
        ),
    );
    assert.throws(
      () => conv3d(t([1, 1, 2, 9, 8]), t([1, 1, 3, 3, 3])),
      /conv3d: kernel 3×3×3 is larger than the padded input 2×9×8 along t \(x \[1, 1, 2, 9, 8\], w \[1, 1, 3, 3, 3\]/,
    );
    assert.throws(
      () => conv3d(t([1, 1, 5, 5]), t([1, 1, 3, 3, 3])),
      /conv3d: x must be 5-D \[N, Cin, T, H, W\], got \[1, 1, 5, 5\]/,
    );
    assert.throws(
      () => conv3d(t([1, 2, 5, 5, 5]), t([4, 2, 3, 3, 3]), t([3])),
      /conv3d: bias \[3\] must be \[4\], one per output channel/,
    );
    assert.throws(
      () => conv3d(t([1, 1, 5, 5, 5]), t([1, 1, 3, 3, 3]), undefined, { stride: [1, 0, 1] }),
      /conv3d: strides must be positive integers, got \[1, 0, 1\]/,
    );
    assert.throws(
      () =>
        conv3d(t([1, 1, 5, 5, 5]), t([1, 1, 3, 3, 3]), undefined, {
          padding: [
            [1, 1],
            [-1, 0],
            [0, 0],
          ],
        }),
      /conv3d: padding must be \[\[t0, t1\], \[h0, h1\], \[w0, w1\]\] of non-negative integers/,
    );
    assert.throws(
      () => conv3d(t([1, 1, 5, 5, 5]), device.zeros([1, 1, 3, 3, 3], "f16")),
      (e: Error) => e instanceof DTypeError && /conv3d: dtypes differ/.test(e.message),
    );
    assert.throws(
      () => causalConv3d(t([1, 1, 5, 5, 5]), t([1, 1, 3, 2, 3])),
      /causalConv3d: spatial kernel sizes must be odd for symmetric padding, got 2×3/,
    );
  });

  it("backward ops check that the gradient fits the geometry", async () => {
    const { device } = (await testDevices())[0];
    const t = (shape: number[]) => device.zeros(shape);
    assert.throws(
      () => conv3dBackwardInput(t([2, 5, 3, 3, 3]), t([5, 3, 3, 3, 3]), [5, 7, 6]),
      /conv3d_backward_input: grad's size 3×3×3 is not the output size 3×5×4 of an input 5×7×6/,
    );
    assert.throws(
      () => conv3dBackwardWeight(t([2, 3, 5, 7, 6]), t([1, 5, 3, 5, 4]), [3, 3, 3]),
      /conv3d_backward_weight: batch sizes differ: x has 2, grad has 1/,
    );
    assert.throws(
      () => conv3dBackwardInput(t([2, 4, 3, 5, 4]), t([5, 3, 3, 3, 3]), [5, 7, 6]),
      /conv3d_backward_input: output channels differ: grad has 4, w has 5/,
    );
  });

  it("upsampleNearest needs 5-D input and positive integer factors", async () => {
    const { device } = (await testDevices())[0];
    assert.throws(
      () => upsampleNearest(device.zeros([1, 2, 3, 4]), [1, 2, 2]),
      /upsampleNearest: x must be 5-D \[N, C, T, H, W\], got \[1, 2, 3, 4\]/,
    );
    assert.throws(
      () => upsampleNearest(device.zeros([1, 1, 2, 2, 2]), [1, 1.5, 2]),
      /upsampleNearest: factors must be three positive integers, got \[1,1.5,2\]/,
    );
  });
});
