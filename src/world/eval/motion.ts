/**
 * What a track does, read from its pixels: where it bounces, which stretches are free flight
 * (with a parabola fitted to each), and what kind of motion it is (dropped, thrown, rolled,
 * resting) in which direction. Image y grows downward; "up" below means smaller y.
 */
import type { MotionKind } from "../scene.ts";
import { median, type PolyFit, polyFit, slopePoly } from "./fit.ts";
import type { Observation, Track } from "./track.ts";

export interface Flight {
  /** First and last frame of the fitted stretch. */
  from: number;
  to: number;
  points: number;
  /** Downward acceleration (px/s²) of the fitted parabola, and its standard error. */
  accel: number;
  accelErr: number;
  /** Root-mean-square distance (px) of the centroids from the parabola. */
  rms: number;
  /** y(t) and x(t) fits, t in seconds. */
  fitY: PolyFit;
  fitX: PolyFit;
}

export interface Bounce {
  /** Frame of the lowest observed point. */
  frame: number;
  /** Index into track.obs of that point. */
  index: number;
  /** Height (px) the object rises again after it. */
  rise: number;
}

export interface TrackMotion {
  trackId: number;
  /** Typical linear size of the object, sqrt of its usual area (px). */
  size: number;
  bounces: Bounce[];
  flights: Flight[];
  /** Horizontal displacement (px) from the first to the last observation, camera pan removed. */
  dx: number;
  /** Total distance travelled (px) along the observed path, camera pan removed. */
  path: number;
  direction: "left" | "right" | null;
  /** How the object starts moving, or null when it is seen too briefly to tell. */
  kind: MotionKind | null;
}

export interface MotionOptions {
  fps: number;
  /** Pixels per metre, when known: motion kinds are then told apart by speed in m/s. */
  pixelsPerMetre?: number;
}

/** Horizontal speeds (m/s) that separate the motion kinds the world starts objects with. */
const ROLL_SPEED = 0.5;
const THROW_SPEED = 1.2;

/** Describes the motion of one track. */
export function analyseMotion(track: Track, options: MotionOptions): TrackMotion {
  const { fps } = options;
  if (!(fps > 0)) throw new Error(`analyseMotion: fps must be > 0, got ${fps}`);
  const obs = track.obs;
  const full = obs.filter((o) => !o.partial);
  const areas = (full.length > 0 ? full : obs).map((o) => o.area);
  const size = Math.sqrt(median(areas));
  let path = 0;
  for (let i = 1; i < obs.length; i++) {
    path += Math.hypot(obs[i].cx - obs[i - 1].cx, obs[i].cy - obs[i - 1].cy);
  }
  const dx = obs.length > 0 ? obs[obs.length - 1].cx - obs[0].cx : 0;
  const moveTol = Math.max(1.5, 0.5 * size);
  const direction = travelDirection(obs, fps, moveTol);

  const floor = full.length > 0 ? Math.max(...full.map((o) => o.bottom)) : 0;
  const airGap = Math.max(0.5, 0.1 * size);
  // Free flight: off the floor and clear of other objects.
  const airborne = (o: Observation) => !o.partial && !o.near && floor - o.bottom >= airGap;
  const bounces = findBounces(full, size, floor);
  // A jump (teleport) breaks a flight as surely as a bounce does.
  const jumps = new Set(track.links.filter((l) => l.jump).map((l) => obs[l.to].frame));
  const contacts = findContacts(full);
  for (const b of bounces) contacts.add(b.index);
  const flights = fitFlights(full, contacts, jumps, airborne, size, fps);
  const start = startOf(full, size, floor, fps, options.pixelsPerMetre);
  return {
    trackId: track.id,
    size,
    bounces,
    flights,
    dx,
    path,
    // A heavy object pushed along the floor may stop within a few pixels: its start tells.
    direction: direction ?? start.heading,
    kind: start.kind,
  };
}

/**
 * Bounces: lowest points where the object comes down and goes back up sharply and then leaves
 * the floor, its lowest edge clear of it (a tumbling box rocks its centroid, but one corner or
 * another stays down).
 */
function findBounces(full: Observation[], size: number, floor: number): Bounce[] {
  const out: Bounce[] = [];
  const minLift = Math.max(0.8, 0.15 * size);
  const minStep = 0.15;
  for (let i = 1; i < full.length - 1; i++) {
    const o = full[i];
    // Consecutive-frame neighbourhood only: a gap hides what happened.
    const a = full[i - 1];
    const b = full[i + 1];
    if (o.frame - a.frame > 2 || b.frame - o.frame > 2) continue;
    if (!(o.cy >= a.cy && o.cy >= b.cy)) continue;
    const a2 = i >= 2 && o.frame - full[i - 2].frame <= 3 ? full[i - 2] : a;
    const b2 = i + 2 < full.length && full[i + 2].frame - o.frame <= 3 ? full[i + 2] : b;
    const down = (o.cy - a2.cy) / (o.frame - a2.frame);
    const up = (o.cy - b2.cy) / (b2.frame - o.frame);
    if (down < minStep || up < minStep) continue;
    // How far it rises before coming down again, and how clear of the floor it gets.
    let top = o.cy;
    let highest = o.bottom;
    for (let j = i + 1; j < full.length; j++) {
      if (full[j].frame - full[j - 1].frame > 3) break;
      if (full[j].cy < top) top = full[j].cy;
      if (full[j].bottom < highest) highest = full[j].bottom;
      if (full[j].cy > full[j - 1].cy + 0.5) break;
    }
    const rise = o.cy - top;
    if (floor - highest < minLift || rise < minLift) continue;
    if (out.length > 0 && o.frame - out[out.length - 1].frame < 3) continue;
    out.push({ frame: o.frame, index: i, rise });
  }
  return out;
}

/**
 * Every sharp reversal from going down to going up, bounce or not. In free flight the height
 * has a single turning point, the top, so a lowest point means something was hit.
 */
function findContacts(full: Observation[]): Set<number> {
  const out = new Set<number>();
  const minStep = 0.4;
  for (let i = 2; i < full.length - 2; i++) {
    const o = full[i];
    if (full[i + 2].frame - full[i - 2].frame !== 4) continue;
    if (!(o.cy >= full[i - 1].cy && o.cy >= full[i + 1].cy)) continue;
    if (o.cy - full[i - 2].cy >= minStep && o.cy - full[i + 2].cy >= minStep) out.add(i);
  }
  return out;
}

/** Parabolas through the airborne stretches between contacts. */
function fitFlights(
  full: Observation[],
  cuts: Set<number>,
  jumps: Set<number>,
  airborne: (o: Observation) => boolean,
  size: number,
  fps: number,
): Flight[] {
  const runs: Observation[][] = [];
  let run: Observation[] = [];
  full.forEach((o, i) => {
    const broken =
      cuts.has(i) ||
      jumps.has(o.frame) ||
      !airborne(o) ||
      // A missing frame hides what happened in it.
      (run.length > 0 && o.frame - run[run.length - 1].frame > 1);
    if (broken) {
      if (run.length > 0) runs.push(run);
      run = cuts.has(i) || !airborne(o) ? [] : [o];
    } else run.push(o);
  });
  if (run.length > 0) runs.push(run);

  const flights: Flight[] = [];
  for (const r of runs.flatMap(splitAtKinks)) {
    if (r.length < 5) continue;
    const ys = r.map((o) => o.cy);
    const range = Math.max(...ys) - Math.min(...ys);
    if (range < Math.max(1.5, 0.3 * size)) continue;
    const t = r.map((o) => o.frame / fps);
    const fitY = polyFit(t, ys, 2);
    const fitX = polyFit(
      t,
      r.map((o) => o.cx),
      1,
    );
    flights.push({
      from: r[0].frame,
      to: r[r.length - 1].frame,
      points: r.length,
      accel: 2 * fitY.c[2],
      accelErr: 2 * fitY.stderr[2],
      rms: fitY.rms,
      fitY,
      fitX,
    });
  }
  return flights;
}

/**
 * Deviation (px) of a frame's second difference from the run's typical one that marks a kink:
 * five times the run's own scatter, kept between these bounds.
 */
const KINK = 0.5;
const MIN_KINK = 0.15;

/**
 * Cuts a run of consecutive frames where its velocity jumps: a touch too brief or too light to
 * show as a reversal (a tumbling box's corner, a glancing collision) still kinks the path,
 * while free flight bends it by the same small amount (gravity) every frame.
 */
function splitAtKinks(run: Observation[]): Observation[][] {
  if (run.length < 5) return [run];
  const n = run.length;
  const d2y: number[] = [];
  const d2x: number[] = [];
  for (let i = 1; i < n - 1; i++) {
    d2y.push(run[i + 1].cy - 2 * run[i].cy + run[i - 1].cy);
    d2x.push(run[i + 1].cx - 2 * run[i].cx + run[i - 1].cx);
  }
  const my = median(d2y);
  const mx = median(d2x);
  const dev = d2y.map((v, i) => Math.hypot(v - my, d2x[i] - mx));
  // Centroid noise sets the bar: a kink stands out from the run's own scatter.
  const bar = Math.min(KINK, Math.max(MIN_KINK, 5 * 1.4826 * median(dev)));
  const out: Observation[][] = [];
  let piece: Observation[] = [run[0]];
  for (let i = 1; i < n - 1; i++) {
    if (dev[i - 1] > bar) {
      // The kinked frame is where the touch happened: it belongs to neither flight.
      out.push(piece);
      piece = [];
    } else piece.push(run[i]);
  }
  piece.push(run[n - 1]);
  out.push(piece);
  return out;
}

/** Vertical velocity (px/s, downward positive) of a flight's parabola at frame f. */
export function flightVy(f: Flight, frame: number, fps: number): number {
  return slopePoly(f.fitY, frame / fps);
}

/**
 * Which way the object travels: judged on its first 0.75 s when it moves clearly then (a wall
 * may send it back later), else on the whole track.
 */
function travelDirection(obs: Observation[], fps: number, tol: number): "left" | "right" | null {
  if (obs.length < 2) return null;
  const horizon = obs[0].frame + Math.round(0.75 * fps);
  let early = obs[0];
  for (const o of obs) if (o.frame <= horizon) early = o;
  const d0 = early.cx - obs[0].cx;
  if (Math.abs(d0) > tol) return d0 > 0 ? "right" : "left";
  const d = obs[obs.length - 1].cx - obs[0].cx;
  return Math.abs(d) > tol ? (d > 0 ? "right" : "left") : null;
}

/**
 * How the object starts: at rest, rolling along the ground, let go in the air, or thrown, and
 * which way it is then heading when it clearly moves sideways. Judged on the first half second
 * of whole observations: its height above the floor, whether it rises, and its horizontal speed
 * (over ≥ 0.15 s baselines, to keep centroid noise down).
 */
function startOf(
  full: Observation[],
  size: number,
  floor: number,
  fps: number,
  ppm: number | undefined,
): { kind: MotionKind | null; heading: "left" | "right" | null } {
  const horizon = full.length > 0 ? full[0].frame + Math.max(3, Math.round(0.5 * fps)) : 0;
  const early = full.filter((o) => o.frame <= horizon);
  if (early.length < 3) return { kind: null, heading: null };
  const first = early[0];
  const base = Math.max(2, Math.round(0.15 * fps));
  let speed = 0;
  let step = 0;
  for (let i = 0; i < early.length; i++) {
    for (let j = i + 1; j < early.length; j++) {
      const dt = early[j].frame - early[i].frame;
      if (dt < base) continue;
      const v = ((early[j].cx - early[i].cx) * fps) / dt;
      if (Math.abs(v) > speed) {
        speed = Math.abs(v);
        step = v;
      }
      break;
    }
  }
  // Without a scale, speeds are judged against the object's size (objects are 0.3–0.8 m).
  const perMetre = ppm ?? size / 0.5;
  const mps = speed / perMetre;
  const heading = mps >= ROLL_SPEED ? (step > 0 ? "right" : "left") : null;
  // Rising right away means thrown upward (a dropped object only rises after a bounce; a
  // box tumbling along the floor lifts its centroid by less).
  const soon = Math.max(2, Math.round(0.2 * fps));
  let rose = 0;
  for (const o of early) if (o.frame - first.frame <= soon) rose = Math.max(rose, first.cy - o.cy);
  if (rose > Math.max(1, 0.3 * size)) return { kind: "thrown", heading };
  const startHigh = floor - first.bottom >= Math.max(1.5, 0.4 * size);
  if (!startHigh) return { kind: mps >= ROLL_SPEED ? "rolled" : "resting", heading };
  return { kind: mps >= THROW_SPEED ? "thrown" : "dropped", heading };
}
