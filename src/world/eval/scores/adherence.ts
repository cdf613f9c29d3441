/**
 * Prompt adherence: does the clip show what the prompt asked for? The prompt's parsed
 * constraints are checked against the tracked objects: each object the prompt names is paired
 * with the tracked object that satisfies most of what was said of it (no object serves two
 * names), then colours, shapes, motion kinds, directions, bounces and start places are each scored as the share
 * of demands met; the object count and the background theme are scored on their own. The score
 * is the mean of the parts the prompt pins down, times the share of named objects in view for
 * most of the clip. A prompt that names no theme still asks for one of the world's backgrounds.
 */
import type { ObjectConstraint, SceneConstraints } from "../../constraints.ts";
import type { CameraMotion, ThemeName } from "../../scene.ts";
import { MIN_SHAPE_SIZE, type ObjectSummary } from "../objects.ts";
import type { PermanenceEvent } from "./permanence.ts";

/** What else adherence reads from the clip. */
export interface AdherenceContext {
  /** Distance of the frames' background from the guessed theme's colours (see theme.ts). */
  themeDistance: number;
  /** Frames in the clip. */
  frames: number;
  /** Permanence events: where an object's absence is explained (frame edge, occluder). */
  permanence: PermanenceEvent[];
  /** The camera as measured from the clip, or null when it could not be measured. */
  camera?: CameraMotion | null;
}

/** A background further than this (mean sRGB distance) from every theme shows none of them. */
export const THEME_MAX_DISTANCE = 30;
/** Share of the clip a named object must be in view (or explained out of it) to count as there. */
export const MIN_PRESENCE = 0.6;

export interface AdherenceCheck {
  /** What was asked, e.g. "object 1 colour". */
  what: string;
  wanted: string;
  got: string;
  ok: boolean;
  /** The clip cannot tell (object too small or too briefly seen); left out of the score. */
  unjudged?: boolean;
}

export interface AdherenceScore {
  score: number | null;
  color: number | null;
  shape: number | null;
  count: number | null;
  theme: number | null;
  motion: number | null;
  direction: number | null;
  bounce: number | null;
  /** Objects starting in the third of the view the prompt put them in ("on the left"). */
  place: number | null;
  /** Named objects present for most of the clip. */
  presence: number | null;
  /** The camera motion asked for, as measured (null when none was asked or it is unmeasured). */
  camera: number | null;
  checks: AdherenceCheck[];
  /** For each object the prompt names, the track paired with it (null if none was left). */
  pairing: (number | null)[];
}

type Attribute = "color" | "shape" | "motion" | "direction" | "bounce" | "place";
const ATTRIBUTES: Attribute[] = ["color", "shape", "motion", "direction", "bounce", "place"];

/**
 * Share of the clip in which an object is seen, or its absence explained: before it came in
 * over the frame edge or from behind scenery, after it left the same way.
 */
function presenceOf(o: ObjectSummary, ctx: AdherenceContext): number {
  const mine = ctx.permanence.filter((e) => e.track === o.track);
  const explained = (kind: PermanenceEvent["kind"]) =>
    mine.some((e) => e.kind === kind && e.ok && (e.place === "edge" || e.place === "occluder"));
  const from = explained("appear") ? 0 : o.firstFrame;
  const to = o.leftView || explained("vanish") ? ctx.frames - 1 : o.lastFrame;
  return (to - from + 1) / ctx.frames;
}

export function scoreAdherence(
  constraints: SceneConstraints,
  objects: ObjectSummary[],
  theme: ThemeName,
  objectCount: number,
  ctx: AdherenceContext,
): AdherenceScore {
  const wants = constraints.objects;
  const pairing = pairObjects(wants, objects);
  const checks: AdherenceCheck[] = [];
  const tally: Record<Attribute, { met: number; asked: number }> = {
    color: { met: 0, asked: 0 },
    shape: { met: 0, asked: 0 },
    motion: { met: 0, asked: 0 },
    direction: { met: 0, asked: 0 },
    bounce: { met: 0, asked: 0 },
    place: { met: 0, asked: 0 },
  };
  wants.forEach((w, i) => {
    const k = pairing[i];
    const o = k === null ? null : (objects.find((s) => s.track === k) ?? null);
    for (const a of ATTRIBUTES) {
      const wanted = wantedValue(w, a);
      if (wanted === null) continue;
      const got = o ? gotValue(o, a) : "nothing";
      if (o && unjudgeable(o, a)) {
        // What the clip cannot show is not held against it.
        checks.push({ what: `object ${i + 1} ${a}`, wanted, got, ok: true, unjudged: true });
        continue;
      }
      const ok = o !== null && satisfies(w, o, a);
      tally[a].asked++;
      if (ok) tally[a].met++;
      checks.push({ what: `object ${i + 1} ${a}`, wanted, got, ok });
    }
  });
  let presenceMet = 0;
  wants.forEach((_, i) => {
    const k = pairing[i];
    const o = k === null ? null : (objects.find((s) => s.track === k) ?? null);
    const share = o ? presenceOf(o, ctx) : 0;
    const ok = share >= MIN_PRESENCE;
    presenceMet += +ok;
    checks.push({
      what: `object ${i + 1} in view`,
      wanted: `≥ ${Math.round(100 * MIN_PRESENCE)}% of the clip`,
      got: `${Math.round(100 * share)}%`,
      ok,
    });
  });
  const presence = wants.length > 0 ? presenceMet / wants.length : null;
  const part = (a: Attribute) => (tally[a].asked > 0 ? tally[a].met / tally[a].asked : null);

  const expectedCount = constraints.count ?? (wants.length > 0 ? wants.length : undefined);
  let count: number | null = null;
  if (expectedCount !== undefined) {
    count = Math.max(0, 1 - Math.abs(objectCount - expectedCount) / expectedCount);
    checks.push({
      what: "object count",
      wanted: String(expectedCount),
      got: String(objectCount),
      ok: objectCount === expectedCount,
    });
  }
  let themeScore: number | null = null;
  if (!constraints.theme) {
    // No theme named, but the clip must still show one of the world's backgrounds (colours
    // turned round, say, show none).
    const recognised = ctx.themeDistance <= THEME_MAX_DISTANCE;
    themeScore = recognised ? 1 : 0;
    checks.push({
      what: "theme",
      wanted: "any of the world's",
      got: recognised ? theme : `none (nearest ${theme}, ${ctx.themeDistance.toFixed(0)} away)`,
      ok: recognised,
    });
  } else {
    // The nearest theme is not enough: the background must look like it (a black clip is
    // nearest to night, but is no night scene).
    const recognised = ctx.themeDistance <= THEME_MAX_DISTANCE;
    themeScore = recognised && constraints.theme === theme ? 1 : 0;
    checks.push({
      what: "theme",
      wanted: constraints.theme,
      got: recognised ? theme : `no theme (nearest ${theme}, ${ctx.themeDistance.toFixed(0)} away)`,
      ok: themeScore === 1,
    });
  }
  let cameraScore: number | null = null;
  if (constraints.camera && ctx.camera !== undefined) {
    const got = ctx.camera ?? "unmeasured";
    if (ctx.camera === null) {
      checks.push({ what: "camera", wanted: constraints.camera, got, ok: true, unjudged: true });
    } else {
      cameraScore = ctx.camera === constraints.camera ? 1 : 0;
      checks.push({ what: "camera", wanted: constraints.camera, got, ok: cameraScore === 1 });
    }
  }
  const parts = {
    camera: cameraScore,
    color: part("color"),
    shape: part("shape"),
    count,
    theme: themeScore,
    motion: part("motion"),
    direction: part("direction"),
    bounce: part("bounce"),
    place: part("place"),
    presence,
  };
  const present = Object.values(parts).filter((v): v is number => v !== null);
  const mean = present.length > 0 ? present.reduce((a, v) => a + v, 0) / present.length : null;
  // An object the prompt names must be there: one missing for most of the clip is no detail
  // to average away, so the share of named objects present scales the whole score.
  const score = mean === null ? null : mean * (presence ?? 1);
  return { score, ...parts, checks, pairing };
}

/**
 * What the clip cannot show about an object: the shape of one too small to tell, the motion of
 * one seen too briefly, a bounce that may have happened out of view or too small to see, the
 * start place of one not seen in the first frame.
 */
function unjudgeable(o: ObjectSummary, a: Attribute): boolean {
  if (a === "shape") return o.shape === null;
  if (a === "motion") return o.motion === null;
  if (a === "bounce") return o.bounces === 0 && (o.leftView || o.sizePx < MIN_SHAPE_SIZE);
  if (a === "place") return o.startPlace === null;
  return false;
}

function wantedValue(w: ObjectConstraint, a: Attribute): string | null {
  switch (a) {
    case "color":
      return w.color ?? null;
    case "shape":
      return w.shape ?? null;
    case "motion":
      return w.motion ?? null;
    case "direction":
      return w.direction ?? null;
    case "bounce":
      return w.bounces === undefined ? null : w.bounces ? "bounces" : "no bounce";
    case "place":
      return w.place ?? null;
  }
}

function gotValue(o: ObjectSummary, a: Attribute): string {
  switch (a) {
    case "color":
      return o.color;
    case "shape":
      return o.shape ?? "too small to tell";
    case "motion":
      return o.motion ?? "seen too briefly";
    case "direction":
      return o.direction ?? "none";
    case "bounce":
      return o.bounces > 0 ? `bounces (${o.bounces})` : "no bounce";
    case "place":
      return o.startPlace ?? "not in view at the start";
  }
}

function satisfies(w: ObjectConstraint, o: ObjectSummary, a: Attribute): boolean {
  switch (a) {
    case "color":
      return w.color === undefined || o.color === w.color;
    case "shape":
      return w.shape === undefined || o.shape === w.shape;
    case "motion":
      return w.motion === undefined || o.motion === w.motion;
    case "direction":
      return w.direction === undefined || o.direction === w.direction;
    case "bounce":
      return w.bounces === undefined || o.bounces > 0 === w.bounces;
    case "place":
      return w.place === undefined || o.startPlace === w.place;
  }
}

/**
 * Pairs named objects with tracked ones so that the most demands are met (exhaustive search:
 * prompts name at most four objects); ties go to objects seen for longer.
 */
function pairObjects(wants: ObjectConstraint[], objects: ObjectSummary[]): (number | null)[] {
  let best: (number | null)[] = wants.map(() => null);
  let bestScore = Number.NEGATIVE_INFINITY;
  const used = new Set<number>();
  const current: (number | null)[] = [];
  const go = (i: number, score: number) => {
    if (i === wants.length) {
      if (score > bestScore) {
        bestScore = score;
        best = current.slice();
      }
      return;
    }
    let any = false;
    for (const o of objects) {
      if (used.has(o.track)) continue;
      any = true;
      used.add(o.track);
      current.push(o.track);
      let s = o.seen * 1e-6;
      for (const a of ATTRIBUTES)
        if (wantedValue(wants[i], a) !== null && satisfies(wants[i], o, a)) s += 1;
      go(i + 1, score + s);
      current.pop();
      used.delete(o.track);
    }
    if (!any) {
      current.push(null);
      go(i + 1, score);
      current.pop();
    }
  };
  go(0, 0);
  return best;
}
