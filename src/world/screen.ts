/**
 * Objects and occluders as shapes in pixel space for one frame, and the anti-aliasing coverage
 * both the renderer and the visibility measure use, so that what is drawn and what the ground
 * truth calls visible agree. Coverage of a pixel by an edge is a linear ramp across the band in
 * which the pixel square straddles the edge (|nx| + |ny| pixels wide): exact for axis-aligned
 * edges and within a few percent otherwise. A polygon's coverage is the product of its edges'.
 */
import { type CameraView, worldToPixel } from "./camera.ts";
import type { ShapeGeometry } from "./geometry.ts";
import type { OccluderSpec } from "./scene.ts";

export interface Pose {
  x: number;
  y: number;
  angle: number;
}

export interface ScreenCircle {
  kind: "circle";
  cx: number;
  cy: number;
  r: number;
  /** Unit direction of the ball's stripe in pixel space (shows its rotation). */
  ux: number;
  uy: number;
}

export interface ScreenPolygon {
  kind: "polygon";
  n: number;
  xs: Float64Array;
  ys: Float64Array;
  /** Edge i: outward unit normal (nx, ny), offset c = n·v_i, and band width |nx| + |ny|. */
  nx: Float64Array;
  ny: Float64Array;
  c: Float64Array;
  band: Float64Array;
}

export type ScreenShape = ScreenCircle | ScreenPolygon;

/** Where an object appears in the frame. */
export function screenShape(geom: ShapeGeometry, pose: Pose, cam: CameraView): ScreenShape {
  const [cx, cy] = worldToPixel(cam, pose.x, pose.y);
  const ppm = cam.pixelsPerMetre;
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  if (geom.shape === "ball") {
    // World y is up and pixel y is down, so the direction's y flips.
    return { kind: "circle", cx, cy, r: geom.radius * ppm, ux: cos, uy: -sin };
  }
  const n = geom.localX.length;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lx = geom.localX[i];
    const ly = geom.localY[i];
    xs[i] = cx + (cos * lx - sin * ly) * ppm;
    ys[i] = cy - (sin * lx + cos * ly) * ppm;
  }
  return polygonFromPoints(xs, ys, cx, cy);
}

/** A convex polygon from its vertices (either winding) and any interior point. */
export function polygonFromPoints(
  xs: Float64Array,
  ys: Float64Array,
  insideX: number,
  insideY: number,
): ScreenPolygon {
  const n = xs.length;
  const nx = new Float64Array(n);
  const ny = new Float64Array(n);
  const c = new Float64Array(n);
  const band = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = i + 1 === n ? 0 : i + 1;
    const ex = xs[j] - xs[i];
    const ey = ys[j] - ys[i];
    const len = Math.hypot(ex, ey);
    let ax = ey / len;
    let ay = -ex / len;
    // Point the normal away from the interior, whatever the winding.
    if (ax * (insideX - xs[i]) + ay * (insideY - ys[i]) > 0) {
      ax = -ax;
      ay = -ay;
    }
    nx[i] = ax;
    ny[i] = ay;
    c[i] = ax * xs[i] + ay * ys[i];
    band[i] = Math.abs(ax) + Math.abs(ay);
  }
  return { kind: "polygon", n, xs, ys, nx, ny, c, band };
}

/** Pixel-space bounds [x0, y0, x1, y1] of a shape. */
export function shapeBounds(s: ScreenShape): [number, number, number, number] {
  if (s.kind === "circle") return [s.cx - s.r, s.cy - s.r, s.cx + s.r, s.cy + s.r];
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < s.n; i++) {
    x0 = Math.min(x0, s.xs[i]);
    x1 = Math.max(x1, s.xs[i]);
    y0 = Math.min(y0, s.ys[i]);
    y1 = Math.max(y1, s.ys[i]);
  }
  return [x0, y0, x1, y1];
}

/** Anti-aliased coverage (0..1) of the pixel whose centre is (px, py). */
export function shapeCoverage(s: ScreenShape, px: number, py: number): number {
  if (s.kind === "circle") {
    const dx = px - s.cx;
    const dy = py - s.cy;
    const d = Math.sqrt(dx * dx + dy * dy);
    if (d < 1e-9) return s.r > 0.5 ? 1 : s.r * 2;
    const band = (Math.abs(dx) + Math.abs(dy)) / d;
    return ramp(0.5 - (d - s.r) / band);
  }
  let cov = 1;
  for (let i = 0; i < s.n; i++) {
    const d = s.nx[i] * px + s.ny[i] * py - s.c[i];
    cov *= ramp(0.5 - d / s.band[i]);
    if (cov === 0) return 0;
  }
  return cov;
}

/** Whether the point (x, y) lies inside the shape (for point sampling). */
export function shapeContains(s: ScreenShape, x: number, y: number): boolean {
  if (s.kind === "circle") {
    const dx = x - s.cx;
    const dy = y - s.cy;
    return dx * dx + dy * dy <= s.r * s.r;
  }
  for (let i = 0; i < s.n; i++) if (s.nx[i] * x + s.ny[i] * y > s.c[i]) return false;
  return true;
}

export function ramp(v: number): number {
  return Math.min(1, Math.max(0, v));
}

/**
 * How far (m) below the ground line a front occluder's base is drawn: it stands on the floor
 * nearer the viewer, so its foot is lower in the picture and covers the feet of what is behind.
 */
export const FRONT_OCCLUDER_DROP = 0.12;
/** ...and at least this many pixels, so the anti-aliased rim of a hidden object is covered too. */
const FRONT_OCCLUDER_DROP_PX = 1.5;

/** An occluder's rectangle in pixels [x0, y0, x1, y1]; it stands on the ground (y = 0). */
export function occluderRect(o: OccluderSpec, cam: CameraView): [number, number, number, number] {
  const [x0, ground] = worldToPixel(cam, o.x - o.width / 2, 0);
  const [x1, y0] = worldToPixel(cam, o.x + o.width / 2, o.height);
  const drop =
    o.layer === "front"
      ? Math.max(FRONT_OCCLUDER_DROP * cam.pixelsPerMetre, FRONT_OCCLUDER_DROP_PX)
      : 0;
  return [x0, y0, x1, ground + drop];
}

/** Exact area of the pixel (i, j) covered by an axis-aligned rectangle. */
export function rectCoverage(
  r: readonly [number, number, number, number],
  i: number,
  j: number,
): number {
  const cx = Math.min(i + 1, r[2]) - Math.max(i, r[0]);
  if (cx <= 0) return 0;
  const cy = Math.min(j + 1, r[3]) - Math.max(j, r[1]);
  if (cy <= 0) return 0;
  return cx * cy;
}
