/**
 * Checks of a scene and of clip options before anything is simulated, each failure a clear Error
 * naming the field and the value. Object placement uses the same shape geometry as the physics.
 */
import { shapeGeometry, worldBounds } from "./geometry.ts";
import {
  CAMERAS,
  COLOR_NAMES,
  MATERIAL_NAMES,
  MOTIONS,
  OCCLUDER_KINDS,
  type SceneSpec,
  SHAPES,
  SIZE_NAMES,
  THEMES,
} from "./scene.ts";

export interface SimulateOptions {
  width: number;
  height: number;
  /** Frames per second. */
  fps: number;
  /** Clip length (s); the clip has round(seconds × fps) frames, at least one. */
  seconds: number;
}

export const MAX_FRAME_SIDE = 2048;
export const MAX_FPS = 120;
export const MAX_SECONDS = 120;
export const MAX_OBJECTS = 4;
export const MAX_OCCLUDERS = 16;
/** Fastest initial speed accepted (m/s). */
export const MAX_SPEED = 50;
/** Largest clip accepted, in bytes of raw RGB frames. */
export const MAX_CLIP_BYTES = 2 ** 30;
/** How far (m) an object may start overlapping the ground or a wall (rounding in placement). */
const PLACEMENT_TOLERANCE = 1e-3;

function isNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function oneOf<T extends string>(what: string, v: unknown, allowed: readonly T[]): void {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new Error(`${what} must be one of ${allowed.join(", ")}; got ${JSON.stringify(v)}`);
  }
}

function finite(what: string, v: unknown): number {
  if (!isNumber(v)) throw new Error(`${what} must be a finite number, got ${String(v)}`);
  return v;
}

export function frameCount(opts: SimulateOptions): number {
  return Math.max(1, Math.round(opts.seconds * opts.fps));
}

export function validateOptions(opts: SimulateOptions): void {
  if (opts === null || typeof opts !== "object") throw new Error("simulate: options are missing");
  const { width, height, fps, seconds } = opts;
  for (const [name, v] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_FRAME_SIDE) {
      throw new Error(`simulate: ${name} must be an integer from 1 to ${MAX_FRAME_SIDE}, got ${v}`);
    }
  }
  if (!isNumber(fps) || fps < 1 || fps > MAX_FPS) {
    throw new Error(`simulate: fps must be a number from 1 to ${MAX_FPS}, got ${fps}`);
  }
  if (!isNumber(seconds) || seconds <= 0 || seconds > MAX_SECONDS) {
    throw new Error(`simulate: seconds must be > 0 and <= ${MAX_SECONDS}, got ${seconds}`);
  }
  const bytes = width * height * 3 * frameCount(opts);
  if (bytes > MAX_CLIP_BYTES) {
    throw new Error(
      `simulate: ${width}×${height} at ${fps} fps for ${seconds} s is ${(bytes / 2 ** 30).toFixed(1)} GiB of frames, more than the ${MAX_CLIP_BYTES / 2 ** 30} GiB limit`,
    );
  }
}

export function validateScene(scene: SceneSpec): void {
  if (scene === null || typeof scene !== "object") throw new Error("scene is missing");
  finite("scene.seed", scene.seed);
  oneOf("scene.theme", scene.theme, THEMES);
  oneOf("scene.camera", scene.camera, CAMERAS);
  const W = finite("scene.arenaWidth", scene.arenaWidth);
  if (W < 1 || W > 100) throw new Error(`scene.arenaWidth must be from 1 to 100 m, got ${W}`);
  const g = finite("scene.gravity", scene.gravity);
  if (g <= 0 || g > 100) throw new Error(`scene.gravity must be > 0 and <= 100 m/s², got ${g}`);
  if (!Array.isArray(scene.objects)) throw new Error("scene.objects must be an array");
  const n = scene.objects.length;
  if (n < 1 || n > MAX_OBJECTS) {
    throw new Error(`scene must have 1 to ${MAX_OBJECTS} objects, got ${n}`);
  }
  scene.objects.forEach((o, i) => {
    const at = `scene.objects[${i}]`;
    if (o === null || typeof o !== "object") throw new Error(`${at} is not an object`);
    if (o.id !== i) throw new Error(`${at}.id must equal its index ${i}, got ${String(o.id)}`);
    oneOf(`${at}.shape`, o.shape, SHAPES);
    oneOf(`${at}.color`, o.color, COLOR_NAMES);
    oneOf(`${at}.size`, o.size, SIZE_NAMES);
    oneOf(`${at}.material`, o.material, MATERIAL_NAMES);
    oneOf(`${at}.motion`, o.motion, MOTIONS);
    const x = finite(`${at}.x`, o.x);
    const y = finite(`${at}.y`, o.y);
    const vx = finite(`${at}.vx`, o.vx);
    const vy = finite(`${at}.vy`, o.vy);
    if (Math.hypot(vx, vy) > MAX_SPEED) {
      throw new Error(
        `${at} starts at ${Math.hypot(vx, vy).toFixed(2)} m/s, faster than ${MAX_SPEED}`,
      );
    }
    const [x0, y0, x1, y1] = worldBounds(shapeGeometry(o.shape, o.size), x, y, 0);
    if (x0 < -W / 2 - PLACEMENT_TOLERANCE || x1 > W / 2 + PLACEMENT_TOLERANCE) {
      throw new Error(
        `${at} (${o.size} ${o.shape} at x = ${x}) does not fit between the arena walls at ±${W / 2} m`,
      );
    }
    if (y0 < -PLACEMENT_TOLERANCE) {
      throw new Error(
        `${at} (${o.size} ${o.shape} at y = ${y}) is below the ground by ${(-y0).toFixed(4)} m`,
      );
    }
    if (y1 > 100) throw new Error(`${at} starts too high (y = ${y}); at most 100 m`);
  });
  if (!Array.isArray(scene.occluders)) throw new Error("scene.occluders must be an array");
  if (scene.occluders.length > MAX_OCCLUDERS) {
    throw new Error(`scene has ${scene.occluders.length} occluders, at most ${MAX_OCCLUDERS}`);
  }
  scene.occluders.forEach((o, i) => {
    const at = `scene.occluders[${i}]`;
    if (o === null || typeof o !== "object") throw new Error(`${at} is not an object`);
    oneOf(`${at}.kind`, o.kind, OCCLUDER_KINDS);
    oneOf(`${at}.layer`, o.layer, ["front", "back"] as const);
    finite(`${at}.x`, o.x);
    const w = finite(`${at}.width`, o.width);
    const h = finite(`${at}.height`, o.height);
    if (w <= 0 || w > 100) throw new Error(`${at}.width must be > 0 and <= 100 m, got ${w}`);
    if (h <= 0 || h > 100) throw new Error(`${at}.height must be > 0 and <= 100 m, got ${h}`);
  });
}
