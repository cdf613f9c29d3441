/**
 * The decoder's upsampling convolution computed on the original pixels (four 2×2 phase kernels)
 * against the plain path it replaces, a causal 3×3×3 convolution of the nearest-upsampled input:
 * the same values and the same gradients for x, the weight and the bias, on odd sizes, in clips
 * and one-frame images, on the CPU reference.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice } from "../devices.ts";
import { backward } from "../tensor/autograd.ts";
import { noGrad, tidy } from "../tensor/engine.ts";
import { upsampleNearest } from "../tensor/ops/conv.ts";
import { mul } from "../tensor/ops/elementwise.ts";
import { sum } from "../tensor/ops/reduce.ts";
import { assign } from "../tensor/ops/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { scaledError } from "../testing/op-check.ts";
import { Rng } from "../util/rng.ts";
import { CausalConv3d } from "./layers.ts";

const device = await createDevice({ kind: "cpu" });

async function run(
  conv: CausalConv3d,
  x: Tensor,
  probe: Tensor,
  path: (x: Tensor) => Tensor,
): Promise<Float32Array[]> {
  for (const t of [x, conv.weight, conv.bias]) t.grad = null;
  const y = tidy(() => {
    const out = path(x);
    backward(sum(mul(out, probe)));
    return out;
  });
  const grads = [x, conv.weight, conv.bias].map((t) => {
    assert.ok(t.grad, "every input has a gradient");
    return t.grad.toArray() as Promise<Float32Array>;
  });
  return [(await y.toArray()) as Float32Array, ...(await Promise.all(grads))];
}

describe("CausalConv3d.forwardUpsampled", () => {
  for (const [name, shape] of [
    ["a clip, 3×5 pixels", [2, 3, 4, 3, 5]],
    ["a one-frame image, 4×2 pixels", [1, 3, 1, 4, 2]],
  ] as const) {
    it(`equals the convolution of the upsampled input, values and gradients: ${name}`, async () => {
      const rng = new Rng(7);
      const conv = new CausalConv3d(device, rng, 3, 4);
      // A non-zero bias, so that a phase adding it twice or never would show.
      noGrad(() => assign(conv.bias, device.randn([4], rng)));
      const x = device.randn([...shape], rng);
      x.requiresGrad = true;
      const [B, , T, H, W] = shape;
      const probe = device.randn([B, 4, T, 2 * H, 2 * W], rng);
      const fast = await run(conv, x, probe, (v) => conv.forwardUpsampled(v));
      const plain = await run(conv, x, probe, (v) => conv.forward(upsampleNearest(v, [1, 2, 2])));
      ["output", "dx", "dweight", "dbias"].forEach((what, i) => {
        assert.equal(fast[i].length, plain[i].length, `${what}: length`);
        const e = scaledError(fast[i], plain[i]);
        assert.ok(e < 1e-5, `${what}: error ${e.toExponential(2)} of the largest value`);
      });
      // Not trivially equal: the output varies and depends on every phase.
      assert.ok(fast[0].some((v, i) => Math.abs(v - fast[0][0]) > 1e-3 && i > 0));
      conv.dispose();
    });
  }

  it("refuses a kernel that is not 3×3 in space, naming the shapes", () => {
    const conv = new CausalConv3d(device, new Rng(1), 2, 2, [3, 1, 1]);
    const x = device.randn([1, 2, 2, 2, 2], new Rng(2));
    assert.throws(() => conv.forwardUpsampled(x), /3×3 spatial kernel.*3×1×1/);
    conv.dispose();
  });
});
