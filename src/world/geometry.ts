/**
 * The shape of each object kind in world units (metres, y up), shared by the physics, the
 * renderer and the scene validator so that all three agree on what an object occupies.
 * Balls are discs; boxes are squares; triangles are equilateral, their centre being the centroid.
 */
import { type ShapeKind, SIZES, type SizeName } from "./scene.ts";

export interface ShapeGeometry {
  shape: ShapeKind;
  /** Ball radius, or the polygon's circumradius (centroid to a vertex). */
  radius: number;
  /** Polygon vertices around the centroid at angle 0, counter-clockwise; empty for a ball. */
  localX: Float64Array;
  localY: Float64Array;
  /** Area (m²), per metre of depth: mass is area × density. */
  area: number;
  /** Moment of inertia about the centroid divided by mass (m²). */
  inertiaPerMass: number;
  /** Distance from the centroid to the nearest edge (the inradius; the radius for a ball). */
  inradius: number;
}

const SQRT3 = Math.sqrt(3);

export function shapeGeometry(shape: ShapeKind, size: SizeName): ShapeGeometry {
  const s = SIZES[size];
  if (s === undefined) throw new Error(`shapeGeometry: unknown size "${size}"`);
  if (shape === "ball") {
    const r = s / 2;
    return {
      shape,
      radius: r,
      localX: new Float64Array(0),
      localY: new Float64Array(0),
      area: Math.PI * r * r,
      inertiaPerMass: (r * r) / 2,
      inradius: r,
    };
  }
  if (shape === "box") {
    const h = s / 2;
    return {
      shape,
      radius: h * Math.SQRT2,
      localX: Float64Array.of(-h, h, h, -h),
      localY: Float64Array.of(-h, -h, h, h),
      area: s * s,
      inertiaPerMass: (s * s) / 6,
      inradius: h,
    };
  }
  if (shape === "triangle") {
    // Apex up at angle 0, flat base down: it can rest on its base.
    const inr = s / (2 * SQRT3);
    const circ = s / SQRT3;
    return {
      shape,
      radius: circ,
      localX: Float64Array.of(-s / 2, s / 2, 0),
      localY: Float64Array.of(-inr, -inr, circ),
      area: (SQRT3 / 4) * s * s,
      inertiaPerMass: (s * s) / 12,
      inradius: inr,
    };
  }
  throw new Error(`shapeGeometry: unknown shape "${shape}"`);
}

/** World-space bounds [minX, minY, maxX, maxY] of a shape placed at (x, y) turned by angle (rad). */
export function worldBounds(
  g: ShapeGeometry,
  x: number,
  y: number,
  angle: number,
): [number, number, number, number] {
  if (g.shape === "ball") return [x - g.radius, y - g.radius, x + g.radius, y + g.radius];
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < g.localX.length; i++) {
    const wx = x + c * g.localX[i] - s * g.localY[i];
    const wy = y + s * g.localX[i] + c * g.localY[i];
    if (wx < x0) x0 = wx;
    if (wx > x1) x1 = wx;
    if (wy < y0) y0 = wy;
    if (wy > y1) y1 = wy;
  }
  return [x0, y0, x1, y1];
}
