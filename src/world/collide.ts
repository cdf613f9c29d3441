/**
 * Contact detection between bodies and the arena (ground at y = 0, side walls at ±halfWidth).
 * Balls are exact discs; boxes and triangles are exact convex polygons (separating axes, with
 * the incident edge clipped to the reference edge for up to two contact points). The ground and
 * walls are half-planes, so nothing can pass through them however far it moves in one step.
 */
import type { Body } from "./body.ts";

/** Contacts closer than this gap (m) are already active, which keeps resting contact steady. */
export const CONTACT_MARGIN = 0.002;

export type Surface = "ground" | "left-wall" | "right-wall" | "object";

export interface Contact {
  a: Body;
  /** The other body, or null for the ground or a wall. */
  b: Body | null;
  surface: Surface;
  /** Which vertex or clip point of the pair this is (0..7), so a contact is recognised next step. */
  feature: number;
  /** Unit normal pointing from a towards b (into the ground or wall for static contacts). */
  nx: number;
  ny: number;
  /** Contact point (m), midway between the two surfaces. */
  px: number;
  py: number;
  /** Signed gap (m): negative when the shapes overlap. */
  sep: number;
  // Solver scratch, filled by the physics step.
  rax: number;
  ray: number;
  rbx: number;
  rby: number;
  massN: number;
  massT: number;
  /** Normal velocity the solver holds the contact to (m/s), and the bounce it adds afterwards. */
  target: number;
  bounce: number;
  lambdaN: number;
  lambdaT: number;
  friction: number;
  restitution: number;
}

function pushContact(
  out: Contact[],
  a: Body,
  b: Body | null,
  surface: Surface,
  nx: number,
  ny: number,
  px: number,
  py: number,
  sep: number,
  feature = 0,
): void {
  out.push({
    a,
    b,
    surface,
    feature,
    nx,
    ny,
    px,
    py,
    sep,
    rax: 0,
    ray: 0,
    rbx: 0,
    rby: 0,
    massN: 0,
    massT: 0,
    target: 0,
    bounce: 0,
    lambdaN: 0,
    lambdaT: 0,
    friction: 0,
    restitution: 0,
  });
}

/** Contacts of one body with the ground and the two side walls. */
export function collideArena(b: Body, halfWidth: number, out: Contact[]): void {
  if (b.isBall) {
    const r = b.geom.radius;
    const g = b.y - r;
    if (g < CONTACT_MARGIN) pushContact(out, b, null, "ground", 0, -1, b.x, g / 2, g);
    const l = b.x - r + halfWidth;
    if (l < CONTACT_MARGIN) pushContact(out, b, null, "left-wall", -1, 0, b.x - r - l / 2, b.y, l);
    const rr = halfWidth - (b.x + r);
    if (rr < CONTACT_MARGIN) {
      pushContact(out, b, null, "right-wall", 1, 0, b.x + r + rr / 2, b.y, rr);
    }
    return;
  }
  const n = b.wx.length;
  for (let i = 0; i < n; i++) {
    const g = b.wy[i];
    if (g < CONTACT_MARGIN) pushContact(out, b, null, "ground", 0, -1, b.wx[i], g / 2, g, i);
  }
  for (let i = 0; i < n; i++) {
    const l = b.wx[i] + halfWidth;
    if (l < CONTACT_MARGIN)
      pushContact(out, b, null, "left-wall", -1, 0, b.wx[i] - l / 2, b.wy[i], l, i);
  }
  for (let i = 0; i < n; i++) {
    const rr = halfWidth - b.wx[i];
    if (rr < CONTACT_MARGIN) {
      pushContact(out, b, null, "right-wall", 1, 0, b.wx[i] + rr / 2, b.wy[i], rr, i);
    }
  }
}

/** Contacts between two bodies, normals pointing from a to b. */
export function collideBodies(a: Body, b: Body, out: Contact[]): void {
  // Cheap rejection on bounding circles first.
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const reach = a.geom.radius + b.geom.radius + CONTACT_MARGIN;
  if (dx * dx + dy * dy > reach * reach) return;
  if (a.isBall && b.isBall) collideBalls(a, b, out);
  else if (a.isBall) collideBallPolygon(a, b, out, true);
  else if (b.isBall) collideBallPolygon(b, a, out, false);
  else collidePolygons(a, b, out);
}

function collideBalls(a: Body, b: Body, out: Contact[]): void {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const d = Math.hypot(dx, dy);
  const sep = d - a.geom.radius - b.geom.radius;
  if (sep >= CONTACT_MARGIN) return;
  // Coincident centres have no preferred direction; push straight up for determinism.
  const nx = d > 1e-12 ? dx / d : 0;
  const ny = d > 1e-12 ? dy / d : 1;
  const k = a.geom.radius + sep / 2;
  pushContact(out, a, b, "object", nx, ny, a.x + nx * k, a.y + ny * k, sep);
}

/**
 * Ball against polygon. The normal is found pointing from the polygon to the ball, then flipped
 * when the ball is body a.
 */
function collideBallPolygon(ball: Body, poly: Body, out: Contact[], ballIsA: boolean): void {
  const r = ball.geom.radius;
  const cx = ball.x;
  const cy = ball.y;
  const n = poly.wx.length;
  let maxS = -Infinity;
  let face = 0;
  for (let i = 0; i < n; i++) {
    const s = poly.enx[i] * (cx - poly.wx[i]) + poly.eny[i] * (cy - poly.wy[i]);
    if (s > r + CONTACT_MARGIN) return;
    if (s > maxS) {
      maxS = s;
      face = i;
    }
  }
  let nx: number;
  let ny: number;
  let sep: number;
  let qx: number;
  let qy: number;
  if (maxS <= 0) {
    // Centre inside the polygon: leave through the nearest face.
    nx = poly.enx[face];
    ny = poly.eny[face];
    sep = maxS - r;
    qx = cx - nx * maxS;
    qy = cy - ny * maxS;
  } else {
    // Centre outside: the nearest point of the outline may be on an edge or at a corner.
    let best = Infinity;
    qx = 0;
    qy = 0;
    for (let i = 0; i < n; i++) {
      const j = i + 1 === n ? 0 : i + 1;
      const ex = poly.wx[j] - poly.wx[i];
      const ey = poly.wy[j] - poly.wy[i];
      let u = ((cx - poly.wx[i]) * ex + (cy - poly.wy[i]) * ey) / (ex * ex + ey * ey);
      u = Math.min(1, Math.max(0, u));
      const px = poly.wx[i] + u * ex;
      const py = poly.wy[i] + u * ey;
      const d2 = (cx - px) * (cx - px) + (cy - py) * (cy - py);
      if (d2 < best) {
        best = d2;
        qx = px;
        qy = py;
      }
    }
    const d = Math.sqrt(best);
    sep = d - r;
    if (sep >= CONTACT_MARGIN) return;
    nx = (cx - qx) / d;
    ny = (cy - qy) / d;
  }
  // Midway between the polygon's surface point q and the ball's surface point.
  const px = (qx + cx - nx * r) / 2;
  const py = (qy + cy - ny * r) / 2;
  if (ballIsA) pushContact(out, ball, poly, "object", -nx, -ny, px, py, sep);
  else pushContact(out, poly, ball, "object", nx, ny, px, py, sep);
}

/** The face of a whose outward normal best separates b from a, and that separation. */
function maxSeparation(a: Body, b: Body): { sep: number; face: number } {
  const na = a.wx.length;
  const nb = b.wx.length;
  let best = -Infinity;
  let face = 0;
  for (let i = 0; i < na; i++) {
    const nx = a.enx[i];
    const ny = a.eny[i];
    let s = Infinity;
    for (let j = 0; j < nb; j++) {
      const d = nx * (b.wx[j] - a.wx[i]) + ny * (b.wy[j] - a.wy[i]);
      if (d < s) s = d;
    }
    if (s > best) {
      best = s;
      face = i;
    }
  }
  return { sep: best, face };
}

function collidePolygons(a: Body, b: Body, out: Contact[]): void {
  const sa = maxSeparation(a, b);
  if (sa.sep >= CONTACT_MARGIN) return;
  const sb = maxSeparation(b, a);
  if (sb.sep >= CONTACT_MARGIN) return;
  // Prefer a's face unless b's is clearly better, so the choice does not flicker between steps.
  const flip = sb.sep > sa.sep + 1e-4;
  const ref = flip ? b : a;
  const inc = flip ? a : b;
  const face = flip ? sb.face : sa.face;
  const nr = ref.wx.length;
  const ni = inc.wx.length;
  const v1x = ref.wx[face];
  const v1y = ref.wy[face];
  const f2 = face + 1 === nr ? 0 : face + 1;
  const v2x = ref.wx[f2];
  const v2y = ref.wy[f2];
  const nx = ref.enx[face];
  const ny = ref.eny[face];
  // Incident edge: the one on the other polygon facing most against the reference normal.
  let inc1 = 0;
  let minDot = Infinity;
  for (let i = 0; i < ni; i++) {
    const d = inc.enx[i] * nx + inc.eny[i] * ny;
    if (d < minDot) {
      minDot = d;
      inc1 = i;
    }
  }
  const inc2 = inc1 + 1 === ni ? 0 : inc1 + 1;
  let p1x = inc.wx[inc1];
  let p1y = inc.wy[inc1];
  let p2x = inc.wx[inc2];
  let p2y = inc.wy[inc2];
  // Clip the incident edge to the slab between the reference edge's two end planes.
  const tx = v2x - v1x;
  const ty = v2y - v1y;
  const lo = tx * v1x + ty * v1y;
  const hi = tx * v2x + ty * v2y;
  for (let side = 0; side < 2; side++) {
    // Keep points with sign * (t·p) >= sign * bound.
    const sign = side === 0 ? 1 : -1;
    const bound = side === 0 ? lo : hi;
    const d1 = sign * (tx * p1x + ty * p1y - bound);
    const d2 = sign * (tx * p2x + ty * p2y - bound);
    if (d1 < 0 && d2 < 0) return;
    if (d1 < 0 || d2 < 0) {
      const u = d1 / (d1 - d2);
      const ix = p1x + u * (p2x - p1x);
      const iy = p1y + u * (p2y - p1y);
      if (d1 < 0) {
        p1x = ix;
        p1y = iy;
      } else {
        p2x = ix;
        p2y = iy;
      }
    }
  }
  const sgn = flip ? -1 : 1;
  for (let k = 0; k < 2; k++) {
    const px = k === 0 ? p1x : p2x;
    const py = k === 0 ? p1y : p2y;
    const sep = nx * (px - v1x) + ny * (py - v1y);
    if (sep < CONTACT_MARGIN) {
      pushContact(
        out,
        a,
        b,
        "object",
        sgn * nx,
        sgn * ny,
        px - (nx * sep) / 2,
        py - (ny * sep) / 2,
        sep,
        (flip ? 2 : 0) + k,
      );
    }
  }
}
