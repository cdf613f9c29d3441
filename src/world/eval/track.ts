/**
 * Links per-frame detections into object tracks by colour and predicted position. An object
 * that disappears (behind an occluder, out of the frame, or because a generator dropped it)
 * leaves its track open, and a later detection of the same colour near where it should be
 * resumes it; a same-coloured object that pops up far away right after one vanished is linked
 * too, as a jump, so that the scores can judge the jump instead of seeing two objects. Objects
 * of one colour that touch (two, three in a row, ...) show as one blob: all their tracks go on,
 * each with its share of the blob's pixels.
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

    // 2. Tracks left without a detection whose objects now touch others of their colour: they
    //    show as one blob, given to one of their tracks (or to none, when it is too big for any
    //    one object). All go on, each with its share.
    const merges = findMerges(open, assigned, dets, f);
    const owners = new Set(merges.map((m) => m.owner));
    for (const [o, p] of chosen) {
      const last = o.track.obs[o.track.obs.length - 1];
      const gap = f - last.frame;
      // A merged blob's centroid is off the object's own by half the others' width: no jump.
      const jump = p.miss > p.gate && !owners.has(o);
      if (gap > 1 || jump) {
        o.track.links.push({ to: o.track.obs.length, missing: gap - 1, miss: p.miss, jump });
      }
    }
    for (const m of merges) {
      taken[m.d] = true;
      m.members.forEach((o, i) => {
        const gap = f - o.track.obs[o.track.obs.length - 1].frame;
        if (o !== m.owner && gap > 1) {
          o.track.links.push({ to: o.track.obs.length, missing: gap - 1, miss: 0, jump: false });
        }
        addObservation(o, f, [m.parts[i]], true);
      });
    }

    // 3. Leftover pieces next to a detection already given to a track of their colour are the
    //    same object split by something in front of it.
    for (const [o, d] of assigned) {
      if (owners.has(o)) continue;
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
/** Most a merged blob's area may exceed the sum of its objects' areas. */
const MERGED_AREA_MAX = 1.3;
/** Most tracks weighed as possibly inside one blob (the nearest; subsets of them are tried). */
const MERGE_CANDIDATES = 6;

interface Merge {
  /** The blob's index among the frame's detections. */
  d: number;
  /** The track the blob was given to in step 1, if any (one of `members`). */
  owner: Open | null;
  /** The tracks whose objects make up the blob (at least two). */
  members: Open[];
  /** The blob's share of each member, in the same order. */
  parts: Detection[];
}

/**
 * Blobs that are several touching objects of one colour: tracks without a detection this frame
 * (seen within the last MERGE_GAP frames, and for a while before) whose predicted places lie
 * inside a blob of their colour, together with the track it was given to (if any), when the blob
 * has about the area of all of them (closer to their sum than to the sum without the smallest:
 * one hidden behind or gone next to the others leaves only theirs) and spans their predicted
 * places and little more. Of the groups that fit a blob, the one whose areas add up nearest the
 * blob's wins; blobs are then settled best fit first, each track in one group at most.
 */
function findMerges(
  open: Open[],
  assigned: Map<Open, number>,
  dets: Detection[],
  frame: number,
): Merge[] {
  const ownerOf = new Map<number, Open>();
  for (const [a, d] of assigned) ownerOf.set(d, a);
  const loose = open.filter((b) => {
    if (assigned.has(b) || b.track.obs.length < MERGE_HISTORY) return false;
    return frame - b.track.obs[b.track.obs.length - 1].frame <= MERGE_GAP;
  });
  if (loose.length === 0) return [];
  const places = new Map<Open, Place>();
  for (const o of [...loose, ...assigned.keys()]) places.set(o, predictedPlace(o, frame));
  const options: (Merge & { miss: number })[] = [];
  dets.forEach((det, d) => {
    const owner = ownerOf.get(d) ?? null;
    if (owner && owner.track.obs.length < MERGE_HISTORY) return;
    const near = (o: Open) => {
      const p = places.get(o)!;
      return Math.hypot(p.cx - det.cx, p.cy - det.cy);
    };
    const candidates = loose
      .filter((b) => b.track.colorIndex === det.colorIndex)
      .filter((b) => within([places.get(b)!.cx, places.get(b)!.cy], det.bbox, 0.3 * b.size + 1.5))
      .sort((a, b) => near(a) - near(b))
      .slice(0, MERGE_CANDIDATES);
    let best: (Merge & { miss: number }) | null = null;
    for (let mask = 1; mask < 1 << candidates.length; mask++) {
      const members = candidates.filter((_, i) => mask & (1 << i));
      if (owner) members.unshift(owner);
      if (members.length < 2) continue;
      const areas = members.map((o) => o.size * o.size);
      const sum = areas.reduce((t, a) => t + a, 0);
      if (det.area < sum - 0.5 * Math.min(...areas)) continue;
      if (det.area > MERGED_AREA_MAX * sum) continue;
      const miss = Math.abs(det.area - sum);
      if (best && miss >= best.miss) continue;
      const sizes = members.map((o) => o.size);
      const at = members.map((o) => places.get(o)!);
      const inside = Math.max(1.5, 0.3 * Math.min(...sizes));
      if (!at.every((p) => within([p.cx, p.cy], det.bbox, inside))) continue;
      // Room for objects that stopped short of their prediction against each other.
      const steps = at.map((p) => p.step).sort((a, b) => b - a);
      const around = Math.max(2, 0.5 * Math.max(...sizes)) + steps[0] + steps[1];
      const all = unionBox(at.map((p) => p.bbox));
      if (!within([det.bbox[0], det.bbox[1]], all, around)) continue;
      if (!within([det.bbox[2], det.bbox[3]], all, around)) continue;
      const lasts = members.map((o) => o.track.obs[o.track.obs.length - 1]);
      const parts = splitBlob(
        det,
        lasts,
        areas.map((a) => a / sum),
      );
      if (!parts) continue;
      best = { d, owner, members, parts, miss };
    }
    if (best) options.push(best);
  });
  options.sort((a, b) => a.miss - b.miss);
  const merges: Merge[] = [];
  const used = new Set<Open>();
  for (const m of options) {
    if (m.members.some((o) => used.has(o))) continue;
    for (const o of m.members) used.add(o);
    merges.push(m);
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
 * Splits a blob of touching objects into their shares by a power diagram about their last
 * places: each bit of coverage goes to the object whose place is nearest less its weight, the
 * weights chosen so that each object gets its share of the coverage. Between two neighbours
 * the cut is square to the line joining their places: a row (two objects or more) is cut where
 * its objects meet, an L (one on another, one beside) along both seams. A blob cut by the frame
 * edge has
 * no coverage patch: it is taken as filling its box, and all parts are moved together so that
 * they weigh in at the blob's measured centroid. Null when two were last seen in one place.
 */
function splitBlob(det: Detection, lasts: Observation[], shares: number[]): Detection[] | null {
  for (let i = 0; i < lasts.length; i++) {
    for (let j = i + 1; j < lasts.length; j++) {
      if (Math.hypot(lasts[i].cx - lasts[j].cx, lasts[i].cy - lasts[j].cy) < 0.5) return null;
    }
  }
  const centres = lasts.map((o): [number, number] => [o.cx, o.cy]);
  if (det.patch) return splitPatch(det, det.patch, centres, shares);
  const [x0, y0, x1, y1] = det.bbox;
  const filled: CoveragePatch = {
    x0,
    y0,
    w: x1 - x0,
    h: y1 - y0,
    cover: new Float32Array((x1 - x0) * (y1 - y0)).fill(1),
  };
  const parts = splitPatch(det, filled, centres, shares);
  if (!parts) return null;
  let mx = 0;
  let my = 0;
  parts.forEach((p, i) => {
    mx += shares[i] * p.cx;
    my += shares[i] * p.cy;
  });
  for (const p of parts) {
    p.cx += det.cx - mx;
    p.cy += det.cy - my;
  }
  return parts;
}

/** Sub-samples a side per pixel in splitPatch: a cut through a pixel shares its coverage by them. */
const SPLIT_SUB = 2;
/** Steps (golden-ratio fractions) that jitter the sub-samples, so no two lie on one row or column. */
const JITTER_X = 0.6180339887;
const JITTER_Y = 0.7548776662;
/** Rounds of weight fitting in splitPatch (two objects need one; a row of three a few). */
const SPLIT_ROUNDS = 40;
/** Share of the coverage by which each object's part may miss its share when the fit stops. */
const SPLIT_TOLERANCE = 0.002;

function splitPatch(
  det: Detection,
  patch: CoveragePatch,
  centres: [number, number][],
  shares: number[],
): Detection[] | null {
  const { x0, y0, w, cover } = patch;
  const n = centres.length;
  // Sub-samples of the covered pixels: their pixel, weight, and squared distance to each place.
  // Each is jittered within its cell: on a grid, a cut square to a row of boxes would pass
  // between whole columns of samples and miss the shares by up to half a column each.
  const pix: number[] = [];
  const wt: number[] = [];
  const pts: [number, number][] = [];
  let total = 0;
  for (let k = 0; k < cover.length; k++) {
    if (cover[k] <= 0) continue;
    total += cover[k];
    for (let sy = 0; sy < SPLIT_SUB; sy++) {
      for (let sx = 0; sx < SPLIT_SUB; sx++) {
        pix.push(k);
        wt.push(cover[k] / (SPLIT_SUB * SPLIT_SUB));
        const gx = (k % w) * SPLIT_SUB + sx;
        const gy = Math.floor(k / w) * SPLIT_SUB + sy;
        const jx = (gy * JITTER_X) % 1;
        const jy = (gx * JITTER_Y) % 1;
        pts.push([x0 + (gx + jx) / SPLIT_SUB, y0 + (gy + jy) / SPLIT_SUB]);
      }
    }
  }
  const count = pix.length;
  const d2 = centres.map(([cx, cy]) =>
    Float64Array.from(pts, ([x, y]) => (x - cx) ** 2 + (y - cy) ** 2),
  );
  // Fit the weights (bias) one object at a time, the others held: its share is the samples whose
  // distance less the best of the others' falls under its weight, so the weight that gives it
  // its share is a quantile of that difference. Repeated until the shares settle.
  const bias = new Float64Array(n);
  const key = new Float64Array(count);
  const idx = Array.from({ length: count }, (_, s) => s);
  const owner = new Int32Array(count);
  const assign = () => {
    const got = new Float64Array(n);
    for (let s = 0; s < count; s++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (d2[j][s] - bias[j] < d2[best][s] - bias[best]) best = j;
      owner[s] = best;
      got[best] += wt[s];
    }
    return got;
  };
  for (let round = 0; round < SPLIT_ROUNDS; round++) {
    for (let i = 0; i < n; i++) {
      for (let s = 0; s < count; s++) {
        let other = Number.POSITIVE_INFINITY;
        for (let j = 0; j < n; j++) if (j !== i) other = Math.min(other, d2[j][s] - bias[j]);
        key[s] = d2[i][s] - other;
      }
      idx.sort((a, b) => key[a] - key[b]);
      let sum = 0;
      let at = 0;
      while (at < count - 1 && sum + wt[idx[at]] <= shares[i] * total) sum += wt[idx[at++]];
      bias[i] = at === 0 ? key[idx[0]] - 1 : (key[idx[at - 1]] + key[idx[at]]) / 2;
    }
    const got = assign();
    if (got.every((g, i) => Math.abs(g - shares[i] * total) <= SPLIT_TOLERANCE * total)) break;
  }
  const mine = centres.map(() => new Float32Array(cover.length));
  for (let s = 0; s < count; s++) mine[owner[s]][pix[s]] += wt[s];
  const order: number[] = [];
  for (let k = 0; k < cover.length; k++) if (cover[k] > 0) order.push(k);
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
  const parts: Detection[] = [];
  for (let j = 0; j < shares.length; j++) {
    const p = measure((k) => mine[j][k], shares[j]);
    if (!p) return null;
    parts.push(p);
  }
  return parts;
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
