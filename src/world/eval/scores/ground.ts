/**
 * Physics that shows without a free flight, read from objects at rest and objects moving along
 * the floor:
 *  - support: an object that stays put must stand on the floor or on another object; one that
 *    hangs still in the air breaks gravity (a frozen clip of a fall shows exactly that);
 *  - the arrow of time on the floor: friction and rolling resistance only take speed away, so an
 *    object that speeds up along the floor with nothing touching it is running backwards in
 *    time, and one that loses speed faster than the roughest material's friction allows
 *    (0.6 g) is shown faster than real time.
 * Positions are in base pixels (camera taken out); the floor is the world's ground line.
 */

import type { ShapeKind } from "../../scene.ts";
import { median, polyFit } from "../fit.ts";
import type { Observation, Track } from "../track.ts";

export interface GroundEvent {
  track: number;
  from: number;
  to: number;
  kind: "hangs in the air" | "speeds up by itself" | "stops too fast" | "rests" | "slides";
  /** For slides: speed at the start and end (m/s) and deceleration (m/s²). */
  detail: string;
  ok: boolean;
}

export interface GroundScore {
  /** Share of still stretches that are supported (null when nothing stays still). */
  support: number | null;
  /** Share of floor slides that only lose speed, within friction (null when none is seen). */
  groundMotion: number | null;
  events: GroundEvent[];
}

/** Greatest deceleration (m/s²) friction gives in this world, with room for centroid noise. */
const MAX_FRICTION_DECEL = 0.6 * 9.81 * 1.45;
/** Speed gain (m/s) along the floor forgiven as noise. */
const GAIN_FREE = 0.25;

/**
 * Greatest deceleration (m/s²) of a ball rolling without slipping: the world's rolling resistance
 * (a torque arm of 0.03 r) slows a disc by about 0.2 m/s²; twice that, for noise.
 */
const MAX_ROLL_DECEL = 0.45;
/**
 * Least deceleration (m/s²) taken for a slide: the smoothest material's friction gives 2.9, but
 * thirds that take in the stop (or a pan taken out a little off) read as low as 1.8.
 */
const MIN_SLIDE_DECEL = 1.3;

export function scoreGround(
  tracks: Track[],
  fps: number,
  pixelsPerMetre: number,
  groundY: number,
  shapes: ReadonlyMap<number, ShapeKind | null> = new Map(),
): GroundScore {
  const events: GroundEvent[] = [];
  const minStill = Math.max(6, Math.round(0.4 * fps));
  const minSlide = Math.max(5, Math.round(0.3 * fps));
  for (const t of tracks) {
    const whole = t.obs.filter((o) => !o.partial && !o.touchesEdge);
    if (whole.length < minSlide) continue;
    const size = Math.sqrt(median(whole.map((o) => o.area)));
    const onFloor = (o: Observation) => groundY - o.bottom <= Math.max(1.5, 0.25 * size);
    for (const run of runs(whole, (o) => !o.near)) {
      // Still stretches: the centroid wanders less than a pixel or a tenth of the size.
      for (const s of stillStretches(run, Math.max(0.8, 0.1 * size), minStill)) {
        const high = s.filter((o) => !onFloor(o)).length > s.length / 2;
        events.push({
          track: t.id,
          from: s[0].frame,
          to: s[s.length - 1].frame,
          kind: high ? "hangs in the air" : "rests",
          detail: `${((groundY - median(s.map((o) => o.bottom))) / pixelsPerMetre).toFixed(2)} m above the floor`,
          ok: !high,
        });
      }
      for (const floorRun of runs(run, onFloor)) {
        for (const piece of splitAtTurns(floorRun)) {
          const judged = slideOf(piece, fps, minSlide);
          if (!judged) continue;
          const { v0, v1, e0, e1, span } = judged;
          const toMps = (v: number) => v / pixelsPerMetre;
          if (Math.max(Math.abs(toMps(v0)), Math.abs(toMps(v1))) < 0.3) continue;
          const noise = toMps(2 * (e0 + e1));
          const gain = toMps(Math.abs(v1) - Math.abs(v0));
          const gains = gain > GAIN_FREE + noise;
          const decel = Math.sign(v0) === Math.sign(v1) ? -gain / span : 0;
          // Only a ball rolling from the clip's start is known to roll without slipping; one that
          // landed or hit a wall may slip for a while, and friction then slows it as it would a box.
          const fromStart = piece[0].frame <= 1;
          const shape = shapes.get(t.id) ?? null;
          const slack = noise / (4 * span);
          let tooFast = decel - slack > MAX_FRICTION_DECEL;
          if (fromStart && shape === "ball") tooFast ||= decel - slack > MAX_ROLL_DECEL;
          // Too small to tell its shape: it must slow like a roll or like a slide, not between.
          if (fromStart && shape === null) {
            tooFast ||= decel - slack > MAX_ROLL_DECEL && decel + slack < MIN_SLIDE_DECEL;
          }
          events.push({
            track: t.id,
            from: judged.from,
            to: judged.to,
            kind: gains ? "speeds up by itself" : tooFast ? "stops too fast" : "slides",
            detail: `${Math.abs(toMps(v0)).toFixed(2)} → ${Math.abs(toMps(v1)).toFixed(2)} m/s, deceleration ${decel.toFixed(1)} m/s²`,
            ok: !gains && !tooFast,
          });
        }
      }
    }
  }
  const share = (kinds: GroundEvent["kind"][]) => {
    const es = events.filter((e) => kinds.includes(e.kind));
    return es.length > 0 ? es.filter((e) => e.ok).length / es.length : null;
  };
  return {
    support: share(["hangs in the air", "rests"]),
    groundMotion: share(["speeds up by itself", "stops too fast", "slides"]),
    events,
  };
}

/**
 * The moving part of a stretch on the floor and its speed (px/s, with standard errors) over its
 * first and last thirds, `span` seconds apart. Frames where it has stopped are trimmed off each
 * end; a stretch that begins after the clip's first frame loses its first SETTLE seconds, in
 * which a ball that landed (or hit a wall) spinning may still trade spin for speed: friction,
 * not a broken arrow of time. (The world starts a rolled ball rolling without slipping.)
 */
function slideOf(
  floorRun: Observation[],
  fps: number,
  minSlide: number,
): {
  v0: number;
  v1: number;
  e0: number;
  e1: number;
  span: number;
  from: number;
  to: number;
} | null {
  let s = floorRun;
  if (s.length > 0 && s[0].frame > 0) s = s.slice(Math.round(SETTLE * fps));
  const still = (a: Observation, b: Observation) => Math.abs(a.cx - b.cx) < 0.15;
  let lo = 0;
  let hi = s.length - 1;
  while (hi - lo >= minSlide && still(s[hi], s[hi - 1])) hi--;
  while (hi - lo >= minSlide && still(s[lo], s[lo + 1])) lo++;
  s = s.slice(lo, hi + 1);
  if (s.length < minSlide) return null;
  const k = Math.max(3, Math.floor(s.length / 3));
  const line = (part: Observation[]) =>
    polyFit(
      part.map((o) => o.frame / fps),
      part.map((o) => o.cx),
      1,
    );
  const a = line(s.slice(0, k));
  const b = line(s.slice(s.length - k));
  const mid = (part: Observation[]) => (part[0].frame + part[part.length - 1].frame) / 2 / fps;
  return {
    v0: a.c[1],
    v1: b.c[1],
    e0: a.stderr[1],
    e1: b.stderr[1],
    span: Math.max(1 / fps, mid(s.slice(s.length - k)) - mid(s.slice(0, k))),
    from: s[0].frame,
    to: s[s.length - 1].frame,
  };
}

/** Seconds after touching down that a stretch on the floor is left out (see slideOf). */
const SETTLE = 0.3;

/** A run cut where its horizontal motion turns round (off a wall or another object). */
function splitAtTurns(run: Observation[]): Observation[][] {
  const out: Observation[][] = [];
  let piece: Observation[] = [];
  let dir = 0;
  for (let i = 0; i < run.length; i++) {
    if (i > 0) {
      const dx = run[i].cx - run[i - 1].cx;
      const d = Math.abs(dx) > 0.3 ? Math.sign(dx) : 0;
      if (d !== 0 && dir !== 0 && d !== dir) {
        out.push(piece);
        piece = [];
      }
      if (d !== 0) dir = d;
    }
    piece.push(run[i]);
  }
  if (piece.length > 0) out.push(piece);
  return out;
}

/** Maximal runs of consecutive frames whose observations all pass `keep`. */
function runs(obs: Observation[], keep: (o: Observation) => boolean): Observation[][] {
  const out: Observation[][] = [];
  let run: Observation[] = [];
  for (const o of obs) {
    const joined = run.length > 0 && o.frame - run[run.length - 1].frame === 1;
    if (!keep(o)) {
      if (run.length > 0) out.push(run);
      run = [];
      continue;
    }
    if (!joined && run.length > 0) {
      out.push(run);
      run = [];
    }
    run.push(o);
  }
  if (run.length > 0) out.push(run);
  return out;
}

/** Longest stretches (at least `min` frames) in which the centroid stays within `tol` px. */
function stillStretches(run: Observation[], tol: number, min: number): Observation[][] {
  const out: Observation[][] = [];
  let i = 0;
  while (i < run.length) {
    let j = i + 1;
    while (
      j < run.length &&
      Math.abs(run[j].cx - run[i].cx) <= tol &&
      Math.abs(run[j].cy - run[i].cy) <= tol
    ) {
      j++;
    }
    if (j - i >= min) {
      out.push(run.slice(i, j));
      i = j;
    } else i++;
  }
  return out;
}
