/**
 * Continuation error: when a clip's first frames come from the simulator, the rest should be the
 * simulator's own continuation. The reference scene is simulated again, each of its objects is
 * paired with the track that follows it best through the context frames, and the
 * track's position is compared with the simulated one 0.5 s, 1 s and 2 s after the context, in
 * percent of the frame width (pairing goes by position, so a recoloured object still counts as
 * the same object: colour is adherence's business). A horizon past the end of the clip is left out; an object that
 * should be visible but is not tracked there counts as the largest error (100%).
 */
import type { SceneSpec } from "../../scene.ts";
import { simulate } from "../../simulate.ts";
import type { Observation, Track } from "../track.ts";

export const HORIZONS = [0.5, 1, 2] as const;
/** Error (% of frame width) at which a horizon's score reaches 0. */
const ZERO_SCORE_ERROR = 20;
/** A simulated object less visible than this at a horizon is not compared there. */
const MIN_VISIBLE = 0.5;

export interface HorizonError {
  seconds: number;
  frame: number;
  /** Mean error over the objects compared (% of frame width), or null when none could be. */
  error: number | null;
  perObject: { object: number; track: number | null; error: number }[];
}

export interface ContinuationScore {
  score: number | null;
  contextFrames: number;
  horizons: HorizonError[];
}

export interface ContinuationInput {
  tracks: Track[];
  width: number;
  height: number;
  fps: number;
  frames: number;
  scene: SceneSpec;
  contextFrames: number;
}

export function scoreContinuation(input: ContinuationInput): ContinuationScore {
  const { tracks, width, height, fps, frames, scene, contextFrames } = input;
  if (!Number.isInteger(contextFrames) || contextFrames < 1) {
    throw new Error(`reference: contextFrames must be an integer ≥ 1, got ${contextFrames}`);
  }
  if (contextFrames > frames) {
    throw new Error(
      `reference: contextFrames ${contextFrames} exceeds the clip's ${frames} frames`,
    );
  }
  const last = contextFrames - 1;
  const targets = HORIZONS.map((h) => ({ seconds: h, frame: last + Math.round(h * fps) }));
  const reach = Math.min(frames - 1, Math.max(...targets.map((t) => t.frame)));
  const { truth } = simulate(scene, { width, height, fps, seconds: (reach + 1) / fps });

  // Pair each simulated object with the track that follows it best through the context. Colour
  // only breaks near-ties: this score is about motion, adherence judges colour.
  const costs: { object: number; track: Track; cost: number }[] = [];
  for (const obj of scene.objects) {
    for (const t of tracks) {
      let sum = 0;
      let n = 0;
      for (const o of t.obs) {
        if (o.frame > last) break;
        const tr = truth.frames[o.frame]?.objects[obj.id];
        if (!tr) continue;
        sum += Math.hypot(o.cx - tr.px, o.cy - tr.py);
        n++;
      }
      if (n === 0) continue;
      costs.push({
        object: obj.id,
        track: t,
        cost: sum / n + (t.color === obj.color ? 0 : 0.05 * width),
      });
    }
  }
  costs.sort((a, b) => a.cost - b.cost);
  const pairedTrack = new Map<number, Track>();
  const used = new Set<Track>();
  for (const c of costs) {
    if (pairedTrack.has(c.object) || used.has(c.track) || c.cost > 0.25 * width) continue;
    pairedTrack.set(c.object, c.track);
    used.add(c.track);
  }
  const pairs = scene.objects.map((obj) => ({
    object: obj.id,
    track: pairedTrack.get(obj.id) ?? null,
  }));

  const horizons: HorizonError[] = targets.map(({ seconds, frame }) => {
    if (frame >= frames || frame >= truth.frames.length) {
      return { seconds, frame, error: null, perObject: [] };
    }
    const perObject: HorizonError["perObject"] = [];
    for (const p of pairs) {
      const tr = truth.frames[frame].objects[p.object];
      if (tr.visible < MIN_VISIBLE) continue;
      let track = p.track;
      let at = track ? positionAt(track.obs, frame) : null;
      if (!at) {
        // Not followed from the context (it came into view later, or its track broke): any
        // track of its colour not following another object stands in, the nearest one.
        const color = scene.objects[p.object].color;
        let best = Number.POSITIVE_INFINITY;
        for (const t of tracks) {
          if (t.color !== color || used.has(t)) continue;
          const q = positionAt(t.obs, frame);
          if (q && Math.hypot(q.x - tr.px, q.y - tr.py) < best) {
            best = Math.hypot(q.x - tr.px, q.y - tr.py);
            at = q;
            track = t;
          }
        }
      }
      const error = at
        ? Math.min(100, (100 * Math.hypot(at.x - tr.px, at.y - tr.py)) / width)
        : 100;
      perObject.push({ object: p.object, track: at ? (track?.id ?? null) : null, error });
    }
    const error =
      perObject.length > 0 ? perObject.reduce((a, o) => a + o.error, 0) / perObject.length : null;
    return { seconds, frame, error, perObject };
  });
  const measured = horizons.filter((h) => h.error !== null);
  const score =
    measured.length > 0
      ? measured.reduce((a, h) => a + Math.max(0, 1 - h.error! / ZERO_SCORE_ERROR), 0) /
        measured.length
      : null;
  return { score, contextFrames, horizons };
}

/** Frames a detection gap may span and still be bridged by interpolation. */
const MAX_BRIDGE = 4;

/** The track's position at a frame: observed there, or interpolated across a short gap. */
function positionAt(obs: Observation[], frame: number): { x: number; y: number } | null {
  let before: Observation | null = null;
  for (const o of obs) {
    if (o.frame === frame) return { x: o.cx, y: o.cy };
    if (o.frame < frame) before = o;
    else {
      if (before && o.frame - before.frame <= MAX_BRIDGE) {
        const u = (frame - before.frame) / (o.frame - before.frame);
        return { x: before.cx + u * (o.cx - before.cx), y: before.cy + u * (o.cy - before.cy) };
      }
      return null;
    }
  }
  return null;
}
