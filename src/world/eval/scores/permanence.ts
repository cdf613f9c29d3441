/**
 * Object permanence: objects exist whether or not they are seen. Every time a tracked object
 * appears, vanishes, or comes back after a gap, the place is judged: at the frame edge, at an
 * occluder or another object is fine; in the open it is a violation. An object that comes back
 * from behind something must keep its colour and size and reappear when its speed says it
 * should; one that goes behind an occluder and comes out as a different colour is caught by
 * pairing the tracks that end and start at occluders. Objects only a couple of pixels across
 * drop in and out of detection on their own, so their events are listed but not scored.
 */
import type { Observation, Track } from "../track.ts";

export type Place = "edge" | "occluder" | "object" | "open";

export interface PermanenceEvent {
  kind: "appear" | "vanish" | "reappear" | "swap";
  track: number;
  frame: number;
  place: Place;
  ok: boolean;
  /** Why it is not ok, when it is not. */
  reason?: string;
  /**
   * False for objects too small to be detected in every frame (a couple of pixels across):
   * their comings and goings are listed but not scored.
   */
  judged: boolean;
}

export interface PermanenceScore {
  /** null when there is no object to judge: no evidence is no score. */
  score: number | null;
  events: PermanenceEvent[];
  /** Violations among the judged events. */
  violations: number;
}

export interface PermanenceInput {
  tracks: Track[];
  /** Per frame, 1 where a pixel is scenery (occluders and props), as segmentation found it. */
  scenery: Uint8Array[];
  width: number;
  height: number;
  /** How smeared the clip's colour is (0 exact, 1 like yuv420p): see smear.ts. */
  chromaSmear?: number;
}

/** Area ratio outside which a reappearing object has changed size. */
const SIZE_RATIO = 1.6;
/** Tolerated relative error in the speed implied by a passage behind an occluder. */
const SPEED_TOLERANCE = 0.45;

export function scorePermanence(input: PermanenceInput): PermanenceScore {
  const { tracks, scenery, width, height } = input;
  const last = scenery.length - 1;
  const events: PermanenceEvent[] = [];
  const blinks = new Set<PermanenceEvent>();
  // In an encoded clip a small object can drop out whole beside scenery instead of shrinking
  // behind it first; scenery next to it then explains the gap, unless the object was seen
  // passing in front of scenery (a back layer, which hides nothing).
  const encoded = (input.chromaSmear ?? 0) > 0.5;
  const where = (ob: Observation, frame: number, self: Track, vx = 0, vy = 0) =>
    placeOf(
      ob,
      frame,
      self,
      vx,
      vy,
      tracks,
      scenery,
      width,
      height,
      encoded && !inFront(self, scenery, width, height),
    );

  for (const t of tracks) {
    const first = t.obs[0];
    const end = t.obs[t.obs.length - 1];
    if (first.frame > 0) {
      // Run backwards: where it came from is where its motion points away from.
      const v = velocityAfter(t.obs, 0);
      const place = where(first, first.frame - 1, t, -v.vx, -v.vy);
      events.push(judge("appear", t, first.frame, place));
    }
    if (end.frame < last) {
      const v = velocityBefore(t.obs, t.obs.length - 1);
      const place = where(end, end.frame + 1, t, v.vx, v.vy);
      events.push(judge("vanish", t, end.frame + 1, place));
    }
    for (const l of t.links) {
      if (l.jump || l.missing === 0) continue;
      const before = t.obs[l.to - 1];
      const after = t.obs[l.to];
      const v = velocityBefore(t.obs, l.to - 1);
      const gone = where(before, before.frame + 1, t, v.vx, v.vy);
      const va = velocityAfter(t.obs, l.to);
      const back = where(after, after.frame - 1, t, -va.vx, -va.vy);
      const ev = judge("reappear", t, after.frame, gone === "open" ? "open" : back);
      // A codec's colour smear can drop an object for a frame or two where it crosses an edge of
      // like brightness; such a blink in an encoded clip is listed, not held against it.
      if (l.missing <= CODEC_BLINK && (input.chromaSmear ?? 0) > 0.5) blinks.add(ev);
      if (ev.ok) {
        const problem = passageProblem(t, l.to);
        if (problem) {
          ev.ok = false;
          ev.reason = problem;
        }
      }
      events.push(ev);
    }
  }
  events.push(...swaps(tracks, events));
  const small = new Set(tracks.filter((t) => typicalArea(t) < MIN_JUDGED_AREA).map((t) => t.id));
  for (const e of events) e.judged = !small.has(e.track) && !blinks.has(e);
  const judged = events.filter((e) => e.judged);
  const violations = judged.filter((e) => !e.ok).length;
  // Objects seen from start to end without a break are evidence of permanence too.
  const score =
    tracks.length === 0 ? null : judged.length === 0 ? 1 : 1 - violations / judged.length;
  return { score, events, violations };
}

function judge(
  kind: PermanenceEvent["kind"],
  t: Track,
  frame: number,
  place: Place,
): PermanenceEvent {
  const ok = place !== "open";
  const verb =
    kind === "appear" ? "appeared" : kind === "vanish" ? "vanished" : "vanished and came back";
  return ok
    ? { kind, track: t.id, frame, place, ok, judged: true }
    : {
        kind,
        track: t.id,
        frame,
        place,
        ok,
        judged: true,
        reason: `${t.color} object ${verb} in the open`,
      };
}

/**
 * Where an object at `ob` was when it was not seen at `frame`: cut by the frame edge, gone
 * behind scenery, behind another object, or in the open. Scenery only explains it when the
 * object was going behind it: shrinking against it, or whole and clear of it one frame and
 * where the scenery is the next. An object seen whole over scenery was in front of it (a back
 * wall), and such scenery hides nothing.
 */
function placeOf(
  ob: Observation,
  frame: number,
  self: Track,
  vx: number,
  vy: number,
  tracks: Track[],
  scenery: Uint8Array[],
  width: number,
  height: number,
  besideHides: boolean,
): Place {
  const size = Math.sqrt(ob.area);
  const margin = Math.max(2, 0.6 * size);
  const steps = Math.abs(frame - ob.frame);
  const [bx0, by0, bx1, by1] = ob.bbox;
  // The box where the object was, stretched to where its motion would take it.
  const x0 = Math.min(bx0, bx0 + vx * steps) - margin;
  const x1 = Math.max(bx1, bx1 + vx * steps) + margin;
  const y0 = Math.min(by0, by0 + vy * steps) - margin;
  const y1 = Math.max(by1, by1 + vy * steps) + margin;
  // Out of the frame only when it was cut by the border, or its motion takes it (all but a
  // sliver too thin to detect) past the border by the next sighting.
  const slack = 1.5;
  if (
    ob.touchesEdge ||
    Math.min(bx0, bx0 + vx * steps) - slack <= 0 ||
    Math.min(by0, by0 + vy * steps) - slack <= 0 ||
    Math.max(bx1, bx1 + vx * steps) + slack >= width ||
    Math.max(by1, by1 + vy * steps) + slack >= height
  ) {
    return "edge";
  }
  const mask = scenery[Math.max(0, Math.min(scenery.length - 1, frame))];
  const here = sceneryShare(mask, width, height, bx0, by0, bx1, by1);
  const around = sceneryShare(mask, width, height, x0, y0, x1, y1);
  const ahead = sceneryShare(
    mask,
    width,
    height,
    bx0 + vx * steps,
    by0 + vy * steps,
    bx1 + vx * steps,
    by1 + vy * steps,
  );
  const shrinking = ob.area < SHRUNK * typicalArea(self);
  if (
    (shrinking && around > 0.05) ||
    (here < 0.3 && ahead >= 0.3) ||
    (besideHides && around >= 0.15)
  ) {
    return "occluder";
  }
  // Behind (or merged into) another object: one that covers most of where it would be.
  const px0 = bx0 + vx * steps;
  const py0 = by0 + vy * steps;
  const px1 = bx1 + vx * steps;
  const py1 = by1 + vy * steps;
  const own = Math.max(1, (px1 - px0) * (py1 - py0));
  for (const other of tracks) {
    if (other === self) continue;
    for (const o of other.obs) {
      if (Math.abs(o.frame - frame) > 1 || o.area < 0.5 * ob.area) continue;
      const [ox0, oy0, ox1, oy1] = o.bbox;
      const ix = Math.min(ox1 + 1, px1) - Math.max(ox0 - 1, px0);
      const iy = Math.min(oy1 + 1, py1) - Math.max(oy0 - 1, py0);
      if (ix > 0 && iy > 0 && (ix * iy) / own >= 0.5) return "object";
    }
  }
  return "open";
}

/** Whether a track was ever seen whole over scenery: in front of it, so that scenery is behind. */
function inFront(t: Track, scenery: Uint8Array[], width: number, height: number): boolean {
  return t.obs.some((o) => {
    if (o.partial) return false;
    const [x0, y0, x1, y1] = o.bbox;
    // The corners of its box show what is behind it (a disc leaves a fifth of its box).
    return sceneryShare(scenery[o.frame], width, height, x0, y0, x1, y1) >= 0.1;
  });
}

/** Frames an object may go missing in an encoded clip without being judged (see above). */
const CODEC_BLINK = 2;

/** Objects smaller than this (px²) slip in and out of detection by themselves. */
const MIN_JUDGED_AREA = 6;

/** An object seen at less than this share of its usual area is partly hidden. */
const SHRUNK = 0.8;

/** The usual area of a track's object (upper quartile of its uncut sightings). */
function typicalArea(t: Track): number {
  const areas = t.obs.filter((o) => !o.touchesEdge).map((o) => o.area);
  if (areas.length === 0) return 0;
  areas.sort((a, b) => a - b);
  return areas[Math.floor(areas.length * 0.75)];
}

/** Share of the pixels of a box that are scenery. */
function sceneryShare(
  mask: Uint8Array,
  width: number,
  height: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): number {
  let hits = 0;
  let all = 0;
  for (let y = Math.max(0, Math.floor(y0)); y < Math.min(height, Math.ceil(y1)); y++) {
    for (let x = Math.max(0, Math.floor(x0)); x < Math.min(width, Math.ceil(x1)); x++) {
      hits += mask[y * width + x];
      all++;
    }
  }
  return all > 0 ? hits / all : 0;
}

/** Velocity (px per frame) from up to the last four whole observations up to index i. */
function velocityBefore(obs: Observation[], i: number): { vx: number; vy: number } {
  const whole = [];
  for (let k = i; k >= 0 && whole.length < 4; k--) if (!obs[k].partial) whole.push(obs[k]);
  if (whole.length < 2) return { vx: 0, vy: 0 };
  const a = whole[whole.length - 1];
  const b = whole[0];
  const dt = b.frame - a.frame;
  return dt > 0 ? { vx: (b.cx - a.cx) / dt, vy: (b.cy - a.cy) / dt } : { vx: 0, vy: 0 };
}

/** Velocity (px per frame) from up to the first four whole observations from index i on. */
function velocityAfter(obs: Observation[], i: number): { vx: number; vy: number } {
  const whole = [];
  for (let k = i; k < obs.length && whole.length < 4; k++) if (!obs[k].partial) whole.push(obs[k]);
  if (whole.length < 2) return { vx: 0, vy: 0 };
  const a = whole[0];
  const b = whole[whole.length - 1];
  const dt = b.frame - a.frame;
  return dt > 0 ? { vx: (b.cx - a.cx) / dt, vy: (b.cy - a.cy) / dt } : { vx: 0, vy: 0 };
}

/**
 * Checks a passage behind something (the link arriving at obs[to]): the object must come out
 * the same size, and as fast as it went in, taking the time that speed implies. Each side is
 * judged on its fullest sighting within a few frames of the gap (before it slid behind, after it
 * came clear), since the frames next to the gap show it cut.
 */
function passageProblem(t: Track, to: number): string | null {
  const before = t.obs.slice(Math.max(0, to - PASSAGE_WINDOW), to);
  const after = t.obs.slice(to, to + PASSAGE_WINDOW);
  const b = fullest(before, -1);
  const a = fullest(after, 1);
  // Judge only sightings of the whole object: its size steady over a few frames around them.
  if (!b || !a || !steady(before, b) || !steady(after, a)) return null;
  const ratio = a.area / b.area;
  if (ratio > SIZE_RATIO || ratio < 1 / SIZE_RATIO) {
    return `${t.color} object came back ${ratio > 1 ? "larger" : "smaller"} (area ×${ratio.toFixed(2)})`;
  }
  const vin = steadySpeed(before, b);
  const vout = steadySpeed(after, a);
  const frames = a.frame - b.frame;
  const crossing = (a.cx - b.cx) / frames;
  const size = Math.sqrt(b.area);
  // Slack: speeds change a little (friction, a bounce) and centroids are noisy.
  const slack =
    SPEED_TOLERANCE * Math.max(Math.abs(vin), Math.abs(vout)) +
    (0.5 + 0.2 * size) / Math.sqrt(frames);
  const lo = Math.min(vin, vout) - slack;
  const hi = Math.max(vin, vout) + slack;
  if (crossing < lo || crossing > hi) {
    return `${t.color} object crossed its hiding place at ${crossing.toFixed(2)} px/frame, not ${vin.toFixed(2)}`;
  }
  return null;
}

/** Sightings either side of a gap that a passage is judged on. */
const PASSAGE_WINDOW = 16;

/** The sighting with the largest area; on ties the one nearest the gap (dir -1: the last). */
function fullest(obs: Observation[], dir: 1 | -1): Observation | null {
  let best: Observation | null = null;
  const order = dir === 1 ? obs : [...obs].reverse();
  for (const o of order) if (!best || o.area > best.area * 1.02) best = o;
  return best;
}

/** Whether at least three sightings, `ref` among them, agree on its area within 10%. */
function steady(obs: Observation[], ref: Observation): boolean {
  if (ref.touchesEdge) return false;
  return (
    obs.filter((o) => !o.touchesEdge && Math.abs(o.area - ref.area) <= 0.1 * ref.area).length >= 3
  );
}

/** Horizontal speed (px/frame) over the sightings at least nearly as full as `ref`. */
function steadySpeed(obs: Observation[], ref: Observation): number {
  const full = obs.filter((o) => o.area >= 0.8 * ref.area);
  if (full.length < 2) return 0;
  const first = full[0];
  const last = full[full.length - 1];
  return (last.cx - first.cx) / (last.frame - first.frame);
}

/**
 * Pairs a track that vanished at an occluder with one that appeared at an occluder later,
 * not far from where the first was heading: a different colour is an identity swap.
 */
function swaps(tracks: Track[], events: PermanenceEvent[]): PermanenceEvent[] {
  const out: PermanenceEvent[] = [];
  const byId = new Map(tracks.map((t) => [t.id, t]));
  const vanished = events.filter((e) => e.kind === "vanish" && e.place === "occluder");
  const appeared = events.filter((e) => e.kind === "appear" && e.place === "occluder");
  const used = new Set<PermanenceEvent>();
  for (const v of vanished) {
    const tv = byId.get(v.track)!;
    const end = tv.obs[tv.obs.length - 1];
    const vel = velocityBefore(tv.obs, tv.obs.length - 1);
    const size = Math.sqrt(end.area);
    let best: PermanenceEvent | null = null;
    let bestMiss = Number.POSITIVE_INFINITY;
    for (const a of appeared) {
      if (used.has(a) || a.frame < v.frame) continue;
      const ta = byId.get(a.track)!;
      if (ta === tv) continue;
      const start = ta.obs[0];
      const frames = start.frame - end.frame;
      const px = end.cx + vel.vx * frames;
      const miss = Math.abs(start.cx - px);
      const gate = 2 * size + Math.sqrt(start.area) + 0.5 * Math.abs(vel.vx) * frames;
      if (miss <= gate && miss < bestMiss && Math.abs(start.cy - end.cy) < 3 * size + 4) {
        best = a;
        bestMiss = miss;
      }
    }
    if (!best) continue;
    used.add(best);
    const ta = byId.get(best.track)!;
    // Same colour but not resumed by the tracker: it came out too early, too late or too far.
    out.push({
      kind: "swap",
      track: ta.id,
      frame: best.frame,
      place: "occluder",
      ok: false,
      judged: true,
      reason:
        ta.colorIndex !== tv.colorIndex
          ? `${tv.color} object went behind scenery and a ${ta.color} one came out`
          : `${tv.color} object came out from behind scenery where its speed cannot take it`,
    });
  }
  return out;
}
