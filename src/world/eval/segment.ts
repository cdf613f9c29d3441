/**
 * Finds the objects in one frame from colour alone: every pixel is classified as background,
 * shadow, scenery (occluders and props) or one of the named object colours (classify.ts), the
 * classes are checked region by region (regions.ts), pixels of one colour are grown into
 * connected blobs from well-covered seeds, and each blob gets a
 * coverage-weighted area and centroid (so anti-aliased edges give sub-pixel positions), its
 * lowest extent and the coverage patch that shape fitting reads.
 */
import { COLOR_NAMES, type ColorName } from "../scene.ts";
import { rowBackground } from "./background.ts";
import {
  BLEND_RESIDUAL,
  classifyPixels,
  FAINT,
  FILLS,
  type PixelClasses,
  SCENERY,
  SHADES,
  SHADOW,
  SHADOW_RESIDUAL,
} from "./classify.ts";
import { dist2, type Rgb } from "./colour.ts";
import { metricFrame, toMetric } from "./metric.ts";
import { neighbours } from "./neighbours.ts";
import { refineRegions } from "./regions.ts";
import type { CoveragePatch } from "./shape.ts";
import { SmearModel } from "./smear-fit.ts";

/** Scratch for neighbours(): filled and read before the next call. */
const NB = new Int32Array(9);
/** A shadow is its floor blended toward black. */
const BLACK: Rgb = [0, 0, 0];

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
  /**
   * How much the frame's colour is smeared by a codec, 0 (exact colours, the default) to 1
   * (yuv420p): see smear.ts, which measures it for a clip.
   */
  chromaSmear?: number;
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
  chromaSmear: number;
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
    chromaSmear: o.chromaSmear ?? 0,
  };
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === "number" && !(v >= 0 && Number.isFinite(v))) {
      throw new Error(`segment options: ${k} must be a finite number ≥ 0, got ${v}`);
    }
  }
  if (r.chromaSmear > 1) {
    throw new Error(`segment options: chromaSmear must be in [0, 1], got ${r.chromaSmear}`);
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
  const rows = rowBackground(frame, width, height).map(toMetric);
  const metric = metricFrame(frame);
  const n = width * height;
  const classes = classifyPixels(metric, width, height, rows, opts);
  refineRegions(classes, width, height, opts.chromaSmear);
  const { cls, seed } = classes;

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
      const k = neighbours(p, width, height, NB);
      for (let i = 0; i < k; i++) {
        const q = NB[i];
        if (cls[q] === ci && labels[q] < 0) {
          labels[q] = id;
          stack[top++] = q;
        }
      }
    }
  }
  // Palette-like pixels no seed reached are faint blends or scenery, not objects.
  for (let p = 0; p < n; p++) if (cls[p] >= 0 && labels[p] < 0) cls[p] = SCENERY;

  // Only a codec smears one colour's rim into another's.
  const absorbed =
    opts.chromaSmear >= 0.5
      ? absorbFringes(metric, rows, classes, width, height, blobs, labels, opts.chromaSmear)
      : blobs.map(() => false);

  // With exact colours a shadow is classified as one pixel by pixel (classify.ts).
  if (opts.chromaSmear >= 0.5) {
    absorbShadows(metric, rows, classes, width, blobs, labels, absorbed, opts);
  }

  const detections: Detection[] = [];
  blobs.forEach((blob, id) => {
    if (absorbed[id]) return;
    const d = measureBlob(metric, width, height, rows, classes, labels, id, blob, opts);
    if (d.area >= opts.minArea) detections.push(d);
  });

  const scenery = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    if (cls[p] !== SCENERY && cls[p] !== FAINT) continue;
    let nearObject = false;
    const k = neighbours(p, width, height, NB, true);
    for (let i = 0; i < k && !nearObject; i++) nearObject = labels[NB[i]] >= 0;
    if (!nearObject) scenery[p] = 1;
  }
  return { detections, scenery };
}

/**
 * A blob of one colour lying against a bigger blob of another colour, every pixel of which that
 * other colour explains as well (its blend over the background, or its own fill), is that
 * object's rim: a codec smears a saturated colour's edge into a duller colour of the same hue
 * (orange's into brown). Its pixels become faint rim pixels of the bigger blob. Returns which
 * blobs were absorbed.
 */
function absorbFringes(
  frame: Float32Array,
  rows: readonly Rgb[],
  classes: PixelClasses,
  width: number,
  height: number,
  blobs: { ci: number; xs: number[]; ys: number[] }[],
  labels: Int32Array,
  smear: number,
): boolean[] {
  const { cls, cover, faintOf } = classes;
  const absorbed = new Array<boolean>(blobs.length).fill(false);
  const fit = new SmearModel(smear);
  const bound2 = BLEND_RESIDUAL * BLEND_RESIDUAL;
  const order = [...blobs.keys()].sort((a, b) => blobs[a].xs.length - blobs[b].xs.length);
  for (const id of order) {
    const blob = blobs[id];
    // Bigger blobs of other colours touching this one.
    const hosts = new Set<number>();
    for (let i = 0; i < blob.xs.length; i++) {
      const k = neighbours(blob.ys[i] * width + blob.xs[i], width, height, NB, true);
      for (let j = 0; j < k; j++) {
        const other = labels[NB[j]];
        if (other < 0 || other === id || absorbed[other]) continue;
        if (blobs[other].ci !== blob.ci && blobs[other].xs.length > blob.xs.length) {
          hosts.add(other);
        }
      }
    }
    for (const host of hosts) {
      const hc = blobs[host].ci;
      // How well the host's colour explains each pixel: its fill (smeared toward the
      // background), or its fill or stripe blended over the background at any coverage.
      const covers = new Float32Array(blob.xs.length);
      let all = true;
      for (let i = 0; i < blob.xs.length && all; i++) {
        const y = blob.ys[i];
        const o = (y * width + blob.xs[i]) * 3;
        const bg = rows[y];
        let best = fit.distance2(frame[o], frame[o + 1], frame[o + 2], FILLS[hc], bg);
        let a = 1;
        for (const c of [FILLS[hc], SHADES[hc]]) {
          if (dist2(c[0], c[1], c[2], bg) < 1600) continue;
          fit.fit(frame[o], frame[o + 1], frame[o + 2], bg, c);
          if (fit.res2 < best) {
            best = fit.res2;
            a = fit.a;
          }
        }
        covers[i] = a;
        all = best <= bound2;
      }
      if (!all) continue;
      absorbed[id] = true;
      blob.xs.forEach((x, i) => {
        const p = blob.ys[i] * width + x;
        labels[p] = -1;
        cls[p] = FAINT;
        faintOf[p] = hc;
        cover[p] = covers[i];
      });
      break;
    }
  }
  return absorbed;
}

/**
 * A small blob on the floor, under a bigger object of another colour that rises above it, every
 * pixel of which is also the floor darkened as a shadow is, is that object's shadow. With exact
 * colours a shadow is the floor times k and fits better than any object colour. After encoding,
 * the floor's first rows share their colour (chroma) with the object's lowest pixels, so the
 * dark shadow right under it takes on some of the object's colour: under a white ball a dark
 * grey (black's fill as much as a shadow), under a red box a dark red-brown (brown's blend).
 * So a pixel counts as shadow when its brightness is the floor's darkened, and its colour lies
 * between the darkened floor's and the object's. Its pixels become shadow.
 */
function absorbShadows(
  frame: Float32Array,
  rows: readonly Rgb[],
  classes: PixelClasses,
  width: number,
  blobs: { ci: number; xs: number[]; ys: number[] }[],
  labels: Int32Array,
  absorbed: boolean[],
  opts: ResolvedSegmentOptions,
): void {
  const { cls } = classes;
  const fit = new SmearModel(opts.chromaSmear);
  const height = labels.length / width;
  const bound2 = SHADOW_RESIDUAL * SHADOW_RESIDUAL;
  blobs.forEach((blob, id) => {
    const top = topRow(blob.ys);
    if (absorbed[id] || top < opts.shadowFromRow) return;
    // The object: within two pixels (its own anti-aliased rim may lie between).
    let host = -1;
    for (let i = 0; i < blob.xs.length && host < 0; i++) {
      for (let dy = -2; dy <= 2 && host < 0; dy++) {
        for (let dx = -2; dx <= 2 && host < 0; dx++) {
          const x = blob.xs[i] + dx;
          const y = blob.ys[i] + dy;
          if (x < 0 || y < 0 || x >= width || y >= height) continue;
          const other = labels[y * width + x];
          if (other < 0 || other === id || absorbed[other]) continue;
          const b = blobs[other];
          if (b.ci !== blob.ci && b.xs.length > blob.xs.length && topRow(b.ys) < top) host = other;
        }
      }
    }
    if (host < 0) return;
    const hc = blobs[host].ci;
    for (let i = 0; i < blob.xs.length; i++) {
      const o = (blob.ys[i] * width + blob.xs[i]) * 3;
      const bg = rows[blob.ys[i]];
      // The floor darkened to the pixel's brightness.
      const k = bg[0] > 0 ? frame[o] / bg[0] : 1;
      if (k < opts.shadowDarkest || k >= 1) return;
      const shade: Rgb = [k * bg[0], k * bg[1], k * bg[2]];
      let res2 = fit.fit(frame[o], frame[o + 1], frame[o + 2], bg, BLACK).res2;
      for (const c of [FILLS[hc], SHADES[hc]]) {
        res2 = Math.min(res2, fit.distance2(frame[o], frame[o + 1], frame[o + 2], shade, c));
      }
      if (res2 >= bound2) return;
    }
    absorbed[id] = true;
    blob.xs.forEach((x, i) => {
      const p = blob.ys[i] * width + x;
      labels[p] = -1;
      cls[p] = SHADOW;
    });
  });
}

/** The topmost of a blob's pixel rows. */
function topRow(ys: number[]): number {
  let top = Number.POSITIVE_INFINITY;
  for (const y of ys) if (y < top) top = y;
  return top;
}

/** Coverage-weighted area and centroid of one blob, its anti-aliased rim included. */
function measureBlob(
  frame: Float32Array,
  width: number,
  height: number,
  rows: Rgb[],
  classes: PixelClasses,
  labels: Int32Array,
  id: number,
  blob: { ci: number; xs: number[]; ys: number[] },
  opts: ResolvedSegmentOptions,
): Detection {
  const { ci, xs, ys } = blob;
  const { cls, cover, faintOf, sceneryRes2 } = classes;
  const c = FILLS[ci];
  let area = 0;
  let sx = 0;
  let sy = 0;
  let x0 = width;
  let y0 = height;
  let x1 = 0;
  let y1 = 0;
  const rim = new Set<number>();
  const fit = new SmearModel(opts.chromaSmear);
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
    const k = neighbours(y * width + x, width, height, NB, true);
    for (let j = 0; j < k; j++) {
      const q = NB[j];
      if (labels[q] < 0 && cls[q] !== SHADOW) rim.add(q);
    }
  }
  // Rim pixels: the part of the object the renderer blended into the background.
  for (const q of rim) {
    const x = q % width;
    const y = (q - x) / width;
    let a: number;
    if (enclosed(labels, width, height, x, y, id)) {
      // A hole inside the blob (a ball's stripe taken for scenery, codec noise): the object.
      a = 1;
    } else if (cls[q] === FAINT && faintOf[q] === ci) {
      // Classification already explained this pixel as a faint blend of this colour.
      a = cover[q];
    } else {
      const bg = rows[y];
      if (dist2(c[0], c[1], c[2], bg) < 1600) continue;
      const o = q * 3;
      fit.fit(frame[o], frame[o + 1], frame[o + 2], bg, c);
      a = fit.a;
      if (a <= 0.02) continue;
      if (fit.res2 > BLEND_RESIDUAL * BLEND_RESIDUAL) continue;
      // After encoding, scenery beside the object (a wall behind it) can fit a blend of its
      // colour as well as it fits the scenery. (Exact colours tell them apart; there a faint rim
      // over the sky would be as close to the sky's own colour.)
      if (opts.chromaSmear >= 0.5 && sceneryRes2[q] <= fit.res2) continue;
    }
    const w = a === 1 ? 1 : Math.min(a, 0.5);
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

/** Whether at least 7 of the 8 neighbours of (x, y) belong to blob `id`. */
function enclosed(
  labels: Int32Array,
  width: number,
  height: number,
  x: number,
  y: number,
  id: number,
): boolean {
  if (x === 0 || y === 0 || x === width - 1 || y === height - 1) return false;
  let inside = 0;
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      if ((dx !== 0 || dy !== 0) && labels[(y + dy) * width + x + dx] === id) inside++;
    }
  }
  return inside >= 7;
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
