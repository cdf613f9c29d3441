/**
 * `sampleLatents`' sampling options on a tiny seeded model: guidance in a limited interval
 * (steps that start outside [lo, hi] take the conditional velocity, those inside the guided one)
 * and the time grid's shift.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice } from "../devices.ts";
import { shiftForTokens } from "../diffusion/rectified-flow.ts";
import { assertClose, scaledError } from "../testing/op-check.ts";
import { randomizeParameters } from "../testing/tiny-model.ts";
import { Rng } from "../util/rng.ts";
import { getConfig } from "./registry.ts";
import { TextToVideo } from "./text-to-video.ts";

const device = await createDevice({ kind: "cpu" });
const SHAPE: [number, number, number, number] = [4, 3, 4, 4];
const CAPTION = "a red ball bounces on the grass";

const sampleOf =
  (model: TextToVideo) =>
  async (
    steps: number,
    guidance: number,
    extra: { guidanceInterval?: readonly [number, number]; shift?: number } = {},
  ) => {
    const z = await model.sampleLatents([CAPTION], SHAPE, { seed: 5, steps, guidance, ...extra });
    const v = await z.toArray();
    z.dispose();
    return v;
  };

describe("sampling options", () => {
  it("guides only the steps that start inside it", async () => {
    const model = new TextToVideo(device, new Rng(1), getConfig("tiny"));
    await randomizeParameters(model, new Rng(22), 0.2);
    const run = sampleOf(model);
    const sample = (
      steps: number,
      guidance: number,
      guidanceInterval?: readonly [number, number],
    ) => run(steps, guidance, { guidanceInterval });
    // The whole range is plain guidance, exactly.
    assert.deepEqual(await sample(3, 2, [0, 1]), await sample(3, 2));
    // One step starts at t = 1: outside [0, 0.5] it is the unguided (conditional) sample.
    const conditional = await sample(1, 1);
    assertClose(await sample(1, 2, [0, 0.5]), conditional, 1e-5, "outside the interval");
    assert.ok(scaledError(await sample(1, 2), conditional) > 1e-3, "guidance changes one step");
    // Two steps (t = 1, then the shifted midpoint): guiding the first alone is neither.
    const first = await sample(2, 2, [0.99, 1]);
    assert.ok(scaledError(first, await sample(2, 2)) > 1e-4, "the second step is not guided");
    assert.ok(scaledError(first, await sample(2, 1)) > 1e-4, "the first step is guided");
    for (const bad of [
      [0.5, 0.5],
      [-0.1, 1],
      [0, 1.5],
      [Number.NaN, 1],
    ] as const)
      await assert.rejects(() => sample(1, 2, bad), /guidance interval must be lo,hi/);
    model.dispose();
  });

  it("samples on the trained time grid unless given a shift", async () => {
    const model = new TextToVideo(device, new Rng(1), getConfig("tiny"));
    await randomizeParameters(model, new Rng(23), 0.2);
    const sample = sampleOf(model);
    const [, t, h, w] = SHAPE;
    const trained = shiftForTokens(model.tokenCount(t, h, w), model.cfg.flow.baseTokens);
    const plain = await sample(4, 2);
    assert.deepEqual(await sample(4, 2, { shift: trained }), plain);
    const other = trained === 3 ? 1 : 3;
    assert.ok(scaledError(await sample(4, 2, { shift: other }), plain) > 1e-4, "another grid");
    for (const bad of [0, -1, Number.NaN])
      await assert.rejects(() => sample(4, 2, { shift: bad }), /shift must be a number > 0/);
    model.dispose();
  });
});
