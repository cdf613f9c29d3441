/**
 * Ways to break a clip on purpose, to check that the evaluator notices exactly what broke:
 * frames out of order, an object repainted in another colour, an object that jumps across the
 * frame, an object that vanishes in the open. Each returns a new Video; the input is untouched.
 *
 * An object's pixels are found the way the renderer made them: its fill (and a ball's stripe)
 * exactly, plus its anti-aliased rim, a blend of that colour with the row's background or with
 * the scenery beside it. Where an object is removed, the pixels it hid are taken from the
 * nearest frame in which neither it nor another object covers them.
 */
import { assertVideo, type Video } from "../../media/video.ts";
import { Rng } from "../../util/rng.ts";
import { groundRow } from "../camera.ts";
import { stripeColor } from "../render.ts";
import { COLOR_NAMES, type ColorName, OBJECT_COLORS } from "../scene.ts";
import { rowBackground } from "./background.ts";
import { blendFit, dist2, type Rgb } from "./colour.ts";
import { neighbours } from "./neighbours.ts";

/** Scratch for neighbours(): filled and read before the next call. */
const NB = new Int32Array(9);

/** The frames in a random order (never the original one when there are two or more). */
export function shuffleFrames(video: Video, seed: number): Video {
  assertVideo(video, "shuffleFrames: video");
  if (!Number.isFinite(seed))
    throw new Error(`shuffleFrames: seed must be a finite number, got ${seed}`);
  const rng = new Rng(seed);
  const n = video.frames.length;
  let order = rng.shuffle([...Array(n).keys()]);
  while (n > 1 && order.every((v, i) => v === i)) order = rng.shuffle(order);
  return { ...video, frames: order.map((i) => video.frames[i].slice()) };
}

/** Repaints every object of colour `from` in colour `to`, rims included. */
export function recolorObject(video: Video, from: ColorName, to: ColorName): Video {
  assertVideo(video, "recolorObject: video");
  checkColor("recolorObject", from);
  checkColor("recolorObject", to);
  const src = paints(from);
  const dst = paints(to);
  const frames = video.frames.map((frame) => {
    const out = frame.slice();
    const m = objectPixels(frame, video.width, video.height, from);
    for (let p = 0; p < m.cover.length; p++) {
      const a = m.cover[p];
      if (a <= 0) continue;
      const t = m.stripe[p];
      const o = p * 3;
      for (let k = 0; k < 3; k++) {
        const was = src.fill[k] + t * (src.stripe[k] - src.fill[k]);
        const now = dst.fill[k] + t * (dst.stripe[k] - dst.fill[k]);
        out[o + k] = clampByte(frame[o + k] + a * (now - was));
      }
    }
    return out;
  });
  return { ...video, frames };
}

/**
 * From frame `atFrame` on, every object of colour `color` is shown (dx, dy) pixels away from
 * where it is: it jumps across the frame mid-clip.
 */
export function teleportObject(
  video: Video,
  color: ColorName,
  atFrame: number,
  dx: number,
  dy = 0,
): Video {
  assertVideo(video, "teleportObject: video");
  checkColor("teleportObject", color);
  checkFrame("teleportObject", video, atFrame);
  if (!Number.isInteger(dx) || !Number.isInteger(dy) || (dx === 0 && dy === 0)) {
    throw new Error(
      `teleportObject: dx and dy must be whole pixels, not both 0, got (${dx}, ${dy})`,
    );
  }
  const { width, height } = video;
  const masks = video.frames.map((frame) => objectPixels(frame, width, height, color));
  const frames = video.frames.map((frame, f) => {
    if (f < atFrame) return frame.slice();
    const out = frame.slice();
    const m = masks[f];
    erase(out, video, masks, f);
    for (let p = 0; p < m.cover.length; p++) {
      const a = m.cover[p];
      if (a <= 0) continue;
      const x = (p % width) + dx;
      const y = Math.floor(p / width) + dy;
      if (x < 0 || y < 0 || x >= width || y >= height) continue;
      // The object's own colour at this pixel, unblended from what it was drawn over.
      const o = p * 3;
      const q = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        const own = (frame[o + k] - (1 - a) * m.under[o + k]) / a;
        out[q + k] = clampByte(out[q + k] * (1 - a) + own * a);
      }
    }
    return out;
  });
  return { ...video, frames };
}

/** From frame `fromFrame` on, every object of colour `color` is gone. */
export function deleteObjectMidClip(video: Video, color: ColorName, fromFrame: number): Video {
  assertVideo(video, "deleteObjectMidClip: video");
  checkColor("deleteObjectMidClip", color);
  checkFrame("deleteObjectMidClip", video, fromFrame);
  const { width, height } = video;
  // One pixel around the object too: a faint rim blended over scenery (not the row's
  // background) can escape the mask, and a rim left behind is still a trace of the object.
  const masks = video.frames.map((frame) =>
    grown(objectPixels(frame, width, height, color), width, height),
  );
  const frames = video.frames.map((frame, f) => {
    const out = frame.slice();
    if (f >= fromFrame) erase(out, video, masks, f);
    return out;
  });
  return { ...video, frames };
}

/** The mask with every pixel next to a covered one marked as faintly covered. */
function grown(m: ObjectPixels, width: number, height: number): ObjectPixels {
  const cover = m.cover.slice();
  for (let p = 0; p < cover.length; p++) {
    if (m.cover[p] > 0) continue;
    const k = neighbours(p, width, height, NB, true);
    for (let i = 0; i < k; i++) {
      if (m.cover[NB[i]] > 0) {
        cover[p] = 0.01;
        break;
      }
    }
  }
  return { ...m, cover };
}

function checkColor(fn: string, c: string): void {
  if (!COLOR_NAMES.includes(c as ColorName)) {
    throw new Error(`${fn}: unknown colour "${c}"; expected one of ${COLOR_NAMES.join(", ")}`);
  }
}

function checkFrame(fn: string, video: Video, f: number): void {
  if (!Number.isInteger(f) || f < 0 || f >= video.frames.length) {
    throw new Error(`${fn}: frame must be an integer in 0..${video.frames.length - 1}, got ${f}`);
  }
}

function paints(c: ColorName): { fill: Rgb; stripe: Rgb } {
  return { fill: OBJECT_COLORS[c], stripe: stripeColor(OBJECT_COLORS[c]) };
}

/**
 * Puts back what each object pixel of frame f hid: the same pixel in the nearest frame where no
 * such object covers it (exact for a still camera), else what its rim was blended over.
 */
function erase(out: Uint8Array, video: Video, masks: ObjectPixels[], f: number): void {
  const m = masks[f];
  for (let p = 0; p < m.cover.length; p++) {
    if (m.cover[p] <= 0) continue;
    const o = p * 3;
    let source: Uint8Array | null = null;
    const usable = (g: number) =>
      g >= 0 && g < video.frames.length && masks[g].cover[p] <= 0 && !paintLike(video.frames[g], o);
    for (let d = 1; d < video.frames.length && !source; d++) {
      if (usable(f - d)) source = video.frames[f - d];
      else if (usable(f + d)) source = video.frames[f + d];
    }
    for (let k = 0; k < 3; k++) out[o + k] = source ? source[o + k] : clampByte(m.under[o + k]);
  }
}

/** Whether a pixel is (close to) some object's paint: another object passing there then. */
function paintLike(frame: Uint8Array, o: number): boolean {
  for (const c of Object.values(OBJECT_COLORS)) {
    if (dist2(frame[o], frame[o + 1], frame[o + 2], c) < 3600) return true;
    const s = stripeColor(c);
    if (dist2(frame[o], frame[o + 1], frame[o + 2], s) < 3600) return true;
  }
  return false;
}

interface ObjectPixels {
  /** Coverage (0..1) of each pixel by the object. */
  cover: Float32Array;
  /** Where on the fill-to-stripe scale a fully covered pixel's paint lies (0 fill, 1 stripe). */
  stripe: Float32Array;
  /** What the object was drawn over at each pixel (packed RGB). */
  under: Float32Array;
}

/**
 * The pixels of every object of one colour. An object is grown from seeds (its paint, or a
 * nearly full blend) through pixels blended at least 30% with what lies behind (the row's
 * background, darkened by a shadow on the floor, or scenery next to it), then its faint
 * rim is added. Growing from seeds keeps look-alikes out: a pale pillar over a dark sky is
 * a blend of white with the sky, but holds no white paint.
 */
function objectPixels(
  frame: Uint8Array,
  width: number,
  height: number,
  color: ColorName,
): ObjectPixels {
  const { fill, stripe } = paints(color);
  const n = width * height;
  const cover = new Float32Array(n);
  const along = new Float32Array(n);
  const under = new Float32Array(n * 3);
  const seed = new Uint8Array(n);
  const ux = stripe[0] - fill[0];
  const uy = stripe[1] - fill[1];
  const uz = stripe[2] - fill[2];
  const uu = ux * ux + uy * uy + uz * uz;
  const rows = rowBackground(frame, width, height);
  const floor = Math.floor(groundRow(height)) - 1;
  for (let y = 0; y < height; y++) {
    const bg = rows[y];
    const darkest = y >= floor ? 0.3 : 1;
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const o = p * 3;
      const r = frame[o];
      const g = frame[o + 1];
      const b = frame[o + 2];
      under[o] = bg[0];
      under[o + 1] = bg[1];
      under[o + 2] = bg[2];
      let t = ((r - fill[0]) * ux + (g - fill[1]) * uy + (b - fill[2]) * uz) / uu;
      t = Math.min(1, Math.max(0, t));
      if (dist2(r, g, b, [fill[0] + t * ux, fill[1] + t * uy, fill[2] + t * uz]) <= 9) {
        cover[p] = 1;
        along[p] = t;
        seed[p] = 1;
        continue;
      }
      // Its fill blended over the background (maybe in a shadow), or its paint anywhere between
      // fill and (a ball's) stripe blended over it.
      let best = { a: 0, res2: 65 };
      let behind: Rgb = bg;
      let paint = 0;
      if (dist2(fill[0], fill[1], fill[2], bg) >= 400) {
        const f = blendFit(r, g, b, fill, bg, darkest);
        if (f.a > 0.02 && f.a < 1 && f.res2 < best.res2) best = f;
        const m = mixFit(r, g, b, fill, stripe, bg);
        if (m && m.a > 0.02 && m.a < 1 && m.res2 < best.res2) {
          best = m;
          paint = m.t;
        }
      }
      // Not a blend over the background: maybe over the scenery beside it (an occluder, or its
      // own anti-aliased edge), whose colour a nearby pixel shows.
      if (best.res2 > 9 && dist2(r, g, b, bg) > 36) {
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            const qx = x + dx;
            const qy = y + dy;
            if (qx < 0 || qy < 0 || qx >= width || qy >= height || (dx === 0 && dy === 0)) continue;
            const q = (qy * width + qx) * 3;
            const near: Rgb = [frame[q], frame[q + 1], frame[q + 2]];
            // Only colours that are clearly not the object itself can be what lies behind it.
            if (
              dist2(near[0], near[1], near[2], fill) < 3600 ||
              dist2(near[0], near[1], near[2], stripe) < 3600
            ) {
              continue;
            }
            const f = blendFit(r, g, b, fill, near, 1);
            if (f.a > 0.02 && f.a < 1 && f.res2 < best.res2) {
              best = f;
              behind = near;
              paint = 0;
            }
          }
        }
      }
      if (best.a <= 0) continue;
      cover[p] = best.a;
      along[p] = paint;
      under[o] = behind[0];
      under[o + 1] = behind[1];
      under[o + 2] = behind[2];
      if (best.a >= 0.85 && best.res2 <= 9) seed[p] = 1;
    }
  }
  // Keep what connects to a seed through solid (≥ 30%) pixels, plus the faint rim around it.
  const keep = new Uint8Array(n);
  const stack: number[] = [];
  for (let p = 0; p < n; p++) {
    if (seed[p]) {
      keep[p] = 1;
      stack.push(p);
    }
  }
  while (stack.length > 0) {
    const p = stack.pop()!;
    const k = neighbours(p, width, height, NB, true);
    for (let i = 0; i < k; i++) {
      const q = NB[i];
      if (keep[q] || cover[q] < 0.3) continue;
      keep[q] = 1;
      stack.push(q);
    }
  }
  for (let p = 0; p < n; p++) {
    if (keep[p] || cover[p] <= 0) continue;
    if (touches(keep, width, height, p)) keep[p] = 2;
  }
  for (let p = 0; p < n; p++) if (!keep[p]) cover[p] = 0;
  return { cover, stripe: along, under };
}

function touches(keep: Uint8Array, width: number, height: number, p: number): boolean {
  const k = neighbours(p, width, height, NB, true);
  for (let i = 0; i < k; i++) if (keep[NB[i]] === 1) return true;
  return false;
}

/**
 * Pixel p as paint somewhere between fill and stripe, blended over bg:
 * p − bg = a(fill − bg) + a·t(stripe − fill), solved for (a, a·t) by least squares.
 */
function mixFit(
  r: number,
  g: number,
  b: number,
  fill: Rgb,
  stripe: Rgb,
  bg: Rgb,
): { a: number; t: number; res2: number } | null {
  const u = [fill[0] - bg[0], fill[1] - bg[1], fill[2] - bg[2]];
  const v = [stripe[0] - fill[0], stripe[1] - fill[1], stripe[2] - fill[2]];
  const d = [r - bg[0], g - bg[1], b - bg[2]];
  const uu = u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
  const vv = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
  const uv = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  const du = d[0] * u[0] + d[1] * u[1] + d[2] * u[2];
  const dv = d[0] * v[0] + d[1] * v[1] + d[2] * v[2];
  const det = uu * vv - uv * uv;
  if (det < 1e-6 * uu * vv) return null;
  const a = (du * vv - dv * uv) / det;
  const at = (uu * dv - uv * du) / det;
  if (!(a > 0 && a < 1 && at >= 0 && at <= a)) return null;
  let res2 = 0;
  for (let k = 0; k < 3; k++) res2 += (d[k] - a * u[k] - at * v[k]) ** 2;
  return { a, t: at / a, res2 };
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}
