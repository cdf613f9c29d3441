/**
 * Links per-frame detections into object tracks by colour and predicted position. An object
 * that disappears (behind an occluder, out of the frame, or because a generator dropped it)
 * leaves its track open, and a later detection of the same colour near where it should be
 * resumes it; a same-coloured object that pops up far away right after one vanished is linked
 * too, as a jump, so that the scores can judge the jump instead of seeing two objects. Two
 * objects of one colour that touch show as one blob: both tracks go on, each with its share of
 * the blob's pixels.
 */
import type { ColorName } from "../scene.ts";
import type { Detection } from "./segment.ts";
import type { CoveragePatch } from "./shape.ts";

export interface Observation {
  frame: number;
  cx: number;
  cy: number;
  area: number;
  bbox: [number, number, number, number];
  /** Lowest extent of the object (px, sub-pixel). */
  bottom: number;
  touchesEdge: boolean;
  /** Which frame borders it touches: 1 left, 2 top, 4 right, 8 bottom. */
  edgeSides: number;
  /** Coverage around the blob, for shape fitting (null when cut, joined or tiny). */
  patch: CoveragePatch | null;
  /** Pieces of one blob (split by an occluder) were joined into this observation. */
  joined: boolean;
  /**
   * The object touched another of its colour, the two showing as one blob: this is its share of
   * that blob's pixels (measured, but not a sighting of the whole object).
   */
  merged: boolean;
  /** Part of the object may be hidden or cut off in this frame. */
  partial: boolean;
  /** Another object is within touching distance (this frame or the next or previous one). */
  near: boolean;
}

/** How a track resumed after frames without a detection, or after an implausible step. */
export interface TrackLink {
  /** Index in `obs` of the observation the link arrives at (the one before is obs[to - 1]). */
  to: number;
  /** Frames with no detection between the two observations. */
  missing: number;
  /** Pixels between the predicted and the observed position. */
  miss: number;
  /** Whether the step fell outside the plausible-motion gate. */
  jump: boolean;
}

export interface Track {
  id: number;
  color: ColorName;
  colorIndex: number;
  obs: Observation[];
  links: TrackLink[];
}

export interface TrackOptions {
  /**
   * Fastest an object can plausibly move, in pixels per frame. A step faster than this (beyond
   * the slack centroids need) is a jump; a slower step that prediction did not expect (a kick
   * from a collision) is not.
   */
  maxSpeed: number;
  /** Frames a lost track may stay open for a same-coloured jump (larger gaps must be plausible). */
  jumpWindow?: number;
}

interface Open {
  track: Track;
  /** Velocity in px per frame at the last whole (not shrunken) observation. */
  vx: number;
  vy: number;
  /** The last observation in which the object looked whole: predictions start from it. */
  anchor: Observation | null;
  /** Typical size of the object (sqrt of its area), px. */
  size: number;
}

/** Tracks objects through a clip given each frame's detections. */
export function trackDetections(frames: Detection[][], options: TrackOptions): Track[] {
  const jumpWindow = options.jumpWindow ?? 3;
  const maxSpeed = options.maxSpeed;
  if (!(jumpWindow >= 0))
    throw new Error(`trackDetections: jumpWindow must be ≥ 0, got ${jumpWindow}`);
  if (!(maxSpeed > 0))
    throw new Error(`trackDetections: maxSpeed must be > 0 px/frame, got ${maxSpeed}`);
  const tracks: Track[] = [];
  const open: Open[] = [];
  frames.forEach((dets, f) => {
    const taken = new Array<boolean>(dets.length).fill(false);
    const assigned = new Map<Open, number>();

    // 1. Tracks seen in the previous frame continue to their nearest plausible detection.
    const pairs: { o: Open; d: number; cost: number; miss: number; gate: number }[] = [];
    for (const o of open) {
      const last = o.track.obs[o.track.obs.length - 1];
      const gap = f - last.frame;
      const from = o.anchor ?? last;
      const px = from.cx + o.vx * (f - from.frame);
      const py = from.cy + o.vy * (f - from.frame);
      const gateA = plausibleMiss(o, gap, f - from.frame);
      // Second opinion for an object seen in each of the last frames: its latest step, repeated
      // (the anchor can be stale while the object is only partly visible).
      const prev = o.track.obs[o.track.obs.length - 2];
      const stepping = gap === 1 && prev !== undefined && last.frame - prev.frame === 1;
      const sx = stepping ? 2 * last.cx - prev.cx : px;
      const sy = stepping ? 2 * last.cy - prev.cy : py;
      const gateB = stepping
        ? Math.max(3, 0.9 * o.size) + Math.hypot(last.cx - prev.cx, last.cy - prev.cy)
        : gateA;
      dets.forEach((det, d) => {
        if (det.colorIndex !== o.track.colorIndex) return;
        const missA = Math.hypot(det.cx - px, det.cy - py);
        const missB = Math.hypot(det.cx - sx, det.cy - sy);
        const useB = missB / gateB < missA / gateA;
        const miss = useB ? missB : missA;
        const gate = useB ? gateB : gateA;
        const ratio = det.area / Math.max(1, o.size * o.size);
        const step = Math.hypot(det.cx - last.cx, det.cy - last.cy);
        // Within reach: a kick from a collision can bring an object up to the fastest speed
        // there is, but only with something beside it to kick it; alone it keeps about its own
        // speed (doubled, for a bounce off the floor or a wall, plus a little for noise).
        const speed = Math.hypot(o.vx, o.vy);
        const kickable =
          touching(last, dets, d, o.size) || touching(last, frames[last.frame], -1, o.size);
        // A track seen once (or only cut by the border) has no speed of its own yet.
        const known = o.anchor !== null && o.track.obs.length > 1 && !last.touchesEdge;
        const pace = kickable || !known ? maxSpeed : Math.min(maxSpeed, 2 * speed + 1.5);
        const reachable = step <= Math.max(2, 0.6 * o.size) + pace * gap;
        // Reappearing from behind something, an object may show only a sliver at first.
        if (miss <= gate && ratio < 4) {
          pairs.push({ o, d, cost: miss / gate + gap * 0.01, miss, gate });
        } else if (reachable && ratio > (gap > 1 ? 0.05 : 0.25) && ratio < 4) {
          // Not where it was heading but within reach: kicked by a collision, say.
          pairs.push({ o, d, cost: 3 + miss / gate + gap * 0.01, miss, gate: miss });
        } else if (gap > 1 && (last.edgeSides & det.edgeSides) !== 0 && ratio < 4) {
          // Out of the frame and back in over the same border (it turned round out of view).
          pairs.push({ o, d, cost: 2 + gap * 0.01, miss, gate: miss });
        } else if (gap <= jumpWindow + 1 && ratio > 0.15 && ratio < 4) {
          // A same-coloured object of the same size elsewhere: a candidate jump, taken last.
          pairs.push({ o, d, cost: 10 + miss / gate + gap, miss, gate });
        }
      });
    }
    pairs.sort((a, b) => a.cost - b.cost);
    const chosen = new Map<Open, (typeof pairs)[number]>();
    for (const p of pairs) {
      if (taken[p.d] || assigned.has(p.o)) continue;
      taken[p.d] = true;
      assigned.set(p.o, p.d);
      chosen.set(p.o, p);
    }

    // 2. A track left without a detection whose object now touches another of its colour: the
    //    two show as one blob, given to the other's track. Both go on, each with its share.
    const merges = findMerges(open, assigned, dets, f);
    for (const [o, p] of chosen) {
      const last = o.track.obs[o.track.obs.length - 1];
      const gap = f - last.frame;
      // A merged blob's centroid is off the object's own by half the other's width: no jump.
      const jump = p.miss > p.gate && !merges.some((m) => m.a === o);
      if (gap > 1 || jump) {
        o.track.links.push({ to: o.track.obs.length, missing: gap - 1, miss: p.miss, jump });
      }
    }
    for (const m of merges) {
      const gap = f - m.b.track.obs[m.b.track.obs.length - 1].frame;
      if (gap > 1) {
        m.b.track.links.push({ to: m.b.track.obs.length, missing: gap - 1, miss: 0, jump: false });
      }
      addObservation(m.a, f, [m.parts[0]], true);
      addObservation(m.b, f, [m.parts[1]], true);
    }

    // 3. Leftover pieces next to a detection already given to a track of their colour are the
    //    same object split by something in front of it.
    for (const [o, d] of assigned) {
      if (merges.some((m) => m.a === o)) continue;
      const main = dets[d];
      const pieces: Detection[] = [main];
      dets.forEach((det, k) => {
        if (taken[k] || det.colorIndex !== main.colorIndex) return;
        const union = unionBox(pieces.map((p) => p.bbox).concat([det.bbox]));
        const span = Math.max(union[2] - union[0], union[3] - union[1]);
        if (span <= 1.6 * o.size + 2) {
          pieces.push(det);
          taken[k] = true;
        }
      });
      addObservation(o, f, pieces);
    }

    // 4. What is left starts new tracks.
    dets.forEach((det, d) => {
      if (taken[d]) return;
      const track: Track = {
        id: tracks.length,
        color: det.color,
        colorIndex: det.colorIndex,
        obs: [],
        links: [],
      };
      tracks.push(track);
      const o: Open = { track, vx: 0, vy: 0, anchor: null, size: Math.sqrt(det.area) };
      open.push(o);
      addObservation(o, f, [det]);
    });
  });
  markPartialAndNear(tracks);
  return tracks;
}

/**
 * Whether some other detection (not index `self`) lies within touching distance of an object of
 * size `size` at `at`: something that could have hit it.
 */
function touching(
  at: Observation,
  dets: Detection[] | undefined,
  self: number,
  size: number,
): boolean {
  if (!dets) return false;
  return dets.some((d, k) => {
    if (k === self) return false;
    const reach = 0.75 * (size + Math.sqrt(d.area)) + 2;
    const dist = Math.hypot(d.cx - at.cx, d.cy - at.cy);
    return dist > 0.5 && dist <= reach;
  });
}

/**
 * How far (px) an object may land from its constant-velocity prediction after `gap` frames:
 * room for gravity and bounces, plus drift while it is hidden.
 */
function plausibleMiss(o: Open, gap: number, sinceAnchor: number): number {
  const speed = Math.hypot(o.vx, o.vy);
  // A bounce can turn the velocity round within a frame: up to twice the speed off course.
  return (
    Math.max(3, 0.9 * o.size) +
    2 * speed * Math.min(sinceAnchor, 2) +
    0.25 * speed * sinceAnchor +
    0.5 * gap
  );
}

/** Frames a track may have gone unseen and still be found merged with another of its colour. */
const MERGE_GAP = 2;
/**
 * Sightings each track needs before it can be found merged: two pieces of one object (cut by
 * a thin occluder as it first comes into view) that start two tracks must not go on as two.
 */
const MERGE_HISTORY = 3;
/** Most a merged blob's area may exceed the sum of both objects' areas. */
const MERGED_AREA_MAX = 1.3;

interface Merge {
  /** The track the blob was given to, and the one found inside it. */
  a: Open;
  b: Open;
  /** The blob's share of each, in that order. */
  parts: [Detection, Detection];
}

/**
 * Blobs that are two touching objects of one colour: a track without a detection this frame
 * (seen within the last MERGE_GAP frames, and for a while before) whose predicted place lies
 * inside a blob given to another track of its colour, when that blob has about the area of both
 * objects (closer to their sum than to either alone: one hidden behind or gone next to the
 * other leaves only its own) and spans both predicted places and little more.
 */
function findMerges(
  open: Open[],
  assigned: Map<Open, number>,
  dets: Detection[],
  frame: number,
): Merge[] {
  const merges: Merge[] = [];
  const used = new Set<number>();
  for (const b of open) {
    if (assigned.has(b)) continue;
    const lastB = b.track.obs[b.track.obs.length - 1];
    if (frame - lastB.frame > MERGE_GAP || b.track.obs.length < MERGE_HISTORY) continue;
    const pb = predictedPlace(b, frame);
    let best: Merge | null = null;
    let bestMiss = Number.POSITIVE_INFINITY;
    for (const [a, d] of assigned) {
      const det = dets[d];
      if (used.has(d) || det.colorIndex !== b.track.colorIndex) continue;
      if (a.track.obs.length < MERGE_HISTORY) continue;
      const areaA = a.size * a.size;
      const areaB = b.size * b.size;
      const sum = areaA + areaB;
      if (det.area < Math.max(areaA, areaB) + 0.5 * Math.min(areaA, areaB)) continue;
      if (det.area > MERGED_AREA_MAX * sum) continue;
      const pa = predictedPlace(a, frame);
      const inside = Math.max(1.5, 0.3 * Math.min(a.size, b.size));
      if (!within([pa.cx, pa.cy], det.bbox, inside) || !within([pb.cx, pb.cy], det.bbox, inside))
        continue;
      // Room for objects that stopped short of their prediction against each other.
      const around = Math.max(2, 0.5 * Math.max(a.size, b.size)) + pa.step + pb.step;
      const both = unionBox([pa.bbox, pb.bbox]);
      if (!within([det.bbox[0], det.bbox[1]], both, around)) continue;
      if (!within([det.bbox[2], det.bbox[3]], both, around)) continue;
      const lastA = a.track.obs[a.track.obs.length - 1];
      const parts = splitBlob(det, lastA, lastB, areaA / sum);
      if (!parts) continue;
      const miss = Math.abs(det.area - sum);
      if (miss < bestMiss) {
        bestMiss = miss;
        best = { a, b, parts };
      }
    }
    if (best) {
      merges.push(best);
      used.add(assigned.get(best.a)!);
    }
  }
  return merges;
}

interface Place {
  cx: number;
  cy: number;
  /** Its last box, moved along. */
  bbox: [number, number, number, number];
  /** How far (px) it was expected to move since it was last seen. */
  step: number;
}

/**
 * Where a track's object is expected at `frame`: its last sighting moved on by its latest
 * step (the anchor's velocity is stale while it is merged, and objects that meet slow down).
 */
function predictedPlace(o: Open, frame: number): Place {
  const obs = o.track.obs;
  const last = obs[obs.length - 1];
  const prev = obs[obs.length - 2];
  const consecutive = prev !== undefined && last.frame - prev.frame === 1;
  const vx = consecutive ? last.cx - prev.cx : o.vx;
  const vy = consecutive ? last.cy - prev.cy : o.vy;
  const gap = frame - last.frame;
  const [x0, y0, x1, y1] = last.bbox;
  return {
    cx: last.cx + vx * gap,
    cy: last.cy + vy * gap,
    bbox: [x0 + vx * gap, y0 + vy * gap, x1 + vx * gap, y1 + vy * gap],
    step: Math.hypot(vx, vy) * gap,
  };
}

/** Whether point p lies inside box b grown by `margin` px. */
function within(p: [number, number], b: [number, number, number, number], margin: number): boolean {
  return (
    p[0] >= b[0] - margin && p[0] <= b[2] + margin && p[1] >= b[1] - margin && p[1] <= b[3] + margin
  );
}

/**
 * Splits a blob of two touching objects A and B into their shares: its pixels ordered along
 * the line from A's last place to B's, the first `shareA` of the coverage A's and the rest B's
 * (the cut runs where the objects meet, square to the line between them). A blob cut by the
 * frame edge has no coverage patch: it is taken as filling its box, and both parts are moved
 * together so that they weigh in at the blob's measured centroid.
 */
function splitBlob(
  det: Detection,
  lastA: Observation,
  lastB: Observation,
  shareA: number,
): [Detection, Detection] | null {
  const dx = lastB.cx - lastA.cx;
  const dy = lastB.cy - lastA.cy;
  const len = Math.hypot(dx, dy);
  // Seen in one place, they cannot be told apart.
  if (len < 0.5) return null;
  const ux = dx / len;
  const uy = dy / len;
  if (det.patch) return splitPatch(det, det.patch, ux, uy, shareA);
  const [x0, y0, x1, y1] = det.bbox;
  const filled: CoveragePatch = {
    x0,
    y0,
    w: x1 - x0,
    h: y1 - y0,
    cover: new Float32Array((x1 - x0) * (y1 - y0)).fill(1),
  };
  const parts = splitPatch(det, filled, ux, uy, shareA);
  if (!parts) return null;
  const [a, b] = parts;
  const sx = det.cx - (shareA * a.cx + (1 - shareA) * b.cx);
  const sy = det.cy - (shareA * a.cy + (1 - shareA) * b.cy);
  for (const p of [a, b]) {
    p.cx += sx;
    p.cy += sy;
  }
  return [a, b];
}

function splitPatch(
  det: Detection,
  patch: CoveragePatch,
  ux: number,
  uy: number,
  shareA: number,
): [Detection, Detection] | null {
  const { x0, y0, w, cover } = patch;
  const at = (k: number) => (x0 + (k % w) + 0.5) * ux + (y0 + Math.floor(k / w) + 0.5) * uy;
  const order: number[] = [];
  let total = 0;
  for (let k = 0; k < cover.length; k++) {
    if (cover[k] <= 0) continue;
    order.push(k);
    total += cover[k];
  }
  order.sort((i, j) => at(i) - at(j));
  const mine = new Float32Array(cover.length);
  let left = shareA * total;
  for (const k of order) {
    mine[k] = Math.max(0, Math.min(cover[k], left));
    left -= mine[k];
  }
  const measure = (weight: (k: number) => number, share: number): Detection | null => {
    let area = 0;
    let sx = 0;
    let sy = 0;
    let bottom = 0;
    const bbox: [number, number, number, number] = [
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    for (const k of order) {
      const a = weight(k);
      if (a <= 0) continue;
      const x = x0 + (k % w);
      const y = y0 + Math.floor(k / w);
      area += a;
      sx += a * (x + 0.5);
      sy += a * (y + 0.5);
      bottom = Math.max(bottom, y + Math.min(1, a));
      // The box is the blob's own pixels' (not its rim's), as segmentation gives it.
      if (x < det.bbox[0] || y < det.bbox[1] || x >= det.bbox[2] || y >= det.bbox[3]) continue;
      bbox[0] = Math.min(bbox[0], x);
      bbox[1] = Math.min(bbox[1], y);
      bbox[2] = Math.max(bbox[2], x + 1);
      bbox[3] = Math.max(bbox[3], y + 1);
    }
    // A share with none of the blob's own pixels is no object.
    if (!(area > 0) || bbox[0] >= bbox[2]) return null;
    // The area is the share of the blob's measured one (the patch's sum can differ by a rim
    // pixel or so); the lowest extent no lower than the blob's.
    return part(det, share, sx / area, sy / area, bbox, Math.min(bottom, det.bottom));
  };
  const a = measure((k) => mine[k], shareA);
  const b = measure((k) => cover[k] - mine[k], 1 - shareA);
  return a && b ? [a, b] : null;
}

/** One object's share of a merged blob, as a detection of its own (no patch: not whole). */
function part(
  det: Detection,
  share: number,
  cx: number,
  cy: number,
  bbox: [number, number, number, number],
  bottom: number,
): Detection {
  const sides = [
    bbox[0] <= det.bbox[0] ? 1 : 0,
    bbox[1] <= det.bbox[1] ? 2 : 0,
    bbox[2] >= det.bbox[2] ? 4 : 0,
    bbox[3] >= det.bbox[3] ? 8 : 0,
  ].reduce((m, s) => m | s, 0);
  const edgeSides = det.edgeSides & sides;
  return {
    color: det.color,
    colorIndex: det.colorIndex,
    area: share * det.area,
    pixels: Math.round(share * det.pixels),
    cx,
    cy,
    bbox,
    bottom,
    touchesEdge: edgeSides !== 0,
    edgeSides,
    patch: null,
  };
}

function addObservation(o: Open, frame: number, pieces: Detection[], merged = false): void {
  let area = 0;
  let sx = 0;
  let sy = 0;
  for (const p of pieces) {
    area += p.area;
    sx += p.area * p.cx;
    sy += p.area * p.cy;
  }
  const ob: Observation = {
    frame,
    cx: sx / area,
    cy: sy / area,
    area,
    bbox: unionBox(pieces.map((p) => p.bbox)),
    bottom: Math.max(...pieces.map((p) => p.bottom)),
    touchesEdge: pieces.some((p) => p.touchesEdge),
    edgeSides: pieces.reduce((m, p) => m | p.edgeSides, 0),
    patch: pieces.length === 1 ? pieces[0].patch : null,
    joined: pieces.length > 1,
    merged,
    partial: false,
    near: false,
  };
  const obs = o.track.obs;
  // A shrunken or cut blob (half behind a pillar, leaving the frame) has a biased centroid:
  // it neither sets the velocity nor anchors predictions.
  const whole = !ob.touchesEdge && !ob.joined && !merged && ob.area >= 0.7 * o.size * o.size;
  const prev = o.anchor;
  if (whole && prev) {
    const gap = frame - prev.frame;
    const vx = (ob.cx - prev.cx) / gap;
    const vy = (ob.cy - prev.cy) / gap;
    // Smooth the velocity a little: single-frame centroid noise should not steer the gate.
    o.vx = gap === 1 ? 0.7 * vx + 0.3 * o.vx : vx;
    o.vy = gap === 1 ? 0.7 * vy + 0.3 * o.vy : vy;
  }
  const prevObs = obs[obs.length - 1];
  if (!whole && !merged && ob.touchesEdge && prev && prevObs && frame - prev.frame > 3) {
    // Seen only in part for a while as it comes into the frame: its cut centroid is still a
    // better guide than a stale anchor. (An object sliding behind scenery keeps its anchor:
    // its shrinking centroid lags and would make it look slower.)
    const gap = frame - prevObs.frame;
    o.vx = (ob.cx - prevObs.cx) / gap;
    o.vy = (ob.cy - prevObs.cy) / gap;
    o.anchor = ob;
  }
  if (whole || !o.anchor) o.anchor = ob;
  o.size = obs.length === 0 ? Math.sqrt(area) : Math.max(0.95 * o.size, Math.sqrt(area));
  obs.push(ob);
}

export function unionBox(
  boxes: [number, number, number, number][],
): [number, number, number, number] {
  const u: [number, number, number, number] = [
    Number.POSITIVE_INFINITY,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ];
  for (const b of boxes) {
    u[0] = Math.min(u[0], b[0]);
    u[1] = Math.min(u[1], b[1]);
    u[2] = Math.max(u[2], b[2]);
    u[3] = Math.max(u[3], b[3]);
  }
  return u;
}

/**
 * Flags observations in which the object may be partly hidden or cut (at the frame edge, split
 * into pieces, touching another object, or clearly smaller than the object usually is) and those
 * in which another object is close enough to touch it, when motion is not free.
 */
function markPartialAndNear(tracks: Track[]): void {
  const byFrame = new Map<number, { track: Track; ob: Observation }[]>();
  for (const track of tracks) {
    for (const ob of track.obs) {
      let list = byFrame.get(ob.frame);
      if (!list) byFrame.set(ob.frame, (list = []));
      list.push({ track, ob });
    }
  }
  for (const track of tracks) {
    const obs = track.obs;
    for (const ob of obs) {
      // Its usual size around this time (a zoom grows objects over the clip).
      const areas = obs
        .filter((o) => !o.touchesEdge && Math.abs(o.frame - ob.frame) <= LOCAL_FRAMES)
        .map((o) => o.area)
        .sort((a, b) => a - b);
      const typical = areas.length > 0 ? areas[Math.floor(areas.length * 0.75)] : 0;
      const margin = Math.max(1, 0.15 * Math.sqrt(typical));
      let partial = ob.touchesEdge || ob.joined || ob.merged || ob.area < 0.8 * typical;
      let near = false;
      for (let f = ob.frame - 1; f <= ob.frame + 1; f++) {
        for (const other of byFrame.get(f) ?? []) {
          if (other.track === track) continue;
          if (f === ob.frame && boxesTouch(ob.bbox, other.ob.bbox, 0)) partial = true;
          if (boxesTouch(ob.bbox, other.ob.bbox, margin)) near = true;
        }
      }
      ob.partial = partial;
      ob.near = near;
    }
  }
}

/** Frames either side over which an object's usual size is taken. */
const LOCAL_FRAMES = 12;

function boxesTouch(
  a: [number, number, number, number],
  b: [number, number, number, number],
  margin: number,
): boolean {
  return (
    a[0] - margin <= b[2] && b[0] - margin <= a[2] && a[1] - margin <= b[3] && b[1] - margin <= a[3]
  );
}
