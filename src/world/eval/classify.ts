/**
 * Per-pixel colour classification for segmentation: every pixel is background, shadow,
 * scenery, a faint rim blend, or one of the palette's object colours at some coverage. A pixel
 * belongs to colour c when it lies on the blend between its row's background (or the occluder
 * beside it) and c at coverage ≥ 1/2: that way the anti-aliased rim of a red ball over blue sky
 * reads as part-red rather than as pink. Fits allow for as much codec colour smear as the clip
 * shows (smear-fit.ts), so an encoded clip reads like the rendered one.
 *
 * Besides each pixel's winner, how well every palette colour explains it is kept, so that a
 * whole region can be given one colour (regions.ts): after encoding a small red ball's pixels
 * may each be explained a little better as the shade of a pink ball's stripe.
 */

import { BlendModel, dist2, PALETTE, type Rgb, STRIPES } from "./colour.ts";
import { toMetric } from "./metric.ts";
import { SmearModel } from "./smear-fit.ts";

export const BACKGROUND = -1;
export const SHADOW = -2;
export const SCENERY = -3;
/** Mostly background, slightly blended with an object colour: a rim pixel at most. */
export const FAINT = -4;
/** Farthest (metric distance) a pixel may lie from a colour's blend to count as that colour. */
export const BLEND_RESIDUAL = 40;
/** Farthest (metric distance) a pixel may lie from its row's background darkened, as a shadow. */
export const SHADOW_RESIDUAL = 20;
/** How much worse (metric distance) a scenery explanation of a pixel may be and still win. */
const SCENERY_TIE = 2;
/**
 * A blob needs at least one seed pixel to count as an object: one covered this fully by the
 * object's fill colour, and (when it is a pure pixel) this close to the fill colour...
 */
const SEED_COVERAGE = 0.5;
const FILL_SEED_DISTANCE = 30;
/**
 * ...and, in a clip whose colour a codec smeared, explained this much better (metric distance,
 * at full smear) by the object than by any scenery: codec noise on an occluder's face can make
 * it fit a part-covered object colour (a pale pillar over a night sky reads as 77% white). With
 * exact colours, being better at all is enough.
 */
export const SEED_MARGIN = 20;
/**
 * The same for a pixel (all but) fully covered by the object's fill colour, which scenery
 * imitates less easily than a part-covered one.
 */
const PURE_SEED_MARGIN = 4;
const FULL_COVER = 0.9;
/** How far (metric distance) a pixel may be from an occluder's colour to count as its face. */
const FACE_DISTANCE = 2;

/** The palette's fills and stripe shades in the metric space. */
export const FILLS: readonly Rgb[] = PALETTE.map(toMetric);
export const SHADES: readonly Rgb[] = STRIPES.map(toMetric);
const COLORS = FILLS.length;
/** Every object appearance (fill, then stripe, of each palette colour) for shadow fits. */
const OBJECT_BLENDS = new BlendModel(FILLS.flatMap((c, i) => [c, SHADES[i]]));
/** Step from each palette colour's fill to its stripe, and its squared length. */
const STRIPE_STEP = new Float64Array(
  FILLS.flatMap((c, i) => [0, 1, 2].map((k) => SHADES[i][k] - c[k])),
);
const STRIPE_STEP2 = new Float64Array(
  FILLS.map(
    (_, i) => STRIPE_STEP[i * 3] ** 2 + STRIPE_STEP[i * 3 + 1] ** 2 + STRIPE_STEP[i * 3 + 2] ** 2,
  ),
);

export interface ClassifyOptions {
  sceneryColors: readonly Rgb[];
  sceneryEdgeColors: readonly Rgb[];
  maxColorDistance: number;
  backgroundTolerance: number;
  shadowDarkest: number;
  shadowFromRow: number;
  chromaSmear: number;
}

export interface PixelClasses {
  /** Palette index (≥ 0) or BACKGROUND, SHADOW, SCENERY or FAINT. */
  cls: Int8Array;
  /** Coverage of the pixel by its colour (palette pixels and faint ones). */
  cover: Float32Array;
  /** The colour a FAINT pixel is a faint blend of. */
  faintOf: Int8Array;
  /** Pixels a blob of their colour may grow from. */
  seed: Uint8Array;
  /**
   * For palette and faint pixels, per colour i at [p * COLOR_COUNT + i]: the squared distance of
   * colour i's best explanation (Infinity when it has none), its coverage, and whether that
   * explanation could seed a blob.
   */
  colorRes2: Float32Array;
  colorCover: Float32Array;
  colorSeed: Uint8Array;
  /**
   * For palette, faint and occluder-face pixels, the squared distance of the best scenery
   * explanation (Infinity elsewhere).
   */
  sceneryRes2: Float32Array;
}

export const COLOR_COUNT = COLORS;
const BLACK: Rgb = [0, 0, 0];

/** Classifies every pixel of a frame given in the metric space, with its rows' backgrounds. */
export function classifyPixels(
  frame: Float32Array,
  width: number,
  height: number,
  rows: readonly Rgb[],
  opts: ClassifyOptions,
): PixelClasses {
  const n = width * height;
  const out: PixelClasses = {
    cls: new Int8Array(n),
    cover: new Float32Array(n),
    faintOf: new Int8Array(n).fill(-1),
    seed: new Uint8Array(n),
    colorRes2: new Float32Array(n * COLORS).fill(Number.POSITIVE_INFINITY),
    colorCover: new Float32Array(n * COLORS),
    colorSeed: new Uint8Array(n * COLORS),
    sceneryRes2: new Float32Array(n).fill(Number.POSITIVE_INFINITY),
  };
  const { cls, cover, faintOf, seed, colorRes2, colorCover, colorSeed } = out;
  const bgTol2 = opts.backgroundTolerance * opts.backgroundTolerance;
  const maxD2 = opts.maxColorDistance * opts.maxColorDistance;
  const seedD2 = FILL_SEED_DISTANCE * FILL_SEED_DISTANCE;
  const faceD2 = FACE_DISTANCE * FACE_DISTANCE;
  const blendD2 = BLEND_RESIDUAL * BLEND_RESIDUAL;
  const scenery = opts.sceneryColors.map(toMetric);
  const edges = opts.sceneryEdgeColors.map(toMetric);
  const fit = new SmearModel(opts.chromaSmear);
  // Pixels painted in an occluder's own colour: an object's rim next to one is blended over it.
  const edgeOf = new Int8Array(n).fill(-1);
  for (let p = 0; p < n && edges.length > 0; p++) {
    const o = p * 3;
    const bg = rows[Math.floor(p / width)];
    for (let k = 0; k < edges.length; k++) {
      if (fit.distance2(frame[o], frame[o + 1], frame[o + 2], edges[k], bg) < 144) {
        edgeOf[p] = k;
        break;
      }
    }
  }
  const objects = OBJECT_BLENDS;
  const edgeBlends = new BlendModel(edges);
  // Per row: the step from the background to each fill and stripe, and whether it is long
  // enough for a blend to be measured.
  const steps = new Float64Array(COLORS * 6);
  const usable = new Uint8Array(COLORS * 2);
  // Per colour, for the pixel at hand: best distance, coverage, and whether it is the fill.
  const res = new Float64Array(COLORS);
  const cov = new Float64Array(COLORS);
  const isFill = new Uint8Array(COLORS);
  for (let y = 0; y < height; y++) {
    const bg = rows[y];
    const bgNorm2 = bg[0] * bg[0] + bg[1] * bg[1] + bg[2] * bg[2];
    const darkest = y >= opts.shadowFromRow ? opts.shadowDarkest : 1;
    if (darkest < 1) {
      objects.setBackground(bg, darkest, 1600);
      edgeBlends.setBackground(bg, darkest, 1);
    }
    for (let j = 0; j < COLORS * 2; j++) {
      const c = j % 2 === 0 ? FILLS[j >> 1] : SHADES[j >> 1];
      const u0 = c[0] - bg[0];
      const u1 = c[1] - bg[1];
      const u2 = c[2] - bg[2];
      steps[j * 3] = u0;
      steps[j * 3 + 1] = u1;
      steps[j * 3 + 2] = u2;
      usable[j] = u0 * u0 + u1 * u1 + u2 * u2 >= 1600 ? 1 : 0;
    }
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const o = p * 3;
      const r = frame[o];
      const g = frame[o + 1];
      const b = frame[o + 2];
      const d0 = r - bg[0];
      const d1 = g - bg[1];
      const d2 = b - bg[2];
      if (d0 * d0 + d1 * d1 + d2 * d2 < bgTol2) {
        cls[p] = BACKGROUND;
        continue;
      }
      // Painted in a scenery colour itself (an occluder's face): no object is.
      if (edgeOf[p] >= 0 && fit.distance2(r, g, b, edges[edgeOf[p]], bg) <= faceD2) {
        cls[p] = SCENERY;
        out.sceneryRes2[p] = fit.res2;
        continue;
      }
      let alt: Rgb | null = null;
      for (let dy = -1; dy <= 1 && !alt && edges.length > 0; dy++) {
        const qy = y + dy;
        if (qy < 0 || qy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const qx = x + dx;
          if (qx < 0 || qx >= width) continue;
          const k = edgeOf[qy * width + qx];
          if (k >= 0) {
            alt = edges[k];
            break;
          }
        }
      }
      let best = -1;
      let bestRes2 = blendD2;
      for (let i = 0; i < COLORS; i++) {
        res[i] = Number.POSITIVE_INFINITY;
        cov[i] = 0;
        isFill[i] = 0;
        // The object itself: its fill, its stripe (balls), or an anti-aliased mix of the two,
        // its colour perhaps smeared toward the background near its edge.
        const f = FILLS[i];
        const s0 = STRIPE_STEP[i * 3];
        const s1 = STRIPE_STEP[i * 3 + 1];
        const s2 = STRIPE_STEP[i * 3 + 2];
        let t = ((r - f[0]) * s0 + (g - f[1]) * s1 + (b - f[2]) * s2) / STRIPE_STEP2[i];
        t = Math.min(1, Math.max(0, t));
        const mix2 = fit.distance2(r, g, b, [f[0] + t * s0, f[1] + t * s1, f[2] + t * s2], bg);
        if (mix2 <= maxD2) {
          res[i] = mix2;
          cov[i] = 1;
          // Stripes never seed a blob: a dark stripe shade is too easily matched by some
          // other colour's blend.
          isFill[i] = fit.distance2(r, g, b, f, bg) <= seedD2 ? 1 : 0;
        }
        // Its rim: fill (or stripe) blended over the row's background, over its own shadow, or
        // over the occluder beside it. A faint blend (under half) counts too, so that it is not
        // mistaken for some other colour; it wins the pixel for nobody (see below).
        for (let k = 0; k < 2; k++) {
          const j = 2 * i + k;
          if (usable[j]) {
            fit.fitSteps(d0, d1, d2, steps[j * 3], steps[j * 3 + 1], steps[j * 3 + 2]);
            if (fit.a > 0.05 && fit.a < 1 && fit.res2 < res[i]) {
              res[i] = fit.res2;
              cov[i] = fit.a;
              isFill[i] = k === 0 ? 1 : 0;
            }
            if (darkest < 1 && objects.fit(j, r, g, b)) {
              if (objects.a > 0.05 && objects.a < 1 && objects.res2 < res[i]) {
                res[i] = objects.res2;
                cov[i] = objects.a;
                isFill[i] = k === 0 ? 1 : 0;
              }
            }
          }
          const c = k === 0 ? f : SHADES[i];
          if (alt && dist2(c[0], c[1], c[2], alt) >= 1600) {
            fit.fit(r, g, b, alt, c);
            if (fit.a > 0.05 && fit.a < 1 && fit.res2 < res[i]) {
              res[i] = fit.res2;
              cov[i] = fit.a;
              isFill[i] = k === 0 ? 1 : 0;
            }
          }
        }
        if (res[i] < bestRes2) {
          bestRes2 = res[i];
          best = i;
        }
      }
      // A shadow is the row's background darkened: p ≈ k·bg for some k in [shadowDarkest, 1),
      // the blend of the background toward black at 1 − k.
      if (darkest < 1 && bgNorm2 > 0) {
        fit.fit(r, g, b, bg, BLACK);
        if (
          fit.a > 0 &&
          1 - fit.a >= darkest &&
          fit.res2 < SHADOW_RESIDUAL * SHADOW_RESIDUAL &&
          (best < 0 || fit.res2 < bestRes2)
        ) {
          cls[p] = SHADOW;
          continue;
        }
      }
      if (best < 0) {
        cls[p] = SCENERY;
        continue;
      }
      // The best scenery explanation: a scenery colour, or an occluder's edge over the background.
      let sceneryRes2 = Number.POSITIVE_INFINITY;
      for (let k = 0; k < scenery.length; k++) {
        sceneryRes2 = Math.min(sceneryRes2, fit.distance2(r, g, b, scenery[k], bg));
      }
      for (let k = 0; k < edges.length; k++) {
        fit.fit(r, g, b, bg, edges[k]);
        if (fit.a > 0.05) sceneryRes2 = Math.min(sceneryRes2, fit.res2);
        if (darkest < 1 && edgeBlends.fit(k, r, g, b) && edgeBlends.a > 0.05) {
          sceneryRes2 = Math.min(sceneryRes2, edgeBlends.res2);
        }
      }
      out.sceneryRes2[p] = sceneryRes2;
      const sceneryD = Math.sqrt(sceneryRes2);
      for (let i = 0; i < COLORS; i++) {
        const q = p * COLORS + i;
        colorRes2[q] = res[i];
        colorCover[q] = cov[i];
        const margin = (cov[i] >= FULL_COVER ? PURE_SEED_MARGIN : SEED_MARGIN) * opts.chromaSmear;
        const clear = sceneryD >= Math.sqrt(res[i]) + margin;
        colorSeed[q] = isFill[i] && cov[i] >= SEED_COVERAGE && res[i] <= blendD2 && clear ? 1 : 0;
      }
      cover[p] = cov[best];
      if (cov[best] < 0.5) {
        cls[p] = FAINT;
        faintOf[p] = best;
        continue;
      }
      // Near-ties go to the scenery: a grey occluder's edge and a white object's rim can be
      // the same colour, and an object is never made of scenery edges alone.
      if (sceneryRes2 < bestRes2 + SCENERY_TIE * SCENERY_TIE) {
        cls[p] = SCENERY;
        continue;
      }
      cls[p] = best;
      seed[p] = colorSeed[p * COLORS + best];
    }
  }
  return out;
}
