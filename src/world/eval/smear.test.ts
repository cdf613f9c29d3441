/**
 * The evaluator's allowance for a codec's colour smear, on frames whose colour is subsampled
 * the way yuv420p does it (without a codec, so the truth is known exactly): the smear fit,
 * segmentation of a small ball beside a pale pillar, softened shape templates, and the smear
 * measure.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { OBJECT_COLORS, THEMES } from "../scene.ts";
import { OCCLUDER_COLORS, THEME_BACKGROUNDS } from "../themes.ts";
import type { Rgb } from "./colour.ts";
import { toMetric } from "./metric.ts";
import { segmentFrame } from "./segment.ts";
import { fitShape } from "./shape.ts";
import { measureChromaSmear } from "./smear.ts";
import { SmearModel } from "./smear-fit.ts";
import { Canvas } from "./synthetic.ts";

const NIGHT = THEME_BACKGROUNDS.night;

/** Luma of one colour, chroma of another: a pixel whose colour a codec mixed with others'. */
function lumaOf(luma: Rgb, chroma: Rgb): Rgb {
  const y = (c: Rgb) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  const d = y(luma) - y(chroma);
  return [chroma[0] + d, chroma[1] + d, chroma[2] + d];
}

/** Half red, half sky, in colour only. */
function halfRed(sky: Rgb): Rgb {
  const red = OBJECT_COLORS.red;
  return lumaOf(red, [(red[0] + sky[0]) / 2, (red[1] + sky[1]) / 2, (red[2] + sky[2]) / 2]);
}

test("a smear fit takes coverage from brightness and forgives colour smeared along a blend", () => {
  const sky = toMetric(NIGHT.skyBottom);
  const red = toMetric(OBJECT_COLORS.red);
  const p = toMetric(halfRed(NIGHT.skyBottom));
  const exact = new SmearModel(0).fit(p[0], p[1], p[2], sky, red);
  const smeared = new SmearModel(1).fit(p[0], p[1], p[2], sky, red);
  assert.ok(smeared.a > 0.9, `coverage ${smeared.a}`);
  assert.ok(Math.sqrt(smeared.res2) < 30, `smeared misfit ${Math.sqrt(smeared.res2)}`);
  // Without smear the diluted colour pulls the coverage down.
  assert.ok(exact.a < smeared.a - 0.1, `exact coverage ${exact.a}`);
  // A grey as bright as red is no red, smear or not: colour lost entirely is not smear.
  const g = toMetric(lumaOf(OBJECT_COLORS.red, [128, 128, 128]));
  const grey = new SmearModel(1).fit(g[0], g[1], g[2], sky, red);
  assert.ok(Math.sqrt(grey.res2) > Math.sqrt(smeared.res2) + 15, `grey ${Math.sqrt(grey.res2)}`);
  // Colour off the line between the two (toward blue) is not forgiven either.
  const b = toMetric(lumaOf(OBJECT_COLORS.red, OBJECT_COLORS.blue));
  assert.ok(Math.sqrt(new SmearModel(1).fit(b[0], b[1], b[2], sky, red).res2) > 60);
  // Exact blends fit exactly at any smear.
  const half = toMetric([
    (OBJECT_COLORS.red[0] + NIGHT.skyBottom[0]) / 2,
    (OBJECT_COLORS.red[1] + NIGHT.skyBottom[1]) / 2,
    (OBJECT_COLORS.red[2] + NIGHT.skyBottom[2]) / 2,
  ]);
  for (const s of [0, 0.5, 1]) {
    const f = new SmearModel(s).fit(half[0], half[1], half[2], sky, red);
    assert.ok(Math.abs(f.a - 0.5) < 1e-6 && f.res2 < 1e-6, `smear ${s}: ${f.a} ${f.res2}`);
  }
  assert.throws(() => new SmearModel(1.5), /smear must be a number in \[0, 1\]/);
});

/**
 * The frame as yuv420p stores it: brightness kept at every pixel, colour averaged over 2×2
 * blocks and interpolated back between the blocks' centres.
 */
function subsampleChroma(c: Canvas): Uint8Array {
  const { width, height, data } = c;
  const luma = (o: number) => 0.299 * data[o] + 0.587 * data[o + 1] + 0.114 * data[o + 2];
  const bw = Math.ceil(width / 2);
  const bh = Math.ceil(height / 2);
  // Per block, the mean of (channel − luma) for each channel.
  const block = new Float64Array(bw * bh * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const b = ((y >> 1) * bw + (x >> 1)) * 3;
      for (let k = 0; k < 3; k++) block[b + k] += (data[o + k] - luma(o)) / 4;
    }
  }
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const v = Math.min(bh - 1, Math.max(0, (y - 0.5) / 2));
    const j = Math.min(bh - 2, Math.floor(v));
    const fy = v - j;
    for (let x = 0; x < width; x++) {
      const u = Math.min(bw - 1, Math.max(0, (x - 0.5) / 2));
      const i = Math.min(bw - 2, Math.floor(u));
      const fx = u - i;
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        const at = (bi: number, bj: number) => block[(bj * bw + bi) * 3 + k];
        const chroma =
          (1 - fy) * ((1 - fx) * at(i, j) + fx * at(i + 1, j)) +
          fy * ((1 - fx) * at(i, j + 1) + fx * at(i + 1, j + 1));
        out[o + k] = Math.round(Math.min(255, Math.max(0, luma(o) + chroma)));
      }
    }
  }
  return out;
}

test("a small ball and a pale pillar keep what they are after colour subsampling", () => {
  const c = new Canvas(48, 48).fillScene(NIGHT.skyBottom, NIGHT.ground, 40);
  c.rect(6, 8, 11, 40, OCCLUDER_COLORS.pillar);
  c.disc(30.3, 20.6, 1.3, OBJECT_COLORS.red);
  const frame = subsampleChroma(c);
  const opts = {
    sceneryColors: [OCCLUDER_COLORS.pillar],
    sceneryEdgeColors: [OCCLUDER_COLORS.pillar],
  };
  const smeared = segmentFrame(frame, 48, 48, { ...opts, chromaSmear: 1 });
  assert.deepEqual(
    smeared.detections.map((d) => d.color),
    ["red"],
    JSON.stringify(smeared.detections.map((d) => [d.color, d.cx, d.cy])),
  );
  const [red] = smeared.detections;
  assert.ok(Math.hypot(red.cx - 30.3, red.cy - 20.6) < 0.5, `centroid ${red.cx}, ${red.cy}`);
  assert.ok(Math.abs(red.area - Math.PI * 1.3 * 1.3) < 3, `area ${red.area}`);
  // The pillar is scenery, the ball is not.
  assert.equal(smeared.scenery[20 * 48 + 8], 1);
  assert.equal(smeared.scenery[20 * 48 + 30], 0);
});

test("softened templates compete only for smeared clips, and bad smear is refused", () => {
  const c = new Canvas(32, 32).fillScene([135, 190, 235], [110, 150, 80], 28);
  c.disc(16, 14, 5, OBJECT_COLORS.green);
  const [d] = segmentFrame(c.data, 32, 32).detections;
  const sharp = fitShape(d.patch!, d.cx, d.cy, d.area);
  const soft = fitShape(d.patch!, d.cx, d.cy, d.area, 1);
  assert.equal(sharp.shape, "ball");
  assert.equal(soft.shape, "ball");
  // More templates can only fit at least as well.
  for (const k of ["ball", "box", "triangle"] as const)
    assert.ok(soft.errors[k] <= sharp.errors[k]);
  assert.throws(() => fitShape(d.patch!, d.cx, d.cy, d.area, 2), /chromaSmear must be in \[0, 1\]/);
  assert.throws(
    () => segmentFrame(c.data, 32, 32, { chromaSmear: 3 }),
    /chromaSmear must be in \[0, 1\]/,
  );
});

test("the smear measure reads exact frames as sharp and subsampled ones as smeared", () => {
  for (const theme of THEMES) {
    const bg = THEME_BACKGROUNDS[theme];
    const c = new Canvas(40, 40).fillScene(bg.skyBottom, bg.ground, 34);
    c.disc(12.4, 14.2, 4, OBJECT_COLORS.blue);
    c.square(27.3, 20.8, 7, 0.4, OBJECT_COLORS.orange);
    c.triangle(20, 29, 6, 0.1, OBJECT_COLORS.pink);
    const exact = measureChromaSmear([c.data], 40, 40);
    assert.equal(exact.smear, 0, `${theme}: ${JSON.stringify(exact)}`);
    const smeared = measureChromaSmear([subsampleChroma(c)], 40, 40);
    assert.ok(smeared.smear > 0.8, `${theme}: ${JSON.stringify(smeared)}`);
  }
});
