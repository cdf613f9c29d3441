/**
 * A rigid body of the simulated world: one scene object with its mass properties, state and the
 * world-space outline the collision tests read.
 */
import type { ShapeGeometry } from "./geometry.ts";

export interface Body {
  /** The scene object's id. */
  id: number;
  geom: ShapeGeometry;
  isBall: boolean;
  mass: number;
  invMass: number;
  inertia: number;
  invInertia: number;
  restitution: number;
  friction: number;
  /** Centroid position (m), angle (rad, counter-clockwise), velocity (m/s) and spin (rad/s). */
  x: number;
  y: number;
  angle: number;
  vx: number;
  vy: number;
  w: number;
  /** A sleeping body is exactly still until something awake touches it. */
  asleep: boolean;
  /** How long (s) the body has been slow and supported; it may sleep once this passes a limit. */
  stillTime: number;
  /** Polygon vertices and outward edge normals in world space (edge i runs from vertex i to i+1). */
  wx: Float64Array;
  wy: Float64Array;
  enx: Float64Array;
  eny: Float64Array;
}

/** Recomputes a polygon body's world-space vertices and edge normals from its pose. */
export function updateBodyVertices(b: Body): void {
  const n = b.geom.localX.length;
  if (n === 0) return;
  const c = Math.cos(b.angle);
  const s = Math.sin(b.angle);
  const lx = b.geom.localX;
  const ly = b.geom.localY;
  for (let i = 0; i < n; i++) {
    b.wx[i] = b.x + c * lx[i] - s * ly[i];
    b.wy[i] = b.y + s * lx[i] + c * ly[i];
  }
  for (let i = 0; i < n; i++) {
    const j = i + 1 === n ? 0 : i + 1;
    const ex = b.wx[j] - b.wx[i];
    const ey = b.wy[j] - b.wy[i];
    const len = Math.hypot(ex, ey);
    // Counter-clockwise winding: the outward normal is the edge turned clockwise.
    b.enx[i] = ey / len;
    b.eny[i] = -ex / len;
  }
}
