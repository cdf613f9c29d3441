/**
 * Finds the objects in one frame from colour alone: every pixel is classified as background,
 * shadow, scenery (occluders and props) or one of the named object colours, pixels of one
 * colour are grown into connected blobs from well-covered seeds, and each blob gets a
 * coverage-weighted area and centroid (so anti-aliased edges give sub-pixel positions), its
 * lowest extent and the coverage patch that shape fitting reads.
 */
import { COLOR_NAMES, type ColorName } from "../scene.ts";
import { rowBackground } from "./background.ts";
import { BlendModel, blendFit, coverage, dist2, PALETTE, type Rgb, STRIPES } from "./colour.ts";
import type { CoveragePatch } from "./shape.ts";

export interface SegmentOptions {
  /** Colours of the scenery (sky, ground, occluders) that must never count as an object. */
  sceneryColors?: readonly Rgb[];
  /**
   * Scenery drawn over the background with anti-aliased edges (occluders, posts): a pixel that
   * is better explained as such an edge than as an object is scenery.
   */
  sceneryEdgeColors?: readonly Rgb[];
  /** Farthest (sRGB distance) a pixel may be from its palette colour to count as the object. */
  maxColorDistance?: number;
  /** A pixel this close to its row's background colour is background. */
  backgroundTolerance?: number;
  /** Shadows darken the ground to at most this fraction of its colour. */
  shadowDarkest?: number;
  /** First pixel row on which shadows may fall (the floor); by default none do. */
  shadowFromRow?: number;
  /** Blobs with a smaller coverage-weighted area (px²) are noise. */
  minArea?: number;
  /** Blobs narrower than this (px) in either direction get no coverage patch (too small to shape). */
  minShapeSize?: number;
}

export interface ResolvedSegmentOptions {
  sceneryColors: readonly Rgb[];
  sceneryEdgeColors: readonly Rgb[];
  maxColorDistance: number;
  backgroundTolerance: number;
  shadowDarkest: number;
  shadowFromRow: number;
  minArea: number;
  minShapeSize: number;
}

export function resolveSegmentOptions(o: SegmentOptions = {}): ResolvedSegmentOptions {
  const r: ResolvedSegmentOptions = {
    sceneryColors: o.sceneryColors ?? [],
    sceneryEdgeColors: o.sceneryEdgeColors ?? [],
    maxColorDistance: o.maxColorDistance ?? 90,
    backgroundTolerance: o.backgroundTolerance ?? 14,
    // The renderer darkens the floor by up to 45% under one object; shadows of objects
    // side by side multiply.
    shadowDarkest: o.shadowDarkest ?? 0.3,
    shadowFromRow: o.shadowFromRow ?? Number.MAX_SAFE_INTEGER,
    minArea: o.minArea ?? 1,
    minShapeSize: o.minShapeSize ?? 3,
  };
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === "number" && !(v >= 0 && Number.isFinite(v))) {
      throw new Error(`segment options: ${k} must be a finite number ≥ 0, got ${v}`);
    }
  }
  return r;
}

export interface Detection {
  color: ColorName;
  /** Index of the colour in COLOR_NAMES / PALETTE. */
  colorIndex: number;
  /** Coverage-weighted area in px². */
  area: number;
  /** Number of pixels classified as the object's colour. */
  pixels: number;
  /** Coverage-weighted centroid in pixel units (the centre of pixel (0,0) is (0.5, 0.5)). */
  cx: number;
  cy: number;
  /** Bounding box of the blob's pixels: [x0, y0, x1, y1), in pixels. */
  bbox: [number, number, number, number];
  /**
   * Lowest extent of the object (px, sub-pixel): the deepest pixel row it covers plus how much
   * of that row it covers. Tells resting on the floor from hovering just above it.
   */
  bottom: number;
  /** The blob touches the border of the frame (the object may be partly outside it). */
  touchesEdge: boolean;
  /** Which borders it touches: 1 left, 2 top, 4 right, 8 bottom. */
  edgeSides: number;
  /**
   * The blob's coverage around its bounding box (for shape fitting), or null when the blob is
   * too small or cut by the frame edge.
   */
  patch: CoveragePatch | null;
}

export interface FrameSegmentation {
  detections: Detection[];
  /**
   * 1 for pixels that are scenery standing out from the row background (occluders, props),
   * 0 elsewhere. Pixels touching an object are left out: they are the object's own edge.
   */
  scenery: Uint8Array;
}

const BACKGROUND = -1;
const SHADOW = -2;
const SCENERY = -3;
/** Mostly background, slightly blended with an object colour: a rim pixel at most. */
const FAINT = -4;
/** Farthest (sRGB distance) a pixel may lie from the background-to-colour blend line. */
const BLEND_RESIDUAL = 40;
/** How much worse (sRGB distance) a scenery explanation of a pixel may be and still win. */
const SCENERY_TIE = 2;
/**
 * A blob needs at least one seed pixel to count as an object: one covered this fully by the
 * object's fill colour, and (when it is a pure pixel) this close to the fill colour.
 */
const SEED_COVERAGE = 0.5;
const FILL_SEED_DISTANCE = 30;

/** Segments one packed RGB frame. */
export function segmentFrame(
  frame: Uint8Array,
  width: number,
  height: number,
  options: SegmentOptions = {},
): FrameSegmentation {
  if (frame.length !== width * height * 3) {
    throw new Error(
      `segmentFrame: frame has ${frame.length} bytes, expected ${width * height * 3} (${width}×${height}×3)`,
    );
  }
  const opts = resolveSegmentOptions(options);
  const rows = rowBackground(frame, width, height);
  const n = width * height;
  const cls = new Int8Array(n);
  const cover = new Float32Array(n);
  const faintOf = new Int8Array(n).fill(-1);
  const seed = new Uint8Array(n);
  classifyPixels(frame, width, height, rows, opts, cls, cover, faintOf, seed);

  // Blobs grow from well-covered seed pixels through 8-connected pixels of the same colour.
  const labels = new Int32Array(n).fill(-1);
  const blobs: { ci: number; xs: number[]; ys: number[] }[] = [];
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    const ci = cls[start];
    if (ci < 0 || labels[start] >= 0 || !seed[start]) continue;
    const id = blobs.length;
    const blob = { ci, xs: [] as number[], ys: [] as number[] };
    blobs.push(blob);
    let top = 0;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const p = stack[--top];
      const px = p % width;
      const py = (p - px) / width;
      blob.xs.push(px);
      blob.ys.push(py);
      for (let dy = -1; dy <= 1; dy++) {
        const qy = py + dy;
        if (qy < 0 || qy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const qx = px + dx;
          if ((dx === 0 && dy === 0) || qx < 0 || qx >= width) continue;
          const q = qy * width + qx;
          if (cls[q] === ci && labels[q] < 0) {
            labels[q] = id;
            stack[top++] = q;
          }
        }
      }
    }
  }
  // Palette-like pixels no seed reached are faint blends or scenery, not objects.
  for (let p = 0; p < n; p++) if (cls[p] >= 0 && labels[p] < 0) cls[p] = SCENERY;

  const detections: Detection[] = [];
  blobs.forEach((blob, id) => {
    const d = measureBlob(frame, width, height, rows, cls, cover, faintOf, labels, id, blob, opts);
    if (d.area >= opts.minArea) detections.push(d);
  });

  const scenery = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    if (cls[p] !== SCENERY && cls[p] !== FAINT) continue;
    const px = p % width;
    const py = (p - px) / width;
    let nearObject = false;
    for (let dy = -1; dy <= 1 && !nearObject; dy++) {
      const qy = py + dy;
      if (qy < 0 || qy >= height) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const qx = px + dx;
        if (qx >= 0 && qx < width && labels[qy * width + qx] >= 0) {
          nearObject = true;
          break;
        }
      }
    }
    if (!nearObject) scenery[p] = 1;
  }
  return { detections, scenery };
}

/**
 * Labels every pixel with a palette index (≥ 0) or BACKGROUND, SHADOW, SCENERY or FAINT, and fills
 * `cover` with the pixel's coverage by its palette colour. A pixel belongs to colour c when it
 * lies on the blend between its row's background and c at coverage ≥ 1/2: that way the
 * anti-aliased rim of a red ball over blue sky reads as part-red rather than as pink.
 */
function classifyPixels(
  frame: Uint8Array,
  width: number,
  height: number,
  rows: Rgb[],
  opts: ResolvedSegmentOptions,
  out: Int8Array,
  cover: Float32Array,
  faintOf: Int8Array,
  seed: Uint8Array,
): void {
  const bgTol2 = opts.backgroundTolerance * opts.backgroundTolerance;
  const maxD2 = opts.maxColorDistance * opts.maxColorDistance;
  const seedD2 = FILL_SEED_DISTANCE * FILL_SEED_DISTANCE;
  const scenery = opts.sceneryColors;
  const edges = opts.sceneryEdgeColors;
  // Pixels painted in an occluder's own colour: an object's rim next to one is blended over it.
  const edgeOf = new Int8Array(width * height).fill(-1);
  if (edges.length > 0) {
    for (let p = 0; p < width * height; p++) {
      const o = p * 3;
      for (let k = 0; k < edges.length; k++) {
        if (dist2(frame[o], frame[o + 1], frame[o + 2], edges[k]) < 144) {
          edgeOf[p] = k;
          break;
        }
      }
    }
  }
  const objects = OBJECT_BLENDS;
  const edgeBlends = new BlendModel(edges);
  for (let y = 0; y < height; y++) {
    const bg = rows[y];
    const bgNorm2 = bg[0] * bg[0] + bg[1] * bg[1] + bg[2] * bg[2];
    const darkest = y >= opts.shadowFromRow ? opts.shadowDarkest : 1;
    objects.setBackground(bg, darkest, 1600);
    edgeBlends.setBackground(bg, darkest, 1);
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const o = p * 3;
      const r = frame[o];
      const g = frame[o + 1];
      const b = frame[o + 2];
      if (dist2(r, g, b, bg) < bgTol2) {
        out[p] = BACKGROUND;
        continue;
      }
      // Painted in a scenery colour itself (an occluder's face): no object is.
      if (edgeOf[p] >= 0 && dist2(r, g, b, edges[edgeOf[p]]) <= 4) {
        out[p] = SCENERY;
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
      let bestRes2 = BLEND_RESIDUAL * BLEND_RESIDUAL;
      let bestCover = 0;
      // Whether the explanation is the object's own fill colour (stripes never seed a blob:
      // a dark stripe shade is too easily matched by some other colour's blend).
      let bestFill = false;
      for (let i = 0; i < PALETTE.length; i++) {
        // The object itself: its fill, its stripe (balls), or an anti-aliased mix of the two.
        const f = PALETTE[i];
        const d0 = STRIPE_STEP[i * 3];
        const d1 = STRIPE_STEP[i * 3 + 1];
        const d2 = STRIPE_STEP[i * 3 + 2];
        let t = ((r - f[0]) * d0 + (g - f[1]) * d1 + (b - f[2]) * d2) / STRIPE_STEP2[i];
        t = Math.min(1, Math.max(0, t));
        const e0 = r - f[0] - t * d0;
        const e1 = g - f[1] - t * d1;
        const e2 = b - f[2] - t * d2;
        const pure2 = e0 * e0 + e1 * e1 + e2 * e2;
        if (pure2 <= maxD2 && pure2 < bestRes2) {
          bestRes2 = pure2;
          best = i;
          bestCover = 1;
          bestFill = dist2(r, g, b, f) <= seedD2;
        }
        // Its rim: fill (or stripe) blended over the row's background. A faint blend (under
        // half) competes too, so that it is not mistaken for some other colour; it wins the
        // pixel for nobody (see below).
        for (let k = 0; k < 2; k++) {
          if (!objects.fit(2 * i + k, r, g, b)) continue;
          if (objects.a > 0.05 && objects.a < 1 && objects.res2 < bestRes2) {
            bestRes2 = objects.res2;
            best = i;
            bestCover = objects.a;
            bestFill = k === 0;
          }
          // Or blended over the occluder beside it.
          const c = k === 0 ? f : STRIPES[i];
          if (alt && dist2(c[0], c[1], c[2], alt) >= 1600) {
            const fa = blendFit(r, g, b, c, alt, 1);
            if (fa.a > 0.05 && fa.a < 1 && fa.res2 < bestRes2) {
              bestRes2 = fa.res2;
              best = i;
              bestCover = fa.a;
              bestFill = k === 0;
            }
          }
        }
      }
      // A shadow is the row's background darkened: p ≈ k·bg for some k in [shadowDarkest, 1).
      if (bgNorm2 > 0) {
        const k = (r * bg[0] + g * bg[1] + b * bg[2]) / bgNorm2;
        if (k >= darkest && k < 1) {
          const s0 = r - k * bg[0];
          const s1 = g - k * bg[1];
          const s2 = b - k * bg[2];
          const res2 = s0 * s0 + s1 * s1 + s2 * s2;
          if (res2 < 400 && (best < 0 || res2 < bestRes2)) {
            out[p] = SHADOW;
            continue;
          }
        }
      }
      if (best < 0) {
        out[p] = SCENERY;
        continue;
      }
      if (bestCover < 0.5) {
        out[p] = FAINT;
        faintOf[p] = best;
        cover[p] = bestCover;
        continue;
      }
      // Near-ties go to the scenery: a grey occluder's edge and a white object's rim can be
      // the same colour, and an object is never made of scenery edges alone.
      const sceneryBound = bestRes2 + SCENERY_TIE * SCENERY_TIE;
      let isScenery = false;
      for (let k = 0; k < scenery.length; k++) {
        if (dist2(r, g, b, scenery[k]) < sceneryBound) {
          isScenery = true;
          break;
        }
      }
      for (let k = 0; k < edges.length && !isScenery; k++) {
        if (edgeBlends.fit(k, r, g, b) && edgeBlends.a > 0.05 && edgeBlends.res2 < sceneryBound) {
          isScenery = true;
        }
      }
      out[p] = isScenery ? SCENERY : best;
      cover[p] = bestCover;
      if (!isScenery && bestFill && bestCover >= SEED_COVERAGE) seed[p] = 1;
    }
  }
}

/** Every object appearance (fill, then stripe, of each palette colour) for blend fitting. */
const OBJECT_BLENDS = new BlendModel(PALETTE.flatMap((c, i) => [c, STRIPES[i]]));
/** Step from each palette colour's fill to its stripe, and its squared length. */
const STRIPE_STEP = new Float64Array(
  PALETTE.flatMap((c, i) => [0, 1, 2].map((k) => STRIPES[i][k] - c[k])),
);
const STRIPE_STEP2 = new Float64Array(
  PALETTE.map(
    (_, i) => STRIPE_STEP[i * 3] ** 2 + STRIPE_STEP[i * 3 + 1] ** 2 + STRIPE_STEP[i * 3 + 2] ** 2,
  ),
);

/** Coverage-weighted area and centroid of one blob, its anti-aliased rim included. */
function measureBlob(
  frame: Uint8Array,
  width: number,
  height: number,
  rows: Rgb[],
  cls: Int8Array,
  cover: Float32Array,
  faintOf: Int8Array,
  labels: Int32Array,
  id: number,
  blob: { ci: number; xs: number[]; ys: number[] },
  opts: ResolvedSegmentOptions,
): Detection {
  const { ci, xs, ys } = blob;
  const c = PALETTE[ci];
  let area = 0;
  let sx = 0;
  let sy = 0;
  let x0 = width;
  let y0 = height;
  let x1 = 0;
  let y1 = 0;
  const rim = new Set<number>();
  const rimCover = new Map<number, number>();
  let bottom = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys[i];
    const w = cover[y * width + x];
    area += w;
    sx += w * (x + 0.5);
    sy += w * (y + 0.5);
    if (y + w > bottom) bottom = y + w;
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x + 1 > x1) x1 = x + 1;
    if (y + 1 > y1) y1 = y + 1;
    for (let dy = -1; dy <= 1; dy++) {
      const qy = y + dy;
      if (qy < 0 || qy >= height) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const qx = x + dx;
        if (qx < 0 || qx >= width) continue;
        const q = qy * width + qx;
        if (labels[q] < 0 && cls[q] !== SHADOW) rim.add(q);
      }
    }
  }
  // Rim pixels: the part of the object the renderer blended into the background.
  for (const q of rim) {
    const x = q % width;
    const y = (q - x) / width;
    let a: number;
    if (cls[q] === FAINT && faintOf[q] === ci) {
      // Classification already explained this pixel as a faint blend of this colour.
      a = cover[q];
    } else {
      const bg = rows[y];
      if (dist2(c[0], c[1], c[2], bg) < 1600) continue;
      const o = q * 3;
      a = coverage(frame[o], frame[o + 1], frame[o + 2], c, bg);
      if (a <= 0.02) continue;
      const res2 = dist2(frame[o], frame[o + 1], frame[o + 2], [
        bg[0] + a * (c[0] - bg[0]),
        bg[1] + a * (c[1] - bg[1]),
        bg[2] + a * (c[2] - bg[2]),
      ]);
      if (res2 > BLEND_RESIDUAL * BLEND_RESIDUAL) continue;
    }
    const w = Math.min(a, 0.5);
    if (y + a > bottom) bottom = y + a;
    rimCover.set(q, w);
    area += w;
    sx += w * (x + 0.5);
    sy += w * (y + 0.5);
  }
  const cx = sx / area;
  const cy = sy / area;
  const edgeSides =
    (x0 === 0 ? 1 : 0) | (y0 === 0 ? 2 : 0) | (x1 === width ? 4 : 0) | (y1 === height ? 8 : 0);
  const touchesEdge = edgeSides !== 0;
  const big = x1 - x0 >= opts.minShapeSize && y1 - y0 >= opts.minShapeSize;
  return {
    color: COLOR_NAMES[ci],
    colorIndex: ci,
    area,
    pixels: xs.length,
    cx,
    cy,
    bbox: [x0, y0, x1, y1],
    bottom,
    touchesEdge,
    edgeSides,
    patch:
      big && !touchesEdge
        ? coveragePatch(width, cover, labels, id, rimCover, [x0, y0, x1, y1])
        : null,
  };
}

/** The blob's coverage over its bounding box grown by one pixel (its rim). */
function coveragePatch(
  width: number,
  cover: Float32Array,
  labels: Int32Array,
  id: number,
  rimCover: Map<number, number>,
  bbox: [number, number, number, number],
): CoveragePatch {
  const px0 = bbox[0] - 1;
  const py0 = bbox[1] - 1;
  const w = bbox[2] - bbox[0] + 2;
  const h = bbox[3] - bbox[1] + 2;
  const out = new Float32Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const q = (py0 + j) * width + px0 + i;
      out[j * w + i] = labels[q] === id ? cover[q] : (rimCover.get(q) ?? 0);
    }
  }
  return { x0: px0, y0: py0, w, h, cover: out };
}
