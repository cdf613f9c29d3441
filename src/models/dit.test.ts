import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice } from "../tensor/device.ts";
import { noGrad, tidy } from "../tensor/engine.ts";
import { sliceAxis } from "../tensor/ops/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { TextEncoder } from "../text/encoder.ts";
import { Rng } from "../util/rng.ts";
import {
  DiffusionTransformer,
  FRAME_POSITION_FEATURES,
  framePositionFeatures,
  patchify,
  unpatchify,
} from "./dit.ts";
import { describeConfig, ditParams, getConfig, textEncoderParams } from "./registry.ts";
import { TextToVideo } from "./text-to-video.ts";

const device = await createDevice({ kind: "cpu" });
const cfg = getConfig("tiny");

/** Replaces every parameter by N(0, 0.2²) so that zero-initialised layers do something. */
function randomise(m: DiffusionTransformer | TextEncoder, seed: number): void {
  const rng = new Rng(seed);
  const state: Record<string, Float32Array> = {};
  for (const [path, t] of m.namedParameters())
    state[path] = Float32Array.from({ length: t.size }, () => 0.2 * rng.normal());
  m.loadStateDict(state);
}

function text(b: number, seed: number): { tokens: Tensor; pooled: Tensor } {
  const rng = new Rng(seed);
  return {
    tokens: device.randn([b, cfg.text.maxTokens, cfg.text.dim], rng),
    pooled: device.randn([b, cfg.text.dim], rng),
  };
}

describe("diffusion transformer", () => {
  it("has the parameter counts of its formulas (tiny and world-s)", (t) => {
    for (const name of ["tiny", "world-s"]) {
      const c = getConfig(name);
      const dit = new DiffusionTransformer(device, new Rng(1), c.dit);
      assert.equal(dit.parameterCount(), ditParams(c.dit), name);
      dit.dispose();
      const te = new TextEncoder(device, new Rng(1), c.text);
      assert.equal(te.parameterCount(), textEncoderParams(c.text), name);
      te.dispose();
    }
    const s = describeConfig(getConfig("world-s"), 17, 64, 64);
    assert.deepEqual(s.latent, [16, 9, 8, 8]);
    assert.equal(s.ditTokens, 144);
    assert.equal(describeConfig(getConfig("world-s-t4"), 17, 64, 64).ditTokens, 80);
    assert.ok(
      s.ditParams > 11e6 && s.ditParams < 13e6,
      `world-s DiT has ${s.ditParams} parameters`,
    );
    assert.throws(
      () => getConfig("huge"),
      /unknown; known: tiny, world-s, world-s-t4, world-s-c32, world-s-marks, world-s-flag, world-s-bounce, world-s-traj, world-s-joint, world-s-d12/,
    );
    for (const [name, f, h, w] of [
      ["tiny", 5, 32, 32],
      ["world-s", 17, 64, 64],
    ] as const)
      t.diagnostic(JSON.stringify(describeConfig(getConfig(name), f, h, w)));
  });

  it("patchifies in (t, h, w) order and unpatchifies back exactly", async () => {
    const x = device.tensor(
      Array.from({ length: 2 * 3 * 2 * 4 * 6 }, (_, i) => i),
      [2, 3, 2, 4, 6],
    );
    const tokens = patchify(x, [1, 2, 2]);
    assert.deepEqual(tokens.shape, [2, 2 * 2 * 3, 12]);
    const tv = await tokens.toArray();
    // Token (b=1, t=1, h=1, w=2) holds x[1, c, 1, 2..3, 4..5] in (c, dy, dx) order.
    const tok = 1 * 12 + (1 * 6 + 1 * 3 + 2);
    const at = (b: number, c: number, t: number, y: number, xx: number) =>
      (((b * 3 + c) * 2 + t) * 4 + y) * 6 + xx;
    for (let c = 0; c < 3; c++)
      for (let dy = 0; dy < 2; dy++)
        for (let dx = 0; dx < 2; dx++)
          assert.equal(tv[tok * 12 + c * 4 + dy * 2 + dx], at(1, c, 1, 2 + dy, 4 + dx));
    const back = unpatchify(tokens, 3, [2, 2, 3], [1, 2, 2]);
    assert.deepEqual(await back.toArray(), await x.toArray());
  });

  it("starts as zero (adaLN-Zero) and serves any size the patches fit, one frame included", async () => {
    const dit = new DiffusionTransformer(device, new Rng(2), cfg.dit);
    const x = device.randn([1, 4, 3, 4, 4], new Rng(3));
    const v = noGrad(() => dit.forward(x, device.tensor([0.5], [1]), text(1, 4)));
    assert.ok((await v.toArray()).every((e) => e === 0));
    randomise(dit, 5);
    for (const shape of [
      [1, 4, 1, 2, 2],
      [2, 4, 2, 4, 6],
      [1, 4, 5, 8, 2],
    ]) {
      const out = noGrad(() =>
        tidy(() =>
          dit.forward(
            device.randn(shape, new Rng(6)),
            device.full([shape[0]], 0.3),
            text(shape[0], 7),
          ),
        ),
      );
      assert.deepEqual(out.shape, shape);
      assert.ok((await out.toArray()).every(Number.isFinite));
    }
    assert.throws(
      () => dit.forward(device.zeros([1, 4, 2, 3, 4]), device.zeros([1]), text(1, 8)),
      /height 3 is not a multiple of the patch's 2/,
    );
    assert.throws(
      () => dit.forward(device.zeros([1, 5, 2, 4, 4]), device.zeros([1]), text(1, 8)),
      /x must be \[B, 4, T, H, W\]/,
    );
    dit.dispose();
  });

  it("with frame positions: starts as the model without them, then tells left from right", async () => {
    const plain = new DiffusionTransformer(device, new Rng(2), cfg.dit);
    const placed = new DiffusionTransformer(device, new Rng(2), {
      ...cfg.dit,
      framePositions: true,
    });
    randomise(plain, 5);
    const state: Record<string, ArrayLike<number>> = {};
    for (const [path, t] of plain.namedParameters()) state[path] = await t.toArray();
    const zeros = (n: number) => new Float32Array(n);
    placed.loadStateDict({
      ...state,
      "frame_pos.weight": zeros(FRAME_POSITION_FEATURES * cfg.dit.dim),
      "frame_pos.bias": zeros(cfg.dit.dim),
    });
    // One frame, the same at every position: attention then mixes identical values whatever
    // its weights, so without frame positions every token comes out alike. (With more frames,
    // rotary offsets differ at the frame's edges, a weak cue to where a token is.)
    const flat = device.tensor(
      Array.from({ length: 4 * 4 * 6 }, (_, i) => Math.sin(Math.floor(i / 24))),
      [1, 4, 1, 4, 6],
    );
    const run = (m: DiffusionTransformer) =>
      noGrad(() => tidy(() => m.forward(flat, device.tensor([0.6], [1]), text(1, 4)))).toArray();
    const before = await run(plain);
    const grown = await run(placed);
    for (let i = 0; i < before.length; i++) assert.ok(Math.abs(before[i] - grown[i]) < 1e-6);
    // [C, T, H, W] = [4, 1, 4, 6]: channel 0, row 1, columns 0 and 4 (the first pixel of the
    // leftmost and rightmost 2×2 patches).
    const at = (v: ArrayLike<number>, x: number) => v[1 * 6 + x];
    assert.ok(Math.abs(at(before, 0) - at(before, 4)) < 1e-5, "no frame positions: alike");
    placed.loadStateDict({
      ...state,
      "frame_pos.weight": Float32Array.from(
        { length: FRAME_POSITION_FEATURES * cfg.dit.dim },
        (_, i) => 0.3 * Math.sin(i),
      ),
      "frame_pos.bias": zeros(cfg.dit.dim),
    });
    const after = await run(placed);
    assert.ok(Math.abs(at(after, 0) - at(after, 4)) > 1e-3, "frame positions: left ≠ right");
    // The features are fractions of the frame: the same in every frame, and mirrored across.
    const f = framePositionFeatures(2, 1, 4);
    const n = FRAME_POSITION_FEATURES;
    assert.deepEqual(f.slice(0, 4 * n), f.slice(4 * n));
    assert.ok(Math.abs(f[0] - f[3 * n]) < 1e-6, "sin(πu) is the same at u = 1/8 and 7/8");
    plain.dispose();
    placed.dispose();
  });

  it("treats batch items independently and reads the timestep, caption and known frames", async () => {
    const dit = new DiffusionTransformer(device, new Rng(9), cfg.dit);
    randomise(dit, 10);
    const rng = new Rng(11);
    const x = device.randn([2, 4, 3, 4, 4], rng);
    const t = device.tensor([0.2, 0.7], [2]);
    const cond = text(2, 12);
    const run = (xx: Tensor, tt: Tensor, c: typeof cond, known?: { mask: Tensor; clean: Tensor }) =>
      noGrad(() => tidy(() => dit.forward(xx, tt, c, known))).toArray();
    const both = await run(x, t, cond);
    const one = await run(sliceAxis(x, 0, 1, 2), sliceAxis(t, 0, 1, 2), {
      tokens: sliceAxis(cond.tokens, 0, 1, 2),
      pooled: sliceAxis(cond.pooled, 0, 1, 2),
    });
    const half = both.length / 2;
    for (let i = 0; i < half; i++) assert.ok(Math.abs(both[half + i] - one[i]) < 1e-4);
    const dist = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
      return s / a.length;
    };
    assert.ok(dist(both, await run(x, device.tensor([0.9, 0.1], [2]), cond)) > 1e-3, "timestep");
    assert.ok(dist(both, await run(x, t, text(2, 13))) > 1e-3, "caption");
    const mask = device.tensor(
      Array.from({ length: 2 * 3 * 16 }, (_, i) => (i % 48 < 16 ? 1 : 0)),
      [2, 1, 3, 4, 4],
    );
    const known = { mask, clean: device.randn([2, 4, 3, 4, 4], rng) };
    assert.ok(dist(both, await run(x, t, cond, known)) > 1e-3, "known frames");
    dit.dispose();
  });

  it("keeps known frames exactly when sampling, and rejects a latent it cannot make", async () => {
    const model = new TextToVideo(device, new Rng(14), cfg);
    randomise(model.dit, 15);
    const rng = new Rng(16);
    const clean = device.randn([1, 4, 3, 4, 4], rng);
    const mask = device.tensor(
      Array.from({ length: 48 }, (_, i) => (i < 16 ? 1 : 0)),
      [1, 1, 3, 4, 4],
    );
    const out = await model.sampleLatents(["a ball"], [4, 3, 4, 4], {
      seed: 1,
      steps: 3,
      guidance: 3,
      known: { mask, clean },
    });
    const [o, c] = [await out.toArray(), await clean.toArray()];
    for (let ch = 0; ch < 4; ch++)
      for (let i = 0; i < 16; i++) assert.equal(o[ch * 48 + i], c[ch * 48 + i]);
    assert.ok(Math.abs(o[20] - c[20]) > 1e-6, "unknown frames are generated");
    await assert.rejects(
      model.sampleLatents(["a ball"], [3, 3, 4, 4], { seed: 1, steps: 1 }),
      /makes 4-channel latents, asked for 3/,
    );
    await assert.rejects(
      model.sampleLatents(["a ball"], [4, 3, 5, 4], { seed: 1, steps: 1 }),
      /height 5 is not a multiple/,
    );
    model.dispose();
  });
});
