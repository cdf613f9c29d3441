/**
 * Shape of a segmented blob by template fitting: the blob's per-pixel coverage is compared with
 * the anti-aliased coverage a ball, a box or a triangle of the same area and centroid would give
 * (boxes and triangles at every angle, since they rotate as they tumble). Fitting the rendered
 * coverage, rather than measuring outlines, stays reliable down to objects a few pixels across,
 * where outline measures are swamped by pixelisation.
 */
import type { ShapeKind } from "../scene.ts";

/** Coverage of the pixels around a blob: cover[j * w + i] is pixel (x0 + i, y0 + j). */
export interface CoveragePatch {
  x0: number;
  y0: number;
  w: number;
  h: number;
  cover: Float32Array;
}

export interface ShapeFit {
  shape: ShapeKind;
  /** How much better the best template fits than the runner-up, in [0, 1]. */
  margin: number;
  /** Sum of squared coverage errors of the best fit of each shape, over the blob's area. */
  errors: Record<ShapeKind, number>;
}

const BOX_ANGLES = 12;
const TRIANGLE_ANGLES = 12;
/**
 * Templates for a clip whose colour a codec smeared (smear.ts): edges softened over these widths
 * (px) of coverage ramp, and areas these shares of the measured one (the codec's faint halo adds
 * to it). A rendered clip's edges ramp over one pixel and its area is exact.
 */
const SMEARED_EDGE_WIDTHS = [1, 1.6, 2.2];
const SMEARED_AREA_SCALES = [0.8, 0.9, 1];

/**
 * Fits the three shapes to a blob of this area (px²) and centroid (px). `chromaSmear` (0 to 1,
 * default 0) says how much a codec smeared the clip: from 1/2 on, softened templates compete.
 */
export function fitShape(
  patch: CoveragePatch,
  cx: number,
  cy: number,
  area: number,
  chromaSmear = 0,
): ShapeFit {
  if (!(area > 0)) throw new Error(`fitShape: area must be > 0, got ${area}`);
  if (!(chromaSmear >= 0 && chromaSmear <= 1)) {
    throw new Error(`fitShape: chromaSmear must be in [0, 1], got ${chromaSmear}`);
  }
  if (patch.cover.length !== patch.w * patch.h) {
    throw new Error(`fitShape: patch has ${patch.cover.length} values for ${patch.w}×${patch.h}`);
  }
  let ball = Number.POSITIVE_INFINITY;
  let box = Number.POSITIVE_INFINITY;
  let triangle = Number.POSITIVE_INFINITY;
  const smeared = chromaSmear >= 0.5;
  const widths = smeared ? SMEARED_EDGE_WIDTHS : [1];
  const scales = smeared ? SMEARED_AREA_SCALES : [1];
  for (const w of widths) {
    for (const scale of scales) {
      const r = Math.sqrt((scale * area) / Math.PI);
      const side = Math.sqrt(scale * area);
      const triSide = Math.sqrt((4 * scale * area) / Math.sqrt(3));
      ball = Math.min(
        ball,
        mismatch(patch, (x, y) => discCoverage(x - cx, y - cy, r, w)),
      );
      for (let k = 0; k < BOX_ANGLES; k++) {
        const poly = regularPolygon(
          4,
          side / Math.SQRT2,
          (k / BOX_ANGLES) * (Math.PI / 2) + Math.PI / 4,
          w,
        );
        box = Math.min(
          box,
          mismatch(patch, (x, y) => polygonCoverage(poly, x - cx, y - cy)),
        );
      }
      for (let k = 0; k < TRIANGLE_ANGLES; k++) {
        const poly = regularPolygon(
          3,
          triSide / Math.sqrt(3),
          (k / TRIANGLE_ANGLES) * ((2 * Math.PI) / 3),
          w,
        );
        triangle = Math.min(
          triangle,
          mismatch(patch, (x, y) => polygonCoverage(poly, x - cx, y - cy)),
        );
      }
    }
  }
  const errors: Record<ShapeKind, number> = {
    ball: ball / area,
    box: box / area,
    triangle: triangle / area,
  };
  const ranked = (Object.keys(errors) as ShapeKind[]).sort((a, b) => errors[a] - errors[b]);
  const best = errors[ranked[0]];
  const second = errors[ranked[1]];
  return { shape: ranked[0], margin: second > 0 ? (second - best) / second : 0, errors };
}

/** Sum over the patch of (observed − template)² coverage. */
function mismatch(patch: CoveragePatch, template: (x: number, y: number) => number): number {
  let e = 0;
  for (let j = 0; j < patch.h; j++) {
    const py = patch.y0 + j + 0.5;
    for (let i = 0; i < patch.w; i++) {
      const d = patch.cover[j * patch.w + i] - template(patch.x0 + i + 0.5, py);
      e += d * d;
    }
  }
  return e;
}

/** Coverage of a pixel centred at offset (dx, dy) from a disc's centre: a ramp w pixels wide. */
function discCoverage(dx: number, dy: number, r: number, w: number): number {
  const v = (r - Math.hypot(dx, dy)) / w + 0.5;
  return v <= 0 ? 0 : Math.min(v, 1);
}

interface Polygon {
  nx: number[];
  ny: number[];
  c: number[];
  band: number[];
}

/**
 * A regular n-gon around the origin with circumradius R, first vertex at angle a0, its edges
 * ramping over w pixels.
 */
function regularPolygon(n: number, R: number, a0: number, w: number): Polygon {
  const vx: number[] = [];
  const vy: number[] = [];
  for (let k = 0; k < n; k++) {
    const a = a0 + (k * 2 * Math.PI) / n;
    vx.push(R * Math.cos(a));
    vy.push(R * Math.sin(a));
  }
  const p: Polygon = { nx: [], ny: [], c: [], band: [] };
  for (let k = 0; k < n; k++) {
    const j = (k + 1) % n;
    const ex = vx[j] - vx[k];
    const ey = vy[j] - vy[k];
    const len = Math.hypot(ex, ey);
    // Counter-clockwise vertices: the outward normal is the edge turned clockwise.
    const nx = ey / len;
    const ny = -ex / len;
    p.nx.push(nx);
    p.ny.push(ny);
    p.c.push(nx * vx[k] + ny * vy[k]);
    p.band.push(w * (Math.abs(nx) + Math.abs(ny)));
  }
  return p;
}

/** Coverage of the pixel centred at (x, y): the product of a ramp across each edge. */
function polygonCoverage(p: Polygon, x: number, y: number): number {
  let a = 1;
  for (let k = 0; k < p.c.length; k++) {
    const d = (p.nx[k] * x + p.ny[k] * y - p.c[k]) / p.band[k];
    if (d >= 0.5) return 0;
    if (d > -0.5) a *= 0.5 - d;
  }
  return a;
}
