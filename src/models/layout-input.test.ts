/**
 * The first-frame layout as the diffusion transformer's input: its channels, a model grown to
 * take it (starting as exactly the model without), its dropout in training, and a tiny model
 * that learns to tell two clips with one caption apart by their layouts alone.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createDevice } from "../devices.ts";
import { noGrad, tidy } from "../tensor/engine.ts";
import { concat } from "../tensor/ops/shape.ts";
import { assertClose, scaledError } from "../testing/op-check.ts";
import { randomizeParameters } from "../testing/tiny-model.ts";
import { choosePrecision } from "../train/mixed-precision.ts";
import { Trainer } from "../train/trainer.ts";
import { Rng } from "../util/rng.ts";
import type { StartLayout } from "../world/start-layout.ts";
import type { ModelConfig } from "./config.ts";
import { DiffusionTransformer } from "./dit.ts";
import { sampleClipLatent } from "./generate.ts";
import { widenPatchEmbed } from "./grow.ts";
import {
  BOUNCE_CHANNELS,
  LAYOUT_CHANNELS,
  LAYOUT_SCALE,
  layoutChannelCount,
  layoutChannels,
  MARK_CHANNELS,
  MARK_SCALE,
  MOTION_CHANNELS,
} from "./layout-input.ts";
import { getConfig } from "./registry.ts";
import { LAYOUT_DROPOUT, TextToVideo } from "./text-to-video.ts";
import { loadMatchingWeights, readWeights, saveWeights } from "./weights.ts";

const device = await createDevice({ kind: "cpu" });
const tiny = getConfig("tiny");
const laid: ModelConfig = { ...tiny, name: "tiny-layout", dit: { ...tiny.dit, startLayout: true } };
const SHAPE: [number, number, number, number] = [4, 3, 4, 4];
const CAPTION = "a red ball bounces on the grass";

/**
 * A 4 × 4-cell layout with one object of `occupancy` in cell (row, col), coloured `rgb`, setting
 * off with velocity `v` (x, y), marked there as a ball 0.75 cells wide centred at `place` in the
 * cell, of restitution `bounce`.
 */
function oneObject(
  row: number,
  col: number,
  occupancy: number,
  rgb: number[],
  v: [number, number] = [0, 0],
  place: [number, number] = [0, 0],
  bounce = 0.5,
): StartLayout {
  const occ = new Float32Array(16);
  occ[row * 4 + col] = occupancy;
  const color = new Float32Array(48);
  rgb.forEach((value, k) => {
    color[k * 16 + row * 4 + col] = value * occupancy;
  });
  const motion = new Float32Array(32);
  v.forEach((value, k) => {
    motion[k * 16 + row * 4 + col] = value * occupancy;
  });
  const marks = new Float32Array(MARK_CHANNELS * 16);
  [1, ...place, 1, 0, 0, 0.75].forEach((value, k) => {
    marks[k * 16 + row * 4 + col] = value;
  });
  const springy = new Float32Array(16);
  springy[row * 4 + col] = bounce * occupancy;
  return { rows: 4, cols: 4, occupancy: occ, color, motion, marks, bounce: springy };
}

const mse = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
};

describe("first-frame layout input", () => {
  it("fills latent frame 0 of each clip's four channels and leaves the rest zero", () => {
    const a = oneObject(1, 2, 0.5, [1, -1, 0.5]);
    const v = layoutChannels([a, null], 3, 4, 4); // [2, 4, 3, 4, 4]
    assert.equal(v.length, 2 * LAYOUT_CHANNELS * 3 * 16);
    const at = (b: number, k: number, f: number, cell: number) =>
      v[((b * LAYOUT_CHANNELS + k) * 3 + f) * 16 + cell];
    assert.equal(at(0, 0, 0, 6), 0.5 * LAYOUT_SCALE);
    assert.equal(at(0, 1, 0, 6), 0.5 * LAYOUT_SCALE);
    assert.equal(at(0, 2, 0, 6), -0.5 * LAYOUT_SCALE);
    assert.equal(at(0, 3, 0, 6), 0.25 * LAYOUT_SCALE);
    let nonzero = 0;
    for (const x of v) if (x !== 0) nonzero++;
    assert.equal(nonzero, 4, "only clip 0's frame 0, one cell per channel");
    assert.throws(() => layoutChannels([a], 3, 4, 8), /layout is 4×4 cells, the latent 8×4/);
  });

  it("a model with startLayout reads it; no layout is a zero layout; shapes are checked", async () => {
    const dit = new DiffusionTransformer(device, new Rng(3), laid.dit);
    // Every parameter random: adaLN-Zero's zero-initialised layers would otherwise hide the input.
    const draw = new Rng(8);
    const state: Record<string, Float32Array> = {};
    for (const [path, p] of dit.namedParameters())
      state[path] = Float32Array.from({ length: p.size }, () => 0.2 * draw.normal());
    dit.loadStateDict(state);
    const x = device.randn([1, ...SHAPE], new Rng(4));
    const t = device.tensor([0.5], [1]);
    const rng = new Rng(5);
    const cond = {
      tokens: device.randn([1, tiny.text.maxTokens, tiny.text.dim], rng),
      pooled: device.randn([1, tiny.text.dim], rng),
    };
    const layout = (l: StartLayout | null) =>
      device.tensor(layoutChannels([l], 3, 4, 4), [1, LAYOUT_CHANNELS, 3, 4, 4]);
    const run = (l?: ReturnType<typeof layout>) =>
      noGrad(() => tidy(() => dit.forward(x, t, cond, undefined, l))).toArray();
    const none = await run();
    assert.deepEqual(await run(layout(null)), none);
    assert.ok(scaledError(await run(layout(oneObject(0, 0, 1, [1, 0, 0]))), none) > 1e-3);
    assert.throws(
      () => dit.forward(x, t, cond, undefined, device.zeros([1, 3, 3, 4, 4])),
      /layout \[1, 3, 3, 4, 4\] must be \[1, 4, 3, 4, 4\]/,
    );
    const plain = new DiffusionTransformer(device, new Rng(3), tiny.dit);
    assert.throws(
      () => plain.forward(x, t, cond, undefined, layout(null)),
      /takes no layout input/,
    );
  });

  it("a model grown to take a layout starts as exactly the one without", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "zoetrope-layout-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const source = new TextToVideo(device, new Rng(1), tiny);
    const rng = new Rng(6);
    await randomizeParameters(source, rng, 0.2);
    const file = join(dir, "source.safetensors");
    await saveWeights(file, source, "text-to-video", tiny);
    const sample = async (m: TextToVideo) => {
      const z = await m.sampleLatents([CAPTION], SHAPE, { seed: 3, steps: 4, guidance: 2 });
      const v = await z.toArray();
      z.dispose();
      return v;
    };
    const want = await sample(source);
    const grown = new TextToVideo(device, new Rng(2), laid);
    const got = await loadMatchingWeights(file, grown, "text-to-video");
    assert.ok(got.kept.includes("dit.patch_embed.weight"), "the wider projection is not taken");
    assert.ok(scaledError(await sample(grown), want) > 1e-3, "left as drawn, it differs");
    assert.equal(await widenPatchEmbed(grown, (await readWeights(file)).tensors), true);
    assertClose(await sample(grown), want, 1e-5, "the widened model's sample");
    // Widening again (same width) or from a model that is not narrower does nothing.
    const again = new TextToVideo(device, new Rng(2), tiny);
    assert.equal(await widenPatchEmbed(again, (await readWeights(file)).tensors), false);
  });

  it("with startMotion, channels 4 and 5 hold the starting velocity times occupancy", () => {
    const a = oneObject(1, 2, 0.5, [1, -1, 0.5], [0.8, -1.2]);
    const n = layoutChannelCount({ startLayout: true, startMotion: true });
    assert.equal(n, LAYOUT_CHANNELS + MOTION_CHANNELS);
    assert.equal(layoutChannelCount({ startLayout: true }), LAYOUT_CHANNELS);
    assert.equal(layoutChannelCount({ startMotion: true }), 0, "motion is part of a layout");
    const v = layoutChannels([null, a], 2, 4, 4, { startMotion: true }); // [2, 6, 2, 4, 4]
    assert.equal(v.length, 2 * n * 2 * 16);
    const at = (b: number, k: number, f: number, cell: number) =>
      v[((b * n + k) * 2 + f) * 16 + cell];
    assert.equal(at(1, 0, 0, 6), 0.5 * LAYOUT_SCALE);
    assert.equal(at(1, 3, 0, 6), 0.25 * LAYOUT_SCALE);
    assert.ok(Math.abs(at(1, 4, 0, 6) - 0.4 * LAYOUT_SCALE) < 1e-6);
    assert.ok(Math.abs(at(1, 5, 0, 6) + 0.6 * LAYOUT_SCALE) < 1e-6);
    let nonzero = 0;
    for (const x of v) if (x !== 0) nonzero++;
    assert.equal(nonzero, n, "only clip 1's frame 0, one cell per channel");
    // The four-channel layout of the same plan is the first four channels.
    const four = layoutChannels([a], 2, 4, 4);
    const clip1 = n * 2 * 16; // where clip 1's channels start
    assert.deepEqual(Array.from(v.subarray(clip1, clip1 + four.length)), Array.from(four));
  });

  it("with startMarks, channels 6 to 12 hold the marks as they are", () => {
    const a = oneObject(2, 1, 0.3, [0, 1, 0], [0.5, 0], [-0.25, 0.5]);
    const n = layoutChannelCount({ startLayout: true, startMotion: true, startMarks: true });
    assert.equal(n, LAYOUT_CHANNELS + MOTION_CHANNELS + MARK_CHANNELS);
    assert.throws(
      () => layoutChannelCount({ startLayout: true, startMarks: true }),
      /startMarks needs startMotion/,
    );
    const v = layoutChannels([a, null], 1, 4, 4, { startMotion: true, startMarks: true }); // [2, 13, 1, 4, 4]
    const at = (b: number, k: number, cell: number) => v[(b * n + k) * 16 + cell];
    const want = [1, -0.25, 0.5, 1, 0, 0, 0.75];
    for (let k = 0; k < MARK_CHANNELS; k++)
      assert.equal(at(0, 6 + k, 9), want[k] * MARK_SCALE, `mark channel ${k}`);
    let nonzero = 0;
    for (const x of v) if (x !== 0) nonzero++;
    // Occupancy, G, x motion and five mark channels (count, x, y, ball, size) are nonzero.
    assert.equal(nonzero, 8, "only clip 0's cell 9");
    // The six-channel layout of the same plan is the first six channels.
    const six = layoutChannels([a], 1, 4, 4, { startMotion: true });
    assert.deepEqual(Array.from(v.subarray(0, six.length)), Array.from(six));
    assert.throws(
      () => layoutChannels([a], 1, 4, 4, { startMarks: true }),
      /startMarks needs startMotion/,
    );
  });

  it("with planFlag, one channel more after the others marks frame 0 of a planned clip", () => {
    const a = oneObject(2, 1, 0.3, [0, 1, 0], [0.5, 0], [-0.25, 0.5]);
    for (const cfg of [
      { startLayout: true },
      { startLayout: true, startMotion: true },
      { startLayout: true, startMotion: true, startMarks: true },
    ]) {
      const before = layoutChannelCount(cfg);
      const n = layoutChannelCount({ ...cfg, planFlag: true });
      assert.equal(n, before + 1);
      const v = layoutChannels([null, a], 2, 4, 4, { ...cfg, planFlag: true }); // [2, n, 2, 4, 4]
      const at = (b: number, k: number, f: number, cell: number) =>
        v[((b * n + k) * 2 + f) * 16 + cell];
      for (let cell = 0; cell < 16; cell++) {
        assert.equal(at(1, n - 1, 0, cell), LAYOUT_SCALE, `planned clip, frame 0, cell ${cell}`);
        assert.equal(at(1, n - 1, 1, cell), 0, "later frames");
        assert.equal(at(0, n - 1, 0, cell), 0, "a clip without a plan");
      }
      // The channels before the flag are the unflagged layout's.
      const plain = layoutChannels([a], 2, 4, 4, cfg);
      const clip1 = n * 2 * 16;
      assert.deepEqual(
        Array.from(v.subarray(clip1, clip1 + plain.length)),
        Array.from(plain),
        `${before} channels`,
      );
    }
    assert.equal(layoutChannelCount({ planFlag: true }), 0, "the flag is part of a layout");
  });

  it("with startBounce, the last channel holds the restitution times occupancy", () => {
    const a = oneObject(3, 2, 0.4, [1, 0, 0], [0, 0], [0, 0], 0.85);
    const flagged = { startLayout: true, startMotion: true, planFlag: true };
    const before = layoutChannelCount(flagged);
    const n = layoutChannelCount({ ...flagged, startBounce: true });
    assert.equal(n, before + BOUNCE_CHANNELS);
    assert.equal(
      layoutChannelCount({ startBounce: true }),
      0,
      "the restitution is part of a layout",
    );
    const v = layoutChannels([a, null], 2, 4, 4, { ...flagged, startBounce: true }); // [2, 8, 2, 4, 4]
    const at = (b: number, k: number, f: number, cell: number) =>
      v[((b * n + k) * 2 + f) * 16 + cell];
    assert.ok(
      Math.abs(at(0, n - 1, 0, 14) - 0.85 * 0.4 * LAYOUT_SCALE) < 1e-6,
      "the object's cell",
    );
    for (let cell = 0; cell < 16; cell++) {
      if (cell !== 14) assert.equal(at(0, n - 1, 0, cell), 0, `an empty cell (${cell})`);
      assert.equal(at(0, n - 1, 1, cell), 0, "later frames");
      assert.equal(at(1, n - 1, 0, cell), 0, "a clip without a plan");
    }
    // The channels before it are the flagged layout's, the flag included.
    const plain = layoutChannels([a], 2, 4, 4, flagged);
    assert.deepEqual(
      Array.from(v.subarray(0, plain.length)),
      Array.from(plain),
      "the channels before the restitution",
    );
    assert.equal(at(0, before - 1, 0, 0), LAYOUT_SCALE, "the flag just before it");
  });

  const moving: ModelConfig = { ...laid, dit: { ...laid.dit, startMotion: true } };
  const marked: ModelConfig = { ...moving, dit: { ...moving.dit, startMarks: true } };
  const flagged: ModelConfig = { ...moving, dit: { ...moving.dit, planFlag: true } };
  const bouncing: ModelConfig = { ...flagged, dit: { ...flagged.dit, startBounce: true } };
  for (const [what, from, to, added] of [
    ["motion", laid, moving, MOTION_CHANNELS],
    ["marks", moving, marked, MARK_CHANNELS],
    ["plan flag", moving, flagged, 1],
    ["restitution", flagged, bouncing, BOUNCE_CHANNELS],
  ] as const)
    it(`a layout model grown to read the ${what} starts as exactly the one without`, async (t) => {
      const dir = await mkdtemp(join(tmpdir(), "zoetrope-grow-layout-"));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const source = new TextToVideo(device, new Rng(1), from);
      await randomizeParameters(source, new Rng(16), 0.2);
      const file = join(dir, "source.safetensors");
      await saveWeights(file, source, "text-to-video", from);
      const plan = oneObject(1, 1, 1, [1, -1, 0], [1, -0.5], [0.5, -0.5]);
      const sample = async (m: TextToVideo) => {
        const n = layoutChannelCount(m.cfg.dit);
        const layout = device.tensor(layoutChannels([plan], 3, 4, 4, m.cfg.dit), [1, n, 3, 4, 4]);
        const z = await m.sampleLatents([CAPTION], SHAPE, {
          seed: 3,
          steps: 4,
          guidance: 2,
          layout,
        });
        layout.dispose();
        const v = await z.toArray();
        z.dispose();
        return v;
      };
      const want = await sample(source);
      const grown = new TextToVideo(device, new Rng(2), to);
      await loadMatchingWeights(file, grown, "text-to-video");
      assert.equal(await widenPatchEmbed(grown, (await readWeights(file)).tensors), true);
      assertClose(await sample(grown), want, 1e-5, `the grown model's sample, ${what} given`);
      // Once the new columns are trained (here: drawn), the plan's new channels change the sample.
      const state = await grown.stateDict();
      const w = state["dit.patch_embed.weight"];
      const draw = new Rng(17);
      const inputs = w.length / grown.cfg.dit.dim;
      const p = grown.cfg.dit.patch.reduce((a, b) => a * b, 1); // values per channel per patch
      for (let o = 0; o < grown.cfg.dit.dim; o++)
        for (let i = inputs - added * p; i < inputs; i++) w[o * inputs + i] = 0.3 * draw.normal();
      grown.loadStateDict(state);
      assert.ok(scaledError(await sample(grown), want) > 1e-3, `the ${what} columns are read`);
    });

  it("training drops a layout with its caption, and alone at about LAYOUT_DROPOUT", async () => {
    const model = new TextToVideo(device, new Rng(1), laid);
    const n = 400;
    const x0 = device.zeros([n, ...SHAPE]);
    const captions = Array.from({ length: n }, () => CAPTION);
    const layouts = captions.map(() => oneObject(2, 1, 1, [0, 0, 0]));
    const batch = model.drawBatch(new Rng(7), x0, captions, { layouts, knownFrames: false });
    assert.ok(batch.layout);
    const values = await batch.layout.toArray();
    const ids = await batch.ids.toArray();
    const empty = await model.tokenize([""]).toArray();
    const per = LAYOUT_CHANNELS * 3 * 16;
    const L = tiny.text.maxTokens;
    let kept = 0;
    let droppedCaptions = 0;
    for (let b = 0; b < n; b++) {
      const has = values[b * per + 2 * 4 + 1] === LAYOUT_SCALE; // occupancy of cell (2, 1), frame 0
      const captionDropped = empty.every((x, i) => x === ids[b * L + i]);
      if (has) kept++;
      if (captionDropped) {
        droppedCaptions++;
        assert.ok(!has, `clip ${b}: a dropped caption's layout is dropped too`);
      }
    }
    const expected = n * (1 - LAYOUT_DROPOUT) * 0.9;
    assert.ok(Math.abs(kept - expected) < 0.15 * expected, `${kept} layouts kept of ${n}`);
    assert.ok(droppedCaptions > 10, `${droppedCaptions} captions dropped`);
    batch.dispose();
    // A model without startLayout draws none.
    const plain = new TextToVideo(device, new Rng(1), tiny);
    const b2 = plain.drawBatch(new Rng(7), device.zeros([2, ...SHAPE]), [CAPTION, CAPTION]);
    assert.equal(b2.layout, null);
    b2.dispose();
  });

  it("image-first sampling passes the layout to the image and the clip", async () => {
    const model = new TextToVideo(device, new Rng(1), laid);
    const draw = new Rng(12);
    await randomizeParameters(model, draw, 0.2);
    const run = async (layout: StartLayout | null) => {
      const z = await sampleClipLatent(model, CAPTION, SHAPE, {
        seed: 4,
        steps: 3,
        guidance: 2,
        imageFirst: true,
        layout,
      });
      const v = await z.toArray();
      z.dispose();
      return v;
    };
    const a = oneObject(0, 0, 1, [1, 1, 1]);
    const first = await run(a);
    assert.deepEqual(await run(a), first, "deterministic");
    const other = await run(oneObject(3, 3, 1, [-1, -1, -1]));
    // [C, T, h, w] = [4, 3, 4, 4]: latent frame 0 of channel 0 comes from the image stage.
    const frame0 = (v: ArrayLike<number>) => Array.from(v).slice(0, 16);
    assert.ok(scaledError(frame0(other), frame0(first)) > 1e-3, "the image reads the layout");
    assert.ok(scaledError(other, first) > 1e-3);
    // No layout is the zero layout.
    const zero = oneObject(0, 0, 0, [0, 0, 0]);
    assert.deepEqual(await run(null), await run(zero));
    model.dispose();
  });

  it("learns two clips with one caption apart by their layouts", async (t) => {
    const model = new TextToVideo(device, new Rng(1), laid);
    const rng = new Rng(2);
    const a = device.randn([1, ...SHAPE], rng);
    const b = device.randn([1, ...SHAPE], rng);
    const [av, bv] = [await a.toArray(), await b.toArray()];
    const la = oneObject(0, 0, 1, [1, -1, -1]);
    const lb = oneObject(3, 3, 1, [-1, -1, 1]);
    const x0 = concat([a, b, a, b], 0);
    const captions = [CAPTION, CAPTION, CAPTION, CAPTION];
    const trainer = new Trainer(model.parameters(), {
      policy: choosePrecision(device, "f32"),
      optimizer: { lr: 3e-3 },
      clipNorm: 1,
    });
    const data = new Rng(3);
    for (let step = 0; step < 300; step++) {
      const batch = model.drawBatch(data, x0, captions, {
        knownFrames: false,
        layouts: [la, lb, la, lb],
      });
      const { loss, gradNorm } = trainer.step((dtype) => model.loss(x0, batch, dtype));
      batch.dispose();
      loss.dispose();
      gradNorm?.dispose();
    }
    const sample = async (l: StartLayout, guidance: number) => {
      const layout = device.tensor(layoutChannels([l], 3, 4, 4), [1, LAYOUT_CHANNELS, 3, 4, 4]);
      const z = await model.sampleLatents([CAPTION], SHAPE, {
        seed: 9,
        steps: 10,
        guidance,
        layout,
      });
      layout.dispose();
      const v = await z.toArray();
      z.dispose();
      return v;
    };
    for (const guidance of [1, 2]) {
      const [ga, gb] = [await sample(la, guidance), await sample(lb, guidance)];
      const d = { aa: mse(ga, av), ab: mse(ga, bv), bb: mse(gb, bv), ba: mse(gb, av) };
      t.diagnostic(`guidance ${guidance}: ${JSON.stringify(d)}`);
      assert.ok(d.aa < 0.5 * d.ab, `guidance ${guidance}: A's layout gives A`);
      assert.ok(d.bb < 0.5 * d.ba, `guidance ${guidance}: B's layout gives B`);
    }
    assert.deepEqual(await sample(la, 2), await sample(la, 2), "deterministic by seed");
    await assert.rejects(
      () =>
        model.sampleLatents([CAPTION], SHAPE, {
          seed: 1,
          steps: 2,
          layout: device.zeros([1, LAYOUT_CHANNELS, 2, 4, 4]),
        }),
      /layout 1×4×2×4×4 must be 1×4×3×4×4/,
    );
    trainer.dispose();
    model.dispose();
  });

  it("layout guidance weighs the layout inside the caption's guidance", async () => {
    const model = new TextToVideo(device, new Rng(1), laid);
    await randomizeParameters(model, new Rng(21), 0.2);
    const plan = oneObject(1, 2, 1, [1, -1, 0.5]);
    const layoutOf = () =>
      device.tensor(layoutChannels([plan], 3, 4, 4), [1, LAYOUT_CHANNELS, ...SHAPE.slice(1)]);
    // One Euler step from t = 1 to 0 gives noise − v, so samples combine as velocities do.
    const oneStep = async (
      caption: string,
      o: { guidance?: number; layoutGuidance?: number; layout?: boolean },
    ) => {
      const layout = o.layout ? layoutOf() : undefined;
      const z = await model.sampleLatents([caption], SHAPE, {
        seed: 8,
        steps: 1,
        guidance: o.guidance,
        layoutGuidance: o.layoutGuidance,
        layout,
      });
      layout?.dispose();
      const v = await z.toArray();
      z.dispose();
      return v;
    };
    const full = await oneStep(CAPTION, { layout: true }); // caption and layout
    const text = await oneStep(CAPTION, {}); // the caption alone
    const none = await oneStep("", {}); // neither
    const [g, s] = [2, 3];
    const want = full.map((_, i) => none[i] + g * (text[i] + s * (full[i] - text[i]) - none[i]));
    const got = await oneStep(CAPTION, { guidance: g, layoutGuidance: s, layout: true });
    assertClose(got, want, 1e-4, "v_u + g·(v_t + s·(v_cl − v_t) − v_u)");
    // 1 is plain guidance; without a layout there is nothing to weigh.
    const plain = await oneStep(CAPTION, { guidance: g, layout: true });
    assertClose(
      plain,
      full.map((_, i) => none[i] + g * (full[i] - none[i])),
      1e-4,
      "plain",
    );
    assert.ok(scaledError(got, plain) > 1e-3, "layout guidance changes the sample");
    assert.deepEqual(
      await oneStep(CAPTION, { guidance: g, layoutGuidance: s }),
      await oneStep(CAPTION, { guidance: g }),
    );
    for (const bad of [-1, Number.NaN])
      await assert.rejects(
        () => oneStep(CAPTION, { guidance: g, layoutGuidance: bad, layout: true }),
        /layout guidance must be a number ≥ 0/,
      );
    model.dispose();
  });
});
