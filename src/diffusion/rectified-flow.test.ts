import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice } from "../tensor/device.ts";
import { div, sub } from "../tensor/ops/elementwise.ts";
import { copy } from "../tensor/ops/shape.ts";
import { Rng } from "../util/rng.ts";
import { drawFrameMasks, knownFrameTensors } from "./known-frames.ts";
import {
  drawFlow,
  flowLoss,
  flowPair,
  sampleTimesteps,
  shiftForTokens,
  timeShift,
} from "./rectified-flow.ts";
import { sampleFlow, timeGrid } from "./sample.ts";

const device = await createDevice({ kind: "cpu" });

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("rectified flow", () => {
  it("builds x_t = (1 − t)·x0 + t·noise and the target noise − x0, per sample", async () => {
    const rng = new Rng(1);
    const x0 = device.randn([2, 3, 2, 2, 2], rng);
    const draws = drawFlow(device, rng, x0.shape, { logitMean: 0, logitStd: 1, shift: 1 });
    const { xt, target } = flowPair(x0, draws.noise, draws.tGrid);
    const [x, n, t, xtv, tv] = await Promise.all(
      [x0, draws.noise, draws.t, xt, target].map((z) => z.toArray()),
    );
    const per = x.length / 2;
    for (let i = 0; i < x.length; i++) {
      const ti = t[Math.floor(i / per)];
      assert.ok(Math.abs(xtv[i] - ((1 - ti) * x[i] + ti * n[i])) < 1e-5);
      assert.ok(Math.abs(tv[i] - (n[i] - x[i])) < 1e-6);
    }
  });

  it("draws logit-normal timesteps in (0, 1), shifted towards noise for more tokens", () => {
    const base = sampleTimesteps(new Rng(2), 4000, { logitMean: 0, logitStd: 1, shift: 1 });
    const shifted = sampleTimesteps(new Rng(2), 4000, { logitMean: 0, logitStd: 1, shift: 3 });
    const mean = (a: Float32Array) => a.reduce((p, q) => p + q, 0) / a.length;
    assert.ok(base.every((t) => t > 0 && t < 1));
    assert.ok(Math.abs(mean(base) - 0.5) < 0.02, `mean ${mean(base)}`);
    assert.ok(mean(shifted) > 0.65, `shifted mean ${mean(shifted)}`);
    assert.equal(timeShift(0, 3), 0);
    assert.equal(timeShift(1, 3), 1);
    assert.equal(timeShift(0.5, 3), 0.75);
    assert.equal(shiftForTokens(320, 80), 2);
    assert.throws(() => timeShift(0.5, 0), /shift must be > 0/);
  });

  it("takes one Euler step exactly: x_next = x + (t_next − t)·v", async () => {
    const rng = new Rng(3);
    const x = device.randn([1, 2, 1, 2, 2], rng);
    const v = device.randn([1, 2, 1, 2, 2], rng);
    const seen: number[] = [];
    const out = await sampleFlow(
      x,
      (_, t) => {
        seen.push(t);
        return copy(v); // the sampler owns (and frees) each velocity
      },
      { steps: 1 },
    );
    assert.deepEqual(seen, [1]);
    const [xv, vv, ov] = await Promise.all([x, v, out].map((z) => z.toArray()));
    for (let i = 0; i < xv.length; i++) assert.ok(Math.abs(ov[i] - (xv[i] - vv[i])) < 1e-6);
    // Two steps with shift 3: times 1 → 0.75 → 0.
    assert.deepEqual(timeGrid(2, 3), [1, 0.75, 0]);
  });

  for (const method of ["euler", "heun"] as const) {
    it(`${method}: a perfect velocity oracle recovers a known x0 from noise`, async () => {
      const rng = new Rng(4);
      const x0 = device.randn([2, 3, 2, 2, 2], rng);
      const noise = device.randn([2, 3, 2, 2, 2], rng);
      // On the straight path, v = noise − x0 = (x_t − x0) / t.
      const oracle = (x: typeof x0, t: number) => div(sub(x, x0), device.scalar(t));
      const steps: number[] = [];
      const out = await sampleFlow(noise, oracle, {
        steps: 7,
        shift: 2,
        method,
        onStep: (s) => steps.push(s),
      });
      assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7]);
      const err = maxDiff(await out.toArray(), await x0.toArray());
      assert.ok(err < 1e-4, `recovered x0 within ${err}`);
      assert.ok(!noise.isDisposed, "the caller's noise is not freed");
    });
  }

  it("SDEdit: starts from the input noised to the strength and still lands on x0", async () => {
    const rng = new Rng(5);
    const x0 = device.randn([1, 2, 1, 2, 2], rng);
    const noise = device.randn([1, 2, 1, 2, 2], rng);
    const times: number[] = [];
    const oracle = (x: typeof x0, t: number) => {
      times.push(t);
      return div(sub(x, x0), device.scalar(t));
    };
    const out = await sampleFlow(noise, oracle, { steps: 4, init: { latent: x0, strength: 0.5 } });
    assert.deepEqual(times, [0.5, 0.375, 0.25, 0.125]);
    assert.ok(maxDiff(await out.toArray(), await x0.toArray()) < 1e-5);

    // With a shift, strength is the share of the shifted schedule run again: u from 0.5 down,
    // so with shift 3 the times are 3u / (1 + 2u): 0.75, 0.5, then 0; the start is x0 noised to 0.75.
    times.length = 0;
    let start: Float32Array | Float64Array | Int32Array | null = null;
    const watching = async (x: typeof x0, t: number) => {
      start ??= await x.toArray();
      return oracle(x, t);
    };
    const shifted = await sampleFlow(noise, watching, {
      steps: 2,
      shift: 3,
      init: { latent: x0, strength: 0.5 },
    });
    assert.deepEqual(times, [0.75, 0.5]);
    const [xv, nv] = await Promise.all([x0.toArray(), noise.toArray()]);
    const want = xv.map((v, i) => 0.25 * v + 0.75 * nv[i]);
    assert.ok(start && maxDiff(start, want) < 1e-6, "starts at x0 noised to t = 0.75");
    assert.ok(maxDiff(await shifted.toArray(), xv) < 1e-5);
    assert.throws(() => timeGrid(0), /steps must be a positive integer/);
    assert.throws(() => timeGrid(4, 1, 1.5), /start time must be in \(0, 1\]/);
  });
});

describe("known-frame masks", () => {
  it("mark whole latent frames, never all of them, in the stated kinds", () => {
    const masks = drawFrameMasks(new Rng(6), 2000, 5);
    const kinds = new Map<string, number>();
    for (let b = 0; b < 2000; b++) {
      const row = [...masks.subarray(b * 5, b * 5 + 5)];
      assert.ok(
        row.some((m) => m === 0),
        `sample ${b} keeps a frame to generate`,
      );
      const key = row.join("");
      const kind =
        key === "00000"
          ? "none"
          : key === "10001"
            ? "first-last"
            : /^1+0+$/.test(key)
              ? "first-k"
              : /^0+1+$/.test(key)
                ? "last-k"
                : "other";
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    assert.equal(kinds.get("other"), undefined);
    assert.ok(Math.abs((kinds.get("none") ?? 0) / 2000 - 0.6) < 0.04, `none ${kinds.get("none")}`);
    for (const k of ["first-k", "last-k", "first-last"]) assert.ok((kinds.get(k) ?? 0) > 50, k);
    assert.ok(
      drawFrameMasks(new Rng(7), 100, 1).every((m) => m === 0),
      "images are never masked",
    );
  });

  it("weights the loss over the frames to generate only", async () => {
    const rng = new Rng(8);
    const x0 = device.randn([1, 2, 2, 2, 2], rng);
    const known = knownFrameTensors(device, Float32Array.from([1, 0]), x0);
    const clean = await known.clean.toArray();
    const x = await x0.toArray();
    // Channel c, frame 0 is kept; frame 1 zeroed.
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < 8; i++) {
        const idx = c * 8 + i;
        assert.ok(clean[idx] === (i < 4 ? x[idx] : 0), `clean[${idx}]`);
      }
    // A prediction wrong only on the known frame costs nothing; wrong on the other frame, its MSE.
    const target = device.zeros([1, 2, 2, 2, 2]);
    const wrongKnown = device.tensor(
      Array.from({ length: 16 }, (_, i) => (i % 8 < 4 ? 3 : 0)),
      [1, 2, 2, 2, 2],
    );
    const wrongFree = device.tensor(
      Array.from({ length: 16 }, (_, i) => (i % 8 < 4 ? 0 : 3)),
      [1, 2, 2, 2, 2],
    );
    assert.equal(Math.abs(await flowLoss(wrongKnown, target, known.weight).item()), 0);
    assert.ok(Math.abs((await flowLoss(wrongFree, target, known.weight).item()) - 9) < 1e-5);
  });
});
