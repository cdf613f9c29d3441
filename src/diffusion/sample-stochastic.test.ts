/**
 * Stochastic Euler steps (`eta`): they keep the rectified-flow path's marginals, so under a
 * perfect velocity for a single clean sample they still end exactly on it; they are seeded (the
 * same stream repeats the sample, another stream changes it); η = 0 is the plain Euler step.
 */
import assert from "node:assert/strict";
import { before, it } from "node:test";
import { createDevice } from "../devices.ts";
import type { Device } from "../tensor/device.ts";
import { div, sub } from "../tensor/ops/elementwise.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Rng } from "../util/rng.ts";
import { type SampleOptions, sampleFlow } from "./sample.ts";

let device: Device;
before(async () => {
  device = await createDevice({ kind: "cpu" });
});

const SHAPE = [1, 2, 3, 2, 2];

/** A velocity that is not any data set's: the sampler's path depends on every step's noise. */
const wobbly = (x: Tensor, t: number) => div(x, device.scalar(0.5 + t));

async function run(velocity: (x: Tensor, t: number) => Tensor, opts: Partial<SampleOptions>) {
  const noise = device.randn(SHAPE, new Rng(9));
  const x = await sampleFlow(noise, velocity, { steps: 6, shift: 2, ...opts });
  return Array.from(await x.toArray());
}

it("ends on the clean sample under a perfect velocity, whatever the fresh noise", async () => {
  const x0 = device.randn(SHAPE, new Rng(7));
  const want = Array.from(await x0.toArray());
  const oracle = (x: Tensor, t: number) => div(sub(x, x0), device.scalar(t)); // noise − x0
  for (const eta of [0.3, 1]) {
    const got = await run(oracle, { eta, noiseRng: new Rng(eta * 10) });
    for (let i = 0; i < want.length; i++)
      assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `η ${eta}: ${got[i]} vs ${want[i]}`);
  }
});

it("is seeded, and η = 0 is the Euler step", async () => {
  const euler = await run(wobbly, {});
  assert.deepEqual(await run(wobbly, { eta: 0, noiseRng: new Rng(1) }), euler);
  const a = await run(wobbly, { eta: 0.5, noiseRng: new Rng(1) });
  assert.deepEqual(await run(wobbly, { eta: 0.5, noiseRng: new Rng(1) }), a);
  assert.notDeepEqual(await run(wobbly, { eta: 0.5, noiseRng: new Rng(2) }), a);
  assert.notDeepEqual(a, euler);
});

it("etaUntil keeps the steps below it plain Euler", async () => {
  const euler = await run(wobbly, {});
  const all = await run(wobbly, { eta: 0.5, noiseRng: new Rng(1) });
  // Every step of the grid ends below 0.999: all Euler.
  assert.deepEqual(await run(wobbly, { eta: 0.5, etaUntil: 0.999, noiseRng: new Rng(1) }), euler);
  const half = await run(wobbly, { eta: 0.5, etaUntil: 0.5, noiseRng: new Rng(1) });
  assert.notDeepEqual(half, euler);
  assert.notDeepEqual(half, all);
  await assert.rejects(
    run(wobbly, { eta: 0.5, etaUntil: 1, noiseRng: new Rng(1) }),
    /etaUntil must be in \[0, 1\), got 1/,
  );
});

it("refuses an η out of range, with Heun, or without its noise stream", async () => {
  await assert.rejects(
    run(wobbly, { eta: 1.5, noiseRng: new Rng(1) }),
    /eta must be in \[0, 1\], got 1.5/,
  );
  await assert.rejects(
    run(wobbly, { eta: 0.5, method: "heun", noiseRng: new Rng(1) }),
    /for the euler method, not heun/,
  );
  await assert.rejects(run(wobbly, { eta: 0.5 }), /eta > 0 needs noiseRng/);
});
