/** The sampler's per-step prediction of the clean sample (what progress previews show). */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createDevice } from "../devices.ts";
import type { Device } from "../tensor/device.ts";
import { div, sub } from "../tensor/ops/elementwise.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Rng } from "../util/rng.ts";
import { sampleFlow } from "./sample.ts";

let device: Device;
before(async () => {
  device = await createDevice({ kind: "cpu" });
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("sampleFlow's denoised prediction", () => {
  for (const method of ["euler", "heun"] as const) {
    it(`${method}: is x0 at every step under a perfect velocity oracle`, async () => {
      const rng = new Rng(7);
      const x0 = device.randn([1, 2, 3, 2, 2], rng);
      const noise = device.randn([1, 2, 3, 2, 2], rng);
      const want = await x0.toArray();
      const oracle = (x: Tensor, t: number) => div(sub(x, x0), device.scalar(t)); // noise − x0
      const errors: number[] = [];
      await sampleFlow(noise, oracle, {
        steps: 5,
        shift: 2,
        method,
        // Asked for after an await: still valid while the returned promise is pending.
        onStep: async (_step, _steps, _t, denoised) => {
          await new Promise((r) => setTimeout(r, 1));
          const d = denoised();
          errors.push(maxDiff(await d.toArray(), want));
          d.dispose();
        },
      });
      assert.equal(errors.length, 5);
      for (const e of errors) assert.ok(e < 1e-4, `denoised within ${e} of x0`);
    });
  }

  it("is x_t − t·v from the step's start, and the sampler waits for the step callback", async () => {
    const rng = new Rng(8);
    const noise = device.randn([1, 1, 1, 2, 2], rng);
    const v = device.randn([1, 1, 1, 2, 2], rng);
    const vv = await v.toArray();
    const x1 = await noise.toArray();
    const log: string[] = [];
    const velocity = (_x: Tensor, t: number) => {
      log.push(`v@${t}`);
      return sub(v, device.scalar(0)); // a constant field, as a new tensor
    };
    await sampleFlow(noise, velocity, {
      steps: 2,
      onStep: async (step, _steps, t, denoised) => {
        await new Promise((r) => setTimeout(r, 5));
        const d = denoised();
        const got = await d.toArray();
        d.dispose();
        // From x_1 = noise at t = 1: x_t − t·v is noise − v at the first step; at the second
        // (x_0.5 = noise − 0.5·v, t = 0.5) it is the same point.
        const want = Array.from(x1, (n, i) => n - vv[i]);
        assert.ok(maxDiff(got, want) < 1e-6, `step ${step}`);
        log.push(`step ${step} at ${t}`);
      },
    });
    assert.deepEqual(log, ["v@1", "step 1 at 0.5", "v@0.5", "step 2 at 0"]);
  });
});
