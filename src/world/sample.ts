/**
 * The scene sampler: whatever the constraints leave open is drawn from the seed, so that a
 * prompt becomes one concrete, physically sensible starting state. Objects start without
 * overlapping, inside the arena, with velocities that match their motion; occluders stand where
 * they hide moving objects for a while rather than covering one for the whole clip.
 */
import { Rng } from "../util/rng.ts";
import type { ObjectConstraint, SceneConstraints } from "./constraints.ts";
import { objectPlace, PLACES, placeRange } from "./place.ts";
import {
  CAMERAS,
  COLOR_NAMES,
  type ColorName,
  MATERIAL_NAMES,
  MATERIALS,
  type MaterialName,
  MOTIONS,
  type MotionKind,
  type ObjectSpec,
  OCCLUDER_KINDS,
  type OccluderKind,
  type OccluderSpec,
  type SceneSpec,
  SHAPES,
  type ShapeKind,
  SIZE_NAMES,
  SIZES,
  type SizeName,
  THEMES,
} from "./scene.ts";

export const GRAVITY = 9.81;
export const MAX_SAMPLED_OBJECTS = 4;
/**
 * Arena widths (m) the sampler draws from. With the object sizes in scene.ts this keeps objects
 * 5–10 px across at 64×64 (a medium one ~7 px), big enough for a small model to learn their
 * colour and shape (issue 10 found 2–4 px objects learned as noise), while four of the largest
 * still fit side by side.
 */
export const ARENA_WIDTHS: readonly [number, number] = [6.5, 7.5];
/** Occluders a prompt may ask for; the seed alone draws 0 to 2. */
export const MAX_SAMPLED_OCCLUDERS = 3;

/**
 * Height of an object's centre above the ground when it stands on it. The centre is the centre
 * of mass: a ball's centre, a box's centre, an upright equilateral triangle's centroid.
 */
export function restingHeight(shape: ShapeKind, size: SizeName): number {
  const s = SIZES[size];
  if (shape === "ball") return s / 2;
  if (shape === "box") return s / 2;
  return (s * Math.sqrt(3)) / 6;
}

/** Radius around the centre that contains the whole object in any rotation. */
export function boundingRadius(shape: ShapeKind, size: SizeName): number {
  const s = SIZES[size];
  if (shape === "ball") return s / 2;
  if (shape === "box") return (s * Math.SQRT2) / 2;
  return s / Math.sqrt(3);
}

/** A scene whose open choices are drawn from `seed`; the constraints are honoured exactly. */
export function sampleScene(seed: number, constraints?: SceneConstraints): SceneSpec {
  if (typeof seed !== "number" || !Number.isFinite(seed))
    throw new Error(`sampleScene: seed must be a finite number, got ${String(seed)}`);
  const c = constraints ?? { objects: [], occluders: [] };
  validateConstraints(c);
  const rng = new Rng(seed);
  // Separate streams so that, e.g., pinning the theme does not reshuffle the objects.
  const sceneRng = rng.fork();
  const objectRng = rng.fork();
  const placeRng = rng.fork();
  const occluderRng = rng.fork();

  const arenaWidth = Math.round(sceneRng.uniform(ARENA_WIDTHS[0], ARENA_WIDTHS[1]) * 100) / 100;
  const theme = c.theme ?? sceneRng.pick(THEMES);
  const camera = c.camera ?? sceneRng.pick(CAMERAS);
  const n =
    c.count ?? (c.objects.length > 0 ? c.objects.length : sceneRng.int(1, MAX_SAMPLED_OBJECTS));

  const usedColors = new Set<ColorName>(c.objects.flatMap((o) => (o.color ? [o.color] : [])));
  const kinds: Omit<ObjectSpec, "x" | "y" | "vx" | "vy">[] = [];
  const directions: (1 | -1)[] = [];
  for (let id = 0; id < n; id++) {
    const oc: ObjectConstraint = c.objects[id] ?? {};
    const motion = oc.motion ?? pickMotion(objectRng, oc);
    // Distinct colours where the prompt leaves them open keep objects easy to tell apart.
    let color = oc.color;
    if (!color) {
      const free = COLOR_NAMES.filter((k) => !usedColors.has(k));
      color = objectRng.pick(free.length > 0 ? free : COLOR_NAMES);
      usedColors.add(color);
    }
    kinds.push({
      id,
      shape: oc.shape ?? objectRng.pick(SHAPES),
      color,
      size: oc.size ?? objectRng.pick(SIZE_NAMES),
      material: oc.material ?? pickMaterial(objectRng, oc, motion),
      motion,
    });
    directions.push(
      oc.direction ? (oc.direction === "left" ? -1 : 1) : objectRng.chance(0.5) ? 1 : -1,
    );
  }

  const objects = placeObjects(kinds, directions, c.objects, arenaWidth, placeRng);
  const occluders = placeOccluders(c, objects, arenaWidth, occluderRng);
  return { seed, theme, camera, objects, occluders, arenaWidth, gravity: GRAVITY };
}

/**
 * A bouncing object is bouncy; one said to fall (and not to bounce) is not, so that its fall ends
 * on the ground within the clip instead of bouncing on and on.
 */
function pickMaterial(rng: Rng, oc: ObjectConstraint, motion: MotionKind): MaterialName {
  if (oc.bounces) return "bouncy";
  if (oc.motion === "dropped" && oc.bounces === undefined && motion === "dropped") {
    return rng.pick(["heavy", "light"] as const);
  }
  return rng.pick(MATERIAL_NAMES);
}

function pickMotion(rng: Rng, oc: ObjectConstraint): MotionKind {
  if (oc.bounces) return rng.pick(["dropped", "thrown"] as const);
  if (oc.direction) return rng.pick(["thrown", "rolled"] as const);
  return rng.pick(MOTIONS);
}

// -----------------------------------------------------------------------------------------------
// Objects

/** Gap kept between the bounding circles of two objects, and between an object and a wall (m). */
const GAP = 0.1;
/** How far (m) inside its third an object said to start there starts. */
const PLACE_MARGIN = 0.15;

function placeObjects(
  kinds: Omit<ObjectSpec, "x" | "y" | "vx" | "vy">[],
  directions: (1 | -1)[],
  constraints: ObjectConstraint[],
  arenaWidth: number,
  rng: Rng,
): ObjectSpec[] {
  const half = arenaWidth / 2;
  const placed: ObjectSpec[] = [];
  for (let k = 0; k < kinds.length; k++) {
    const kind = kinds[k];
    const r = boundingRadius(kind.shape, kind.size);
    const place = constraints[k]?.place;
    let [lo, hi] = [-half + r + GAP, half - r - GAP];
    if (place) {
      // Inside the third, a little clear of its borders so the place reads plainly.
      const [a, b] = placeRange(place, arenaWidth);
      [lo, hi] = [Math.max(lo, a + PLACE_MARGIN), Math.min(hi, b - PLACE_MARGIN)];
    }
    const start: StartRange = {
      lo,
      hi,
      ground: restingHeight(kind.shape, kind.size),
      dir: directions[k],
      directionSaid: constraints[k]?.direction !== undefined,
      anywhere: place !== undefined,
    };
    let spec: ObjectSpec | null = null;
    // First where the motion reads best (moving objects start on the side they leave), then
    // anywhere along the arena, since several objects rolling the same way may not fit on one side.
    for (let attempt = 0; attempt < 600 && !spec; attempt++) {
      const candidate = startState(
        kind,
        { ...start, anywhere: start.anywhere || attempt >= 300 },
        rng,
      );
      if (placed.every((o) => clear(o, candidate))) spec = candidate;
    }
    if (!spec && place)
      throw new Error(
        `sampleScene: no room for object ${k} (${kind.size} ${kind.shape}) in the ${place === "middle" ? "middle" : `${place} side`} of the view beside the objects placed before it`,
      );
    if (!spec) {
      // The lanes ignore places, so they serve only scenes where no place was said.
      if (constraints.some((c) => c?.place))
        throw new Error(
          "sampleScene: the objects do not fit in the places the prompt gives them; give fewer objects a place",
        );
      return laneStarts(kinds, directions, constraints, arenaWidth, rng);
    }
    placed.push(spec);
  }
  return placed;
}

interface StartRange {
  /** Allowed range of the centre's x (m). */
  lo: number;
  hi: number;
  /** Centre height when standing on the ground (m). */
  ground: number;
  dir: 1 | -1;
  directionSaid: boolean;
  /** Start anywhere in [lo, hi] rather than on the side the object moves away from (always so
   * when the prompt gave the place: [lo, hi] is then that third). */
  anywhere: boolean;
}

function startState(
  kind: Omit<ObjectSpec, "x" | "y" | "vx" | "vy">,
  s: StartRange,
  rng: Rng,
): ObjectSpec {
  const round = (v: number) => Math.round(v * 1000) / 1000;
  const { lo, hi, ground, dir } = s;
  // Moving objects start on the side they move away from, so they cross the view.
  const fromBehind = () => {
    if (s.anywhere) return rng.uniform(lo, hi);
    const x = rng.uniform(lo, lo + (hi - lo) * 0.55);
    return dir === 1 ? x : lo + hi - x;
  };
  switch (kind.motion) {
    case "dropped": {
      // Released at rest; a prompt that gives a direction gets a gentle sideways drift.
      const vx = s.directionSaid ? dir * rng.uniform(0.4, 0.9) : 0;
      return {
        ...kind,
        x: round(rng.uniform(lo, hi)),
        y: round(rng.uniform(1.5, 3)),
        vx: round(vx),
        vy: 0,
      };
    }
    case "thrown":
      return {
        ...kind,
        x: round(fromBehind()),
        y: round(ground + rng.uniform(0.3, 0.8)),
        vx: round(dir * rng.uniform(1.5, 3.5)),
        vy: round(rng.uniform(3, 5.5)),
      };
    case "rolled":
      return {
        ...kind,
        x: round(fromBehind()),
        // Exactly on the ground (rounding could sink it into the floor).
        y: ground,
        vx: round(dir * rollSpeed(kind, rng)),
        vy: 0,
      };
    case "resting":
      return { ...kind, x: round(rng.uniform(lo, hi)), y: ground, vx: 0, vy: 0 };
  }
}

/**
 * How far (m) a rolled or slid object travels at the least, and at the most: a quarter of the
 * usual view (7 m across) and then some, so the motion the prompt named is plain to see.
 */
export const MIN_SLIDE = 2.6;
const MAX_SLIDE = 3.4;
/** Starting speeds (m/s) of a rolled ball: rolling resistance barely slows it within a clip. */
const BALL_ROLL_SPEED: [number, number] = [2, 3.5];

/**
 * Starting speed of a rolled object. A ball rolls on; a box or triangle slides, and friction
 * (μg) stops it after v² / 2μg, so its speed is chosen for a slide of MIN_SLIDE to MAX_SLIDE.
 */
function rollSpeed(kind: Omit<ObjectSpec, "x" | "y" | "vx" | "vy">, rng: Rng): number {
  if (kind.shape === "ball") return rng.uniform(BALL_ROLL_SPEED[0], BALL_ROLL_SPEED[1]);
  return Math.sqrt(
    2 * MATERIALS[kind.material].friction * GRAVITY * rng.uniform(MIN_SLIDE, MAX_SLIDE),
  );
}

/** Where (x, m) a sliding box or triangle comes to rest, or null for anything else. */
export function slideEnd(o: ObjectSpec): number | null {
  if (o.motion !== "rolled" || o.shape === "ball") return null;
  const mu = MATERIALS[o.material].friction;
  return o.x + (Math.sign(o.vx) * o.vx * o.vx) / (2 * mu * GRAVITY);
}

/**
 * The fallback when random placement finds no room: one lane of width arenaWidth / n per
 * object, in an order drawn from the seed. Four of the largest objects fit with room to spare.
 */
function laneStarts(
  kinds: Omit<ObjectSpec, "x" | "y" | "vx" | "vy">[],
  directions: (1 | -1)[],
  constraints: ObjectConstraint[],
  arenaWidth: number,
  rng: Rng,
): ObjectSpec[] {
  const lanes = rng.shuffle(kinds.map((_, k) => k));
  const laneWidth = arenaWidth / kinds.length;
  const placed = kinds.map((kind, k) => {
    const x = -arenaWidth / 2 + laneWidth * (lanes[k] + 0.5);
    const state = startState(
      kind,
      {
        lo: x,
        hi: x,
        ground: restingHeight(kind.shape, kind.size),
        dir: directions[k],
        directionSaid: constraints[k]?.direction !== undefined,
        anywhere: true,
      },
      rng,
    );
    return { ...state, x: Math.round(x * 1000) / 1000 };
  });
  for (let a = 0; a < placed.length; a++)
    for (let b = a + 1; b < placed.length; b++)
      if (!clear(placed[a], placed[b]))
        throw new Error(`sampleScene: could not place objects ${a} and ${b} without overlap`);
  return placed;
}

function clear(a: ObjectSpec, b: ObjectSpec): boolean {
  const d = Math.hypot(a.x - b.x, a.y - b.y);
  return d >= boundingRadius(a.shape, a.size) + boundingRadius(b.shape, b.size) + GAP;
}

// -----------------------------------------------------------------------------------------------
// Occluders

const OCCLUDER_SIZES: Record<OccluderKind, { width: [number, number]; height: [number, number] }> =
  {
    pillar: { width: [0.35, 0.6], height: [2, 3.2] },
    wall: { width: [1.2, 2.0], height: [1.0, 1.6] },
    crate: { width: [0.7, 1.0], height: [0.7, 1.0] },
  };

function placeOccluders(
  c: SceneConstraints,
  objects: ObjectSpec[],
  arenaWidth: number,
  rng: Rng,
): OccluderSpec[] {
  const kinds: OccluderKind[] =
    c.occluders.length > 0
      ? c.occluders.slice()
      : Array.from({ length: rng.int(0, 2) }, () => rng.pick(OCCLUDER_KINDS));
  const half = arenaWidth / 2;
  const out: OccluderSpec[] = [];
  const motionNamed = c.objects.some(
    (o) => o.motion !== undefined || o.bounces !== undefined || o.direction !== undefined,
  );
  for (let k = 0; k < kinds.length; k++) {
    const kind = kinds[k];
    const size = OCCLUDER_SIZES[kind];
    const width = round2(rng.uniform(size.width[0], size.width[1]));
    const height = round2(kind === "crate" ? width : rng.uniform(size.height[0], size.height[1]));
    const said = c.occluderLayers?.[k] ?? null;
    // Where the prompt names a motion, nothing it did not ask for may hide that motion: its
    // occluders stand behind the objects unless it put them in front.
    const drawn: "front" | "back" = rng.chance(0.6) ? "front" : "back";
    let layer: "front" | "back" = said ?? (motionNamed ? "back" : drawn);
    const lo = -half + width / 2 + 0.3;
    const hi = half - width / 2 - 0.3;
    let x: number | null = null;
    for (let attempt = 0; attempt < 300 && x === null; attempt++) {
      const cand = rng.uniform(lo, hi);
      if (!fitsBesideOccluders(cand, width, layer, out)) continue;
      // A front occluder must not hide an object that stays in one column for the whole clip.
      if (layer === "front" && coversStillObject(cand, width, objects)) continue;
      x = cand;
    }
    if (x === null && said === null && layer === "front") {
      layer = "back";
      for (let attempt = 0; attempt < 300 && x === null; attempt++) {
        const cand = rng.uniform(lo, hi);
        if (fitsBesideOccluders(cand, width, layer, out)) x = cand;
      }
    }
    // Still no room: spread the occluders evenly (same-layer overlap is then at worst a touch).
    x ??= lo + ((hi - lo) * (k + 0.5)) / kinds.length;
    out.push({ kind, x: round2(x), width, height, layer });
  }
  return out;
}

function fitsBesideOccluders(x: number, width: number, layer: string, placed: OccluderSpec[]) {
  return placed.every((o) => o.layer !== layer || Math.abs(o.x - x) >= (o.width + width) / 2 + 0.3);
}

function coversStillObject(x: number, width: number, objects: ObjectSpec[]): boolean {
  return objects.some((o) => {
    // A slide must not end out of sight either.
    const end = slideEnd(o);
    if (end !== null) return Math.abs(end - x) < boundingRadius(o.shape, o.size) + width / 2 + 0.3;
    if (o.motion !== "resting" && o.motion !== "dropped") return false;
    const reach = boundingRadius(o.shape, o.size) + width / 2 + 0.2 + Math.abs(o.vx);
    return Math.abs(o.x - x) < reach;
  });
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

// -----------------------------------------------------------------------------------------------
// Validation and checking

const DIRECTIONS = ["left", "right"] as const;
const LAYERS = ["front", "back"] as const;

function checkEnum(name: string, value: unknown, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value as string))
    throw new Error(
      `scene constraints: unknown ${name} ${JSON.stringify(value)}; expected one of ${allowed.join(", ")}`,
    );
}

/** Throws an Error naming the first problem with `c`. */
export function validateConstraints(c: SceneConstraints): void {
  if (typeof c !== "object" || c === null) throw new Error("scene constraints: expected an object");
  if (!Array.isArray(c.objects)) throw new Error("scene constraints: objects must be an array");
  if (!Array.isArray(c.occluders)) throw new Error("scene constraints: occluders must be an array");
  checkEnum("theme", c.theme, THEMES);
  checkEnum("camera", c.camera, CAMERAS);
  if (c.count !== undefined) {
    if (!Number.isInteger(c.count) || c.count < 1 || c.count > MAX_SAMPLED_OBJECTS)
      throw new Error(`scene constraints: count ${c.count} is outside 1..${MAX_SAMPLED_OBJECTS}`);
    if (c.count < c.objects.length)
      throw new Error(
        `scene constraints: count ${c.count} is smaller than the ${c.objects.length} objects described`,
      );
  }
  if (c.objects.length > MAX_SAMPLED_OBJECTS)
    throw new Error(
      `scene constraints: ${c.objects.length} objects described; at most ${MAX_SAMPLED_OBJECTS}`,
    );
  c.objects.forEach((o, i) => {
    if (typeof o !== "object" || o === null)
      throw new Error(`scene constraints: object ${i} must be an object`);
    checkEnum(`shape of object ${i}:`, o.shape, SHAPES);
    checkEnum(`colour of object ${i}:`, o.color, COLOR_NAMES);
    checkEnum(`size of object ${i}:`, o.size, SIZE_NAMES);
    checkEnum(`material of object ${i}:`, o.material, MATERIAL_NAMES);
    checkEnum(`motion of object ${i}:`, o.motion, MOTIONS);
    checkEnum(`direction of object ${i}:`, o.direction, DIRECTIONS);
    checkEnum(`place of object ${i}:`, o.place, PLACES);
    if (o.bounces !== undefined && typeof o.bounces !== "boolean")
      throw new Error(`scene constraints: bounces of object ${i} must be true or false`);
    if (o.motion === "resting" && o.bounces)
      throw new Error(`scene constraints: object ${i} is resting, so it cannot bounce`);
    if (o.motion === "resting" && o.direction)
      throw new Error(
        `scene constraints: object ${i} is resting, so it cannot move ${o.direction}`,
      );
  });
  if (c.occluders.length > MAX_SAMPLED_OCCLUDERS)
    throw new Error(
      `scene constraints: ${c.occluders.length} occluders; at most ${MAX_SAMPLED_OCCLUDERS}`,
    );
  c.occluders.forEach((k, i) => {
    checkEnum(`occluder ${i}:`, k, OCCLUDER_KINDS);
  });
  if (c.occluderLayers !== undefined) {
    if (!Array.isArray(c.occluderLayers) || c.occluderLayers.length !== c.occluders.length)
      throw new Error("scene constraints: occluderLayers must have one entry per occluder");
    c.occluderLayers.forEach((l, i) => {
      if (l !== null) checkEnum(`layer of occluder ${i}:`, l, LAYERS);
    });
  }
}

/** Whether one object, in an arena `arenaWidth` m wide, satisfies one object constraint. */
export function objectSatisfies(o: ObjectSpec, oc: ObjectConstraint, arenaWidth: number): boolean {
  if (oc.shape && o.shape !== oc.shape) return false;
  if (oc.color && o.color !== oc.color) return false;
  if (oc.size && o.size !== oc.size) return false;
  if (oc.material && o.material !== oc.material) return false;
  if (oc.motion && o.motion !== oc.motion) return false;
  if (oc.direction && Math.sign(o.vx) !== (oc.direction === "left" ? -1 : 1)) return false;
  if (oc.place && objectPlace(o, arenaWidth) !== oc.place) return false;
  if (oc.bounces) {
    if (o.motion === "resting") return false;
    // "Bouncing" means a bouncy material and a fall, unless the prompt said otherwise.
    if (!oc.material && o.material !== "bouncy") return false;
    if (!oc.motion && o.motion !== "dropped" && o.motion !== "thrown") return false;
  }
  return true;
}

/**
 * Every way a scene fails its constraints, as sentences (empty when it satisfies them). Objects
 * are matched to object constraints in any order, since a caption may name them in any order.
 */
export function constraintViolations(scene: SceneSpec, c: SceneConstraints): string[] {
  const out: string[] = [];
  if (c.theme && scene.theme !== c.theme) out.push(`theme is ${scene.theme}, not ${c.theme}`);
  if (c.camera && scene.camera !== c.camera) out.push(`camera is ${scene.camera}, not ${c.camera}`);
  if (c.count !== undefined && scene.objects.length !== c.count)
    out.push(`${scene.objects.length} objects, not ${c.count}`);
  if (!matchAll(c.objects, scene.objects, (o, oc) => objectSatisfies(o, oc, scene.arenaWidth)))
    out.push(`no assignment of objects satisfies ${JSON.stringify(c.objects)}`);
  const wanted = c.occluders.map((kind, i) => ({ kind, layer: c.occluderLayers?.[i] ?? null }));
  const occluderFits = (o: OccluderSpec, w: (typeof wanted)[number]) =>
    o.kind === w.kind && (w.layer === null || o.layer === w.layer);
  if (!matchAll(wanted, scene.occluders, occluderFits))
    out.push(
      `occluders ${JSON.stringify(scene.occluders.map((o) => `${o.layer} ${o.kind}`))} lack ${JSON.stringify(wanted)}`,
    );
  return out;
}

/** Whether each want can be given its own distinct item that fits it (backtracking; lists are tiny). */
function matchAll<W, I>(wants: W[], items: I[], fits: (item: I, want: W) => boolean): boolean {
  const used = new Array<boolean>(items.length).fill(false);
  const go = (k: number): boolean => {
    if (k === wants.length) return true;
    for (let i = 0; i < items.length; i++) {
      if (used[i] || !fits(items[i], wants[k])) continue;
      used[i] = true;
      if (go(k + 1)) return true;
      used[i] = false;
    }
    return false;
  };
  return go(0);
}
