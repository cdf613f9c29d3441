/**
 * Ways to break a clip on purpose, to check that the evaluator notices exactly what broke:
 * frames out of order, an object repainted in another colour, an object that jumps across the
 * frame, an object that vanishes in the open. Each returns a new Video; the input is untouched.
 *
 * An object's pixels are found the way the renderer made them: its fill (and a ball's stripe)
 * exactly, plus its anti-aliased rim, a blend of that colour with the row's background, next to
 * those. Where an object is removed, the row's background colour is put back.
 */
import { assertVideo, type Video } from "../../media/video.ts";
import { Rng } from "../../util/rng.ts";
import { groundRow } from "../camera.ts";
import { stripeColor } from "../render.ts";
import { COLOR_NAMES, type ColorName, OBJECT_COLORS } from "../scene.ts";
import { rowBackground } from "./background.ts";
import { blendFit, dist2, type Rgb } from "./colour.ts";

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
  const frames = video.frames.map((frame, f) => {
    if (f < atFrame) return frame.slice();
    const out = frame.slice();
    const rows = rowBackground(frame, width, height);
    const m = objectPixels(frame, width, height, color);
    erase(out, width, m.cover, rows);
    for (let p = 0; p < m.cover.length; p++) {
      const a = m.cover[p];
      if (a <= 0) continue;
      const x = (p % width) + dx;
      const y = Math.floor(p / width) + dy;
      if (x < 0 || y < 0 || x >= width || y >= height) continue;
      // The object's own colour at this pixel, unblended from the background it sat on.
      const bg = rows[Math.floor(p / width)];
      const o = p * 3;
      const q = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        const own = (frame[o + k] - (1 - a) * bg[k]) / a;
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
  const frames = video.frames.map((frame, f) => {
    const out = frame.slice();
    if (f < fromFrame) return out;
    const rows = rowBackground(frame, width, height);
    erase(out, width, objectPixels(frame, width, height, color).cover, rows);
    return out;
  });
  return { ...video, frames };
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
 * Puts the row's background back wherever the object covered a pixel: rims were found as blends
 * over exactly that colour, and fully covered pixels hid the sky or floor, which is uniform
 * along a row.
 */
function erase(out: Uint8Array, width: number, cover: Float32Array, rows: Rgb[]): void {
  for (let p = 0; p < cover.length; p++) {
    if (cover[p] <= 0) continue;
    const bg = rows[Math.floor(p / width)];
    const o = p * 3;
    for (let k = 0; k < 3; k++) out[o + k] = clampByte(bg[k]);
  }
}

/**
 * Coverage (0..1) of each pixel by objects of one colour, and where on the fill-to-stripe scale
 * the paint of fully covered pixels lies (0 fill, 1 stripe). Pixels of the paint itself, or
 * blended at least 30% with the row's background (darkened by a shadow on the floor), are the
 * object; fainter blends count where they touch those.
 */
function objectPixels(
  frame: Uint8Array,
  width: number,
  height: number,
  color: ColorName,
): { cover: Float32Array; stripe: Float32Array } {
  const { fill, stripe } = paints(color);
  const n = width * height;
  const cover = new Float32Array(n);
  const along = new Float32Array(n);
  const faint = new Float32Array(n);
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
      let t = ((r - fill[0]) * ux + (g - fill[1]) * uy + (b - fill[2]) * uz) / uu;
      t = Math.min(1, Math.max(0, t));
      if (dist2(r, g, b, [fill[0] + t * ux, fill[1] + t * uy, fill[2] + t * uz]) <= 9) {
        cover[p] = 1;
        along[p] = t;
        continue;
      }
      if (dist2(fill[0], fill[1], fill[2], bg) < 400) continue;
      const f = blendFit(r, g, b, fill, bg, darkest);
      if (f.a <= 0.02 || f.a >= 1 || f.res2 > 64) continue;
      if (f.a >= 0.3) cover[p] = f.a;
      else faint[p] = f.a;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (faint[p] > 0 && touches(cover, width, height, x, y)) cover[p] = faint[p];
    }
  }
  return { cover, stripe: along };
}

function touches(
  cover: Float32Array,
  width: number,
  height: number,
  x: number,
  y: number,
): boolean {
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= height) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if (xx >= 0 && xx < width && cover[yy * width + xx] >= 0.3) return true;
    }
  }
  return false;
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}
