import assert from "node:assert/strict";
import { it } from "node:test";
import { backward } from "../tensor/autograd.ts";
import type { Device } from "../tensor/device.ts";
import { tidy } from "../tensor/engine.ts";
import { mul } from "../tensor/ops/elementwise.ts";
import { sum } from "../tensor/ops/reduce.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { scaledError } from "../testing/op-check.ts";
import { Rng } from "../util/rng.ts";
import { clipGradNorm } from "./clip.ts";
import { trainingDevices } from "./test-devices.ts";

/** Parameters whose gradients are exactly `cs` (by backpropagating Σ p·c). */
function withGrads(device: Device, cs: number[][], shapes: number[][]): Tensor[] {
  const ps = shapes.map((s) => {
    const p = device.zeros(s);
    p.requiresGrad = true;
    return p;
  });
  tidy(() => {
    ps.forEach((p, i) => {
      if (cs[i].length) backward(sum(mul(p, device.tensor(cs[i], p.shape))));
    });
  });
  return ps;
}

it("clipGradNorm measures the global norm on the device and scales every gradient", async () => {
  for (const { name, device } of await trainingDevices()) {
    const rng = new Rng(6);
    const shapes = [[37, 11], [5], [4]];
    const cs = [
      Array.from({ length: 407 }, () => rng.normal()),
      Array.from({ length: 5 }, () => rng.normal() * 10),
      [],
    ];
    const norm2 = cs.flat().reduce((a, x) => a + x * x, 0);
    const want = Math.sqrt(norm2);

    // Below the limit: unchanged, norm reported.
    let ps = withGrads(device, cs, shapes);
    const n1 = clipGradNorm(ps, want * 2);
    assert.ok(Math.abs((await n1.item()) - want) / want < 1e-5, `${name}: norm`);
    assert.ok(scaledError(await ps[0].grad!.toArray(), cs[0]) < 1e-6, `${name}: not clipped`);
    assert.equal(ps[2].grad, null, `${name}: a parameter without gradient stays without`);

    // Above the limit: every gradient scaled by max/(norm+eps), so the new norm is max.
    ps = withGrads(device, cs, shapes);
    clipGradNorm(ps, 3);
    const f = 3 / (want + 1e-6);
    assert.ok(
      scaledError(
        await ps[0].grad!.toArray(),
        cs[0].map((x) => x * f),
      ) < 1e-6,
      `${name}: clipped 0`,
    );
    assert.ok(
      scaledError(
        await ps[1].grad!.toArray(),
        cs[1].map((x) => x * f),
      ) < 1e-6,
      `${name}: clipped 1`,
    );

    // Gradients carrying a loss scale of 8: the limit applies to the unscaled norm.
    ps = withGrads(
      device,
      cs.map((c) => c.map((x) => x * 8)),
      shapes,
    );
    const control = device.tensor([1 / 8, 0, 0, 0], [4]);
    const n3 = clipGradNorm(ps, 3, { control });
    assert.ok(Math.abs((await n3.item()) - want) / want < 1e-5, `${name}: unscaled norm`);
    assert.ok(
      scaledError(
        await ps[0].grad!.toArray(),
        cs[0].map((x) => x * 8 * f),
      ) < 1e-5,
      `${name}: scaled gradients clipped by the unscaled norm`,
    );
  }
});

it("clipGradNorm rejects a non-positive limit", async () => {
  const [{ device }] = await trainingDevices();
  const ps = withGrads(device, [[1, 2]], [[2]]);
  assert.throws(
    () => clipGradNorm(ps, 0),
    /clipGradNorm: maxNorm must be a positive number, got 0/,
  );
});
