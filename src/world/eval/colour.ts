/**
 * Colour arithmetic the evaluator's segmentation is built on: distances in sRGB, the palette of
 * object colours with their stripes, and how much of a pixel an object of a known colour covers
 * when the renderer blended it (anti-aliasing) over a known, possibly shadowed, background.
 */
import { stripeColor } from "../render.ts";
import { COLOR_NAMES, OBJECT_COLORS } from "../scene.ts";

export type Rgb = readonly [number, number, number];

/** The object palette as an indexable list, in COLOR_NAMES order. */
export const PALETTE: readonly Rgb[] = COLOR_NAMES.map((n) => OBJECT_COLORS[n]);

/** The stripe each ball of a palette colour carries (a darker or lighter shade of it). */
export const STRIPES: readonly Rgb[] = PALETTE.map((c) => stripeColor(c));

export function dist2(r: number, g: number, b: number, c: Rgb): number {
  const dr = r - c[0];
  const dg = g - c[1];
  const db = b - c[2];
  return dr * dr + dg * dg + db * db;
}

/**
 * Fraction of a pixel covered by colour `c` when it was blended over background `bg`:
 * the projection of (p - bg) on (c - bg), clamped to [0, 1]. Returns 0 when c and bg are too
 * close for the blend to be measured.
 */
export function coverage(r: number, g: number, b: number, c: Rgb, bg: Rgb): number {
  const ur = c[0] - bg[0];
  const ug = c[1] - bg[1];
  const ub = c[2] - bg[2];
  const uu = ur * ur + ug * ug + ub * ub;
  if (uu < 400) return 0;
  const a = ((r - bg[0]) * ur + (g - bg[1]) * ug + (b - bg[2]) * ub) / uu;
  return a < 0 ? 0 : Math.min(a, 1);
}

export interface BlendFit {
  /** Coverage of the pixel by the object colour. */
  a: number;
  /** Squared distance (sRGB) between the pixel and the fitted blend. */
  res2: number;
}

/**
 * Best explanation of pixel p as object colour c over background bg: either a plain blend
 * p = a·c + (1 − a)·bg, or a blend over a shadowed background p = a·c + β·bg with the shadow
 * darkening bg to no less than `darkest` of itself (an object's rim over its own shadow).
 */
export function blendFit(
  r: number,
  g: number,
  b: number,
  c: Rgb,
  bg: Rgb,
  darkest: number,
): BlendFit {
  const a = coverage(r, g, b, c, bg);
  const plain = dist2(r, g, b, [
    bg[0] + a * (c[0] - bg[0]),
    bg[1] + a * (c[1] - bg[1]),
    bg[2] + a * (c[2] - bg[2]),
  ]);
  if (darkest >= 1) return { a, res2: plain };
  const cc = c[0] * c[0] + c[1] * c[1] + c[2] * c[2];
  const cb = c[0] * bg[0] + c[1] * bg[1] + c[2] * bg[2];
  const bb = bg[0] * bg[0] + bg[1] * bg[1] + bg[2] * bg[2];
  const det = cc * bb - cb * cb;
  if (det < 1e-6 * cc * bb) return { a, res2: plain };
  const pc = r * c[0] + g * c[1] + b * c[2];
  const pb = r * bg[0] + g * bg[1] + b * bg[2];
  const a2 = (pc * bb - pb * cb) / det;
  const beta = (cc * pb - cb * pc) / det;
  if (!(a2 > 0 && a2 < 1 && beta >= darkest * (1 - a2) && beta <= 1 - a2))
    return { a, res2: plain };
  const shadowed = dist2(r, g, b, [
    a2 * c[0] + beta * bg[0],
    a2 * c[1] + beta * bg[1],
    a2 * c[2] + beta * bg[2],
  ]);
  return shadowed < plain ? { a: a2, res2: shadowed } : { a, res2: plain };
}

/**
 * Blends of a fixed list of colours over one background at a time, with everything that depends
 * only on the colours and the background worked out once per background: the per-pixel fit is
 * then a handful of multiplications and allocates nothing. After fit(), `a` and `res2` hold the
 * result (as blendFit would return it).
 */
export class BlendModel {
  a = 0;
  res2 = 0;
  private readonly n: number;
  private readonly c: Float64Array;
  /** Per colour: u = c − bg, |u|², c·c, c·bg, det of the 2×2 shadow fit, and usability. */
  private readonly u: Float64Array;
  private readonly uu: Float64Array;
  private readonly cc: Float64Array;
  private readonly cb: Float64Array;
  private readonly det: Float64Array;
  private readonly usable: Uint8Array;
  private bg0 = 0;
  private bg1 = 0;
  private bg2 = 0;
  private bb = 0;
  private darkest = 1;

  constructor(colors: readonly Rgb[]) {
    this.n = colors.length;
    this.c = new Float64Array(this.n * 3);
    colors.forEach((c, i) => {
      this.c.set(c, i * 3);
    });
    this.u = new Float64Array(this.n * 3);
    this.uu = new Float64Array(this.n);
    this.cc = new Float64Array(this.n);
    this.cb = new Float64Array(this.n);
    this.det = new Float64Array(this.n);
    this.usable = new Uint8Array(this.n);
  }

  /**
   * Sets the background; `minSeparation2` is the least squared distance between a colour and
   * the background for a blend to be measurable, `darkest` as in blendFit.
   */
  setBackground(bg: Rgb, darkest: number, minSeparation2: number): void {
    this.bg0 = bg[0];
    this.bg1 = bg[1];
    this.bg2 = bg[2];
    this.bb = bg[0] * bg[0] + bg[1] * bg[1] + bg[2] * bg[2];
    this.darkest = darkest;
    for (let j = 0; j < this.n; j++) {
      const c0 = this.c[j * 3];
      const c1 = this.c[j * 3 + 1];
      const c2 = this.c[j * 3 + 2];
      const u0 = c0 - bg[0];
      const u1 = c1 - bg[1];
      const u2 = c2 - bg[2];
      this.u[j * 3] = u0;
      this.u[j * 3 + 1] = u1;
      this.u[j * 3 + 2] = u2;
      this.uu[j] = u0 * u0 + u1 * u1 + u2 * u2;
      this.usable[j] = this.uu[j] >= minSeparation2 ? 1 : 0;
      this.cc[j] = c0 * c0 + c1 * c1 + c2 * c2;
      this.cb[j] = c0 * bg[0] + c1 * bg[1] + c2 * bg[2];
      this.det[j] = this.cc[j] * this.bb - this.cb[j] * this.cb[j];
    }
  }

  /** Fits colour j to pixel (r, g, b); false when the colour is too close to the background. */
  fit(j: number, r: number, g: number, b: number): boolean {
    if (!this.usable[j]) return false;
    const u0 = this.u[j * 3];
    const u1 = this.u[j * 3 + 1];
    const u2 = this.u[j * 3 + 2];
    const d0 = r - this.bg0;
    const d1 = g - this.bg1;
    const d2 = b - this.bg2;
    let a = (d0 * u0 + d1 * u1 + d2 * u2) / this.uu[j];
    a = Math.min(1, Math.max(0, a));
    const e0 = d0 - a * u0;
    const e1 = d1 - a * u1;
    const e2 = d2 - a * u2;
    this.a = a;
    this.res2 = e0 * e0 + e1 * e1 + e2 * e2;
    if (this.darkest >= 1 || this.det[j] < 1e-6 * this.cc[j] * this.bb) return true;
    const c0 = this.c[j * 3];
    const c1 = this.c[j * 3 + 1];
    const c2 = this.c[j * 3 + 2];
    const pc = r * c0 + g * c1 + b * c2;
    const pb = r * this.bg0 + g * this.bg1 + b * this.bg2;
    const a2 = (pc * this.bb - pb * this.cb[j]) / this.det[j];
    const beta = (this.cc[j] * pb - this.cb[j] * pc) / this.det[j];
    if (!(a2 > 0 && a2 < 1 && beta >= this.darkest * (1 - a2) && beta <= 1 - a2)) return true;
    const f0 = r - a2 * c0 - beta * this.bg0;
    const f1 = g - a2 * c1 - beta * this.bg1;
    const f2 = b - a2 * c2 - beta * this.bg2;
    const shadowed = f0 * f0 + f1 * f1 + f2 * f2;
    if (shadowed < this.res2) {
      this.a = a2;
      this.res2 = shadowed;
    }
    return true;
  }
}
