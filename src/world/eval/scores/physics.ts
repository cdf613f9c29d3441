/**
 * Physics score: does what the tracks do look like this world's physics?
 *  - gravity: each free flight is a parabola whose downward acceleration is the world's gravity
 *    (in m/s² once the pixel scale is known; otherwise the flights must at least agree with
 *    each other and point down);
 *  - bounce energy: an object never comes out of a bounce faster than it went in;
 *  - no teleports: no step larger than any plausible motion.
 * Each part is a score in [0, 1] (null when the clip gives no evidence for it). The physics
 * score is the geometric mean of the graded parts (gravity, bounce energy) times the no-teleport
 * part: a teleport is no small error but motion no physics allows, so each one costs dearly.
 */

import type { ShapeKind } from "../../scene.ts";
import { median } from "../fit.ts";
import { flightVy, type TrackMotion } from "../motion.ts";
import type { Track } from "../track.ts";
import { type GroundEvent, scoreGround } from "./ground.ts";

export interface PhysicsScale {
  /** Pixels per metre of the world at the objects' depth, or null when unknown. */
  pixelsPerMetre: number | null;
  /** Gravity (m/s²) the clip should show. */
  gravity: number;
  /** The floor's row in base pixels, for support and sliding (ground.ts); none: not judged. */
  groundY?: number;
  /** Each track's shape, null when too small to tell: balls roll, and rolling slows them far
   * less than sliding slows a box. */
  shapes?: ReadonlyMap<number, ShapeKind | null>;
}

export interface FlightReport {
  track: number;
  from: number;
  to: number;
  /** Measured downward acceleration: m/s² when the scale is known, else px/s². */
  accel: number;
  unit: "m/s²" | "px/s²";
  /** Parabola fit error (px, root mean square). */
  rms: number;
  score: number;
}

export interface BounceReport {
  track: number;
  frame: number;
  /** Rebound over impact vertical speed (restitution); > 1 means energy was gained. */
  ratio: number;
  score: number;
}

export interface TeleportReport {
  track: number;
  frame: number;
  /** Distance (px) from where plausible motion would have put the object. */
  miss: number;
}

export interface PhysicsScore {
  score: number | null;
  gravity: number | null;
  bounceEnergy: number | null;
  noTeleport: number | null;
  /** Objects that stay still are supported (ground.ts). */
  support: number | null;
  /** Slides along the floor only lose speed, within friction (ground.ts). */
  groundMotion: number | null;
  ground: GroundEvent[];
  /** Why the score is null, when it is. */
  reason?: string;
  /** Gravity the flights show, in m/s² when the scale is known, else px/s² (null if no flight). */
  measuredGravity: number | null;
  measuredUnit: "m/s²" | "px/s²";
  flights: FlightReport[];
  bounces: BounceReport[];
  teleports: TeleportReport[];
}

/** Relative gravity error tolerated in full, and the further error over which credit fades. */
const GRAVITY_FREE = 0.15;
const GRAVITY_FADE = 0.45;
/** Standard errors of a flight's fitted acceleration that its error is forgiven. */
const NOISE_ALLOWANCE = 1;
/** Rebound ratio tolerated before a bounce counts as gaining energy, and the fade beyond it. */
// The world's clips measure 0.49–0.98 and reversed ones 1.06–2.04 (bench/NOTES.md, issue 11): an
// object that comes out of a bounce faster than it went in is time running backwards.
const BOUNCE_FREE = 1.01;
const BOUNCE_FADE = 0.08;

export function scorePhysics(
  tracks: Track[],
  motions: TrackMotion[],
  fps: number,
  scale: PhysicsScale,
): PhysicsScore {
  if (tracks.length !== motions.length) {
    throw new Error(`scorePhysics: ${tracks.length} tracks but ${motions.length} motions`);
  }
  const ppm = scale.pixelsPerMetre;
  const unit = ppm ? "m/s²" : "px/s²";

  // Gravity: weigh each flight by how long it lasted (long flights pin the parabola down).
  const flights: FlightReport[] = [];
  const allAccels = motions.flatMap((m) => m.flights.map((f) => f.accel));
  const reference = ppm ? scale.gravity * ppm : allAccels.length > 0 ? median(allAccels) : 0;
  let gSum = 0;
  let gWeight = 0;
  motions.forEach((m) => {
    for (const f of m.flights) {
      // An error within what the fit's own noise allows (jittery centroids of a small or
      // encoded object) is no evidence against gravity.
      const off = Math.max(0, Math.abs(f.accel - reference) - NOISE_ALLOWANCE * f.accelErr);
      const rel = reference > 0 ? off / reference : 1;
      // A wobbly "parabola" (rms well beyond centroid noise) is not free flight either.
      const wobble = Math.max(0, f.rms - 0.4 - 0.04 * m.size) / 1.5;
      const s = clamp01(1 - Math.max(0, rel - GRAVITY_FREE) / GRAVITY_FADE - wobble);
      flights.push({
        track: m.trackId,
        from: f.from,
        to: f.to,
        accel: ppm ? f.accel / ppm : f.accel,
        unit,
        rms: f.rms,
        score: reference > 0 ? s : 0,
      });
      const w = f.to - f.from;
      gSum += w * (reference > 0 ? s : 0);
      gWeight += w;
    }
  });
  const gravity = gWeight > 0 ? gSum / gWeight : null;
  const measuredGravity =
    allAccels.length > 0 ? (ppm ? median(allAccels) / ppm : median(allAccels)) : null;

  // Bounce energy: vertical speed in and out, from the parabolas on either side of the bounce.
  const bounces: BounceReport[] = [];
  motions.forEach((m, k) => {
    for (const b of m.bounces) {
      if (nearOtherObject(tracks, k, b.frame, m.size)) continue;
      const before = m.flights.find((f) => f.to < b.frame && b.frame - f.to <= 3);
      const after = m.flights.find((f) => f.from > b.frame && f.from - b.frame <= 3);
      if (!before || !after) continue;
      const vin = flightVy(before, b.frame, fps);
      const vout = -flightVy(after, b.frame, fps);
      if (!(vin > 0) || !(vout > 0)) continue;
      const ratio = vout / vin;
      bounces.push({
        track: m.trackId,
        frame: b.frame,
        ratio,
        score: clamp01(1 - Math.max(0, ratio - BOUNCE_FREE) / BOUNCE_FADE),
      });
    }
  });
  const bounceEnergy =
    bounces.length > 0 ? bounces.reduce((a, b) => a + b.score, 0) / bounces.length : null;

  // Teleports: steps the tracker could only explain as a jump. Each one halves the part.
  const teleports: TeleportReport[] = [];
  for (const t of tracks) {
    for (const l of t.links) {
      if (l.jump) teleports.push({ track: t.id, frame: t.obs[l.to].frame, miss: l.miss });
    }
  }
  const noTeleport = tracks.length > 0 ? 0.5 ** teleports.length : null;

  const ground =
    ppm && scale.groundY !== undefined
      ? scoreGround(tracks, fps, ppm, scale.groundY, scale.shapes)
      : { support: null, groundMotion: null, events: [] };
  const graded = [gravity, bounceEnergy, ground.support, ground.groundMotion].filter(
    (v): v is number => v !== null,
  );
  const smooth =
    graded.length > 0
      ? graded.reduce((a, v) => a * Math.max(v, 1e-6), 1) ** (1 / graded.length)
      : null;
  // Only a clip with something to judge gets a score: no flight, bounce, slide or still object
  // is no evidence of physics either way.
  const score =
    smooth === null ? (teleports.length > 0 ? noTeleport : null) : smooth * (noTeleport ?? 1);
  return {
    score,
    gravity,
    bounceEnergy,
    noTeleport,
    support: ground.support,
    groundMotion: ground.groundMotion,
    ground: ground.events,
    ...(score === null
      ? {
          reason:
            tracks.length === 0
              ? "no object found"
              : "no free flight, bounce, slide or object at rest seen whole",
        }
      : {}),
    measuredGravity,
    measuredUnit: unit,
    flights,
    bounces,
    teleports,
  };
}

/** Whether another tracked object is within about one size of track k at a frame. */
function nearOtherObject(tracks: Track[], k: number, frame: number, size: number): boolean {
  const me = tracks[k].obs.find((o) => o.frame === frame);
  if (!me) return false;
  for (let j = 0; j < tracks.length; j++) {
    if (j === k) continue;
    for (const o of tracks[j].obs) {
      if (Math.abs(o.frame - frame) > 2) continue;
      const reach = 1.5 * size + Math.sqrt(o.area);
      if (Math.hypot(o.cx - me.cx, o.cy - me.cy) < reach) return true;
    }
  }
  return false;
}

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : Number.isFinite(v) ? v : 0;
}
