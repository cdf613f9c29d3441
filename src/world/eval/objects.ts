/**
 * What each tracked object is, as the report states it: colour, shape (a vote of template fits
 * over the frames where the object is seen whole), size, when it is seen, and how it moves.
 */
import type { Place } from "../place.ts";
import type { ColorName, MotionKind, ShapeKind } from "../scene.ts";
import { median } from "./fit.ts";
import type { TrackMotion } from "./motion.ts";
import { fitShape } from "./shape.ts";
import type { Track } from "./track.ts";

export interface ObjectSummary {
  track: number;
  color: ColorName;
  /** Voted shape, or null when the object is never seen whole and large enough to tell. */
  shape: ShapeKind | null;
  /** Share of the shape votes the winner got (0 when there was no vote). */
  shapeConfidence: number;
  /** Typical size: the square root of its usual area, in base pixels. */
  sizePx: number;
  firstFrame: number;
  lastFrame: number;
  /** Frames in which it was detected. */
  seen: number;
  /** Its last sighting is at the frame's edge before the clip ends: it went out of view. */
  leftView: boolean;
  motion: MotionKind | null;
  direction: "left" | "right" | null;
  bounces: number;
  /** The third of the view it starts in (place.ts), or null when it is not seen in the first frame. */
  startPlace: Place | null;
}

/** Most observations fitted per track: enough for a clear vote, bounded cost. */
const MAX_SHAPE_FITS = 16;
/**
 * Below this usual size (px, square root of the area) balls, boxes and triangles look alike.
 * Objects of 0.3 m (the world's smallest before issue 10 enlarged them to 0.5 m) measured about
 * 2.1 (ball), 2.4 (box) and 1.6 (triangle) at 8 px/m, and 3.2, 3.6 and 2.4 at 12 px/m. Fitted on rendered frames (issue 11, seeds 300–311), balls of
 * 2.29–2.32 were taken for boxes while everything from 3 px up was right: 2.6 names no shape
 * it cannot tell (the smallest at 64×64 are reported as too small instead).
 */
export const MIN_SHAPE_SIZE = 2.6;
/**
 * How much larger an object must be to be told apart in a clip whose colour a codec smeared
 * (see smear.ts): the codec's blocks round off a small box and square off a small ball.
 */
const SMEARED_SHAPE_SIZE = 4.5;

export interface SummaryOptions {
  /** How smeared the clip's colour is, 0 (exact) to 1 (yuv420p); 0 by default. */
  chromaSmear?: number;
  /** The place of a first-frame pixel column (px); without it no object has a start place. */
  placeOfColumn?: (cx: number) => Place;
}

export function summariseObjects(
  tracks: Track[],
  motions: TrackMotion[],
  frames: number,
  options: SummaryOptions = {},
): ObjectSummary[] {
  const smear = options.chromaSmear ?? 0;
  if (!(smear >= 0 && smear <= 1)) {
    throw new Error(`summariseObjects: chromaSmear must be in [0, 1], got ${smear}`);
  }
  const minSize = MIN_SHAPE_SIZE + (SMEARED_SHAPE_SIZE - MIN_SHAPE_SIZE) * smear;
  return tracks.map((t, k) => {
    const m = motions[k];
    const shape = voteShape(t, minSize, smear);
    const last = t.obs[t.obs.length - 1];
    return {
      track: t.id,
      color: t.color,
      shape: shape.shape,
      shapeConfidence: shape.confidence,
      sizePx: m.size,
      firstFrame: t.obs[0].frame,
      lastFrame: t.obs[t.obs.length - 1].frame,
      seen: t.obs.length,
      leftView: last.touchesEdge && last.frame < frames - 1,
      motion: m.kind,
      direction: m.direction,
      bounces: m.bounces.length,
      startPlace:
        t.obs[0].frame === 0 && options.placeOfColumn ? options.placeOfColumn(t.obs[0].cx) : null,
    };
  });
}

function voteShape(
  t: Track,
  minSize: number,
  smear: number,
): { shape: ShapeKind | null; confidence: number } {
  const whole = t.obs.filter((o) => !o.partial && o.patch);
  // Judged on its usual size, not on the odd sighting that happens to cover a pixel more.
  if (whole.length === 0 || Math.sqrt(median(whole.map((o) => o.area))) < minSize) {
    return { shape: null, confidence: 0 };
  }
  const usable = whole.filter((o) => Math.sqrt(o.area) >= minSize);
  if (usable.length === 0) return { shape: null, confidence: 0 };
  const step = usable.length / Math.min(usable.length, MAX_SHAPE_FITS);
  const votes: Record<ShapeKind, number> = { ball: 0, box: 0, triangle: 0 };
  let total = 0;
  for (let i = 0; i < usable.length; i += step) {
    const o = usable[Math.floor(i)];
    const fit = fitShape(o.patch!, o.cx, o.cy, o.area, smear);
    // A clear fit counts more than a near-tie.
    const w = 0.25 + fit.margin;
    votes[fit.shape] += w;
    total += w;
  }
  let best: ShapeKind = "ball";
  for (const s of Object.keys(votes) as ShapeKind[]) if (votes[s] > votes[best]) best = s;
  const confidence = total > 0 ? votes[best] / total : 0;
  return { shape: best, confidence };
}
