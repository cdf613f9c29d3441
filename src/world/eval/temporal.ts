/**
 * Time: are the frames in order, and does the clip move on every frame while something moves?
 *  - order: each object colour's centroid, frame after frame, keeps its velocity from one frame
 *    to the next (gravity bends it by a fraction of a pixel a frame; a bounce turns it round in a
 *    frame or two). Frames out of order make it jump about: the velocity changes by as much as
 *    the motion itself. The share of smooth steps among moving ones is the evidence;
 *  - no held frames: a frame that repeats the one before while the frames around it move is a
 *    stutter (a slowed-down clip shows one every other frame), judged on whole frames by the
 *    count of pixels that change by more than codec noise.
 * Either is null (unmeasured) when too little moves to tell.
 */
import type { Detection } from "./segment.ts";

export interface TemporalScore {
  /** min(order, noHeldFrames); null when neither could be measured. */
  score: number | null;
  /** Share of moving centroid steps that keep their velocity, graded. */
  order: number | null;
  orderShare: number | null;
  /** 1 − graded share of moving stretches broken by a repeated frame. */
  noHeldFrames: number | null;
  /** Frame pairs (f, f + 1) where f + 1 repeats f in the middle of motion. */
  heldFrames: number[];
  /** Frames that differ clearly from the next one. */
  movingFrames: number;
  /** Why a part is null. */
  reason?: string;
}

/** A pixel changed when its channels differ by more than this in sum (codec noise stays under). */
const CHANGE = 30;
/** Fewest changed pixels between neighbours that count as motion. */
const MIN_MOTION = 3;
/** Fewest moving frames for either check to mean anything. */
const MIN_MOVING = 6;
/**
 * Smooth-step share at or above which the order part is full, and at or below which it is 0.
 * Measured (issue 11, seeds 7100–7124): the world's clips 0.80–1.00 raw and after H.264, the
 * same clips shuffled 0.00–0.25.
 */
const ORDER_FULL = 0.65;
const ORDER_NONE = 0.35;
/** Share of between-motion spots that may be held in full, and the further share that fades. */
const HELD_FREE = 0.25;
const HELD_FADE = 0.25;
/** Fewest moving centroid steps for the order part to mean anything. */
const MIN_STEPS = 6;

export function scoreTemporal(
  frames: Uint8Array[],
  width: number,
  height: number,
  detections: Detection[][],
): TemporalScore {
  const n = frames.length;
  const pixels = width * height;
  const changed = (a: Uint8Array, b: Uint8Array, stop = Number.POSITIVE_INFINITY) => {
    let c = 0;
    for (let p = 0, o = 0; p < pixels; p++, o += 3) {
      const d =
        Math.abs(a[o] - b[o]) + Math.abs(a[o + 1] - b[o + 1]) + Math.abs(a[o + 2] - b[o + 2]);
      if (d > CHANGE && ++c >= stop) return c;
    }
    return c;
  };
  const next = new Float64Array(Math.max(0, n - 1));
  for (let f = 0; f + 1 < n; f++) next[f] = changed(frames[f], frames[f + 1]);
  const moving: number[] = [];
  for (let f = 0; f < n; f++) {
    const before = f > 0 ? next[f - 1] : 0;
    const after = f + 1 < n ? next[f] : 0;
    if (Math.max(before, after) >= MIN_MOTION) moving.push(f);
  }

  // Held frames: a pair that barely changes between two pairs that clearly do.
  const heldFrames: number[] = [];
  let stretches = 0;
  for (let f = 1; f + 2 < n; f++) {
    const around = Math.min(next[f - 1], next[f + 1]);
    if (around < MIN_MOTION) continue;
    stretches++;
    if (next[f] <= 0.1 * around) heldFrames.push(f);
  }
  // A held pair sits between two moving ones. In a clip slowed by repeating frames nearly
  // every such spot is held; in the world's own clips a few are (a bounce's top, where the
  // object barely moves for a frame), under a quarter.
  const heldShare = stretches > 0 ? heldFrames.length / stretches : 0;
  const noHeldFrames =
    moving.length < MIN_MOVING
      ? null
      : heldFrames.length < 3
        ? 1
        : clamp01(1 - (heldShare - HELD_FREE) / HELD_FADE);

  const steps = smoothSteps(detections);
  const orderShare = steps.moving >= MIN_STEPS ? steps.smooth / steps.moving : null;
  const order =
    orderShare === null ? null : clamp01((orderShare - ORDER_NONE) / (ORDER_FULL - ORDER_NONE));
  const parts = [order, noHeldFrames].filter((v): v is number => v !== null);
  const reason =
    parts.length === 2
      ? undefined
      : `${order === null ? `only ${steps.moving} moving steps of an object's centroid` : ""}${
          order === null && noHeldFrames === null ? " and " : ""
        }${noHeldFrames === null ? `only ${moving.length} frames that change visibly` : ""}: too little motion to check`;
  return {
    score: parts.length > 0 ? Math.min(...parts) : null,
    order,
    orderShare,
    noHeldFrames,
    heldFrames,
    movingFrames: moving.length,
    ...(reason ? { reason } : {}),
  };
}

/**
 * Per object colour, the centroid of all its detections in each frame; counts the steps
 * (frames f-1, f, f+1 all showing the colour, moving at least a pixel) whose velocity changes
 * by no more than half the speed plus a pixel of noise.
 */
function smoothSteps(detections: Detection[][]): { moving: number; smooth: number } {
  const n = detections.length;
  const byColor = new Map<number, (readonly [number, number] | null)[]>();
  detections.forEach((dets, f) => {
    const sums = new Map<number, [number, number, number]>();
    for (const d of dets) {
      const s = sums.get(d.colorIndex) ?? [0, 0, 0];
      s[0] += d.area;
      s[1] += d.area * d.cx;
      s[2] += d.area * d.cy;
      sums.set(d.colorIndex, s);
    }
    for (const [c, s] of sums) {
      if (s[0] < 2) continue;
      let path = byColor.get(c);
      if (!path) byColor.set(c, (path = new Array(n).fill(null)));
      path[f] = [s[1] / s[0], s[2] / s[0]];
    }
  });
  let moving = 0;
  let smooth = 0;
  for (const path of byColor.values()) {
    for (let f = 1; f + 1 < n; f++) {
      const a = path[f - 1];
      const b = path[f];
      const c = path[f + 1];
      if (!a || !b || !c) continue;
      const speed = Math.max(
        Math.hypot(b[0] - a[0], b[1] - a[1]),
        Math.hypot(c[0] - b[0], c[1] - b[1]),
      );
      if (speed < 1) continue;
      moving++;
      const turn = Math.hypot(c[0] - 2 * b[0] + a[0], c[1] - 2 * b[1] + a[1]);
      if (turn <= 0.5 * speed + 1) smooth++;
    }
  }
  return { moving, smooth };
}

function clamp01(v: number): number {
  return v < 0 ? 0 : Math.min(v, 1);
}
