/**
 * Blend fits that allow for the colour smear of a video codec. In yuv420p a pixel's brightness
 * survives encoding but its colour is averaged with its neighbours': a small red ball keeps the
 * brightness of red at its centre while its colour is half red, half sky. So in a fit of
 * "colour c blended over base q at coverage a", brightness fixes a, and the pixel's colour may
 * lie anywhere between q's and c's (its own neighbourhood's coverage b) at a reduced price for
 * each unit b strays from a. Colour off that line costs in full: smear mixes the colours around
 * a pixel, it never makes a new one.
 *
 * How much smear to allow is a property of the clip (smear.ts measures it): 0 gives the plain
 * blend fit of a clip whose colours are exact, 1 the full allowance for 4:2:0 chroma.
 *
 * Works in the metric space (metric.ts): component 0 is luma, 1 and 2 are chroma.
 */
import type { Rgb } from "./colour.ts";

/**
 * Price (relative to a full colour mismatch) of colour smeared along the blend, at full smear:
 * low enough that a small object whose colour lost half its saturation still fits its colour,
 * high enough that a grey of the same brightness does not.
 */
const SMEARED_SLACK = 0.3;
/**
 * Coverage comes from luma and chroma weighted by how far each can be trusted. At full smear
 * luma is good to within LUMA_NOISE (metric units) and the chroma's coverage only to within
 * SMEARED_COVER_NOISE, so luma decides except where the colour is about as bright as what lies
 * behind it; with exact colours every channel counts alike.
 */
const LUMA_NOISE = 5;
const SMEARED_COVER_NOISE = 0.4;

export class SmearModel {
  /** Coverage of the last fit, in [0, 1]. */
  a = 0;
  /** Squared distance (metric units) of the last fit, smear along the blend discounted. */
  res2 = 0;
  private readonly slack2: number;
  private readonly smear: number;

  /** `smear` in [0, 1]: how much of a codec's colour smear to allow for. */
  constructor(smear: number) {
    if (!(smear >= 0 && smear <= 1)) {
      throw new Error(`SmearModel: smear must be a number in [0, 1], got ${smear}`);
    }
    this.smear = smear;
    const slack = 1 - (1 - SMEARED_SLACK) * smear;
    this.slack2 = slack * slack;
  }

  /** Fits p ≈ q + a·(c − q) (luma) and q + b·(c − q) (chroma); sets a and res2. */
  fit(p0: number, p1: number, p2: number, q: Rgb, c: Rgb): this {
    return this.fitSteps(p0 - q[0], p1 - q[1], p2 - q[2], c[0] - q[0], c[1] - q[1], c[2] - q[2]);
  }

  /** fit() given d = p − q and u = c − q. */
  fitSteps(d0: number, d1: number, d2: number, u0: number, u1: number, u2: number): this {
    const cc = u1 * u1 + u2 * u2;
    let t = 0;
    let perp2: number;
    if (cc > 1e-9) {
      t = (d1 * u1 + d2 * u2) / cc;
      const e1 = d1 - t * u1;
      const e2 = d2 - t * u2;
      perp2 = e1 * e1 + e2 * e2;
    } else {
      perp2 = d1 * d1 + d2 * d2;
    }
    // Chroma beyond either end of the line is not smear: it costs in full.
    const b = unit(t);
    const over2 = (t - b) * (t - b) * cc;
    // Coverage: luma and the chroma's coverage b, each weighted by its precision. Exact colours
    // give b the weight of the chroma step itself (the plain projection on c − q).
    const s = this.smear;
    const lumaNoise2 = (1 + (LUMA_NOISE - 1) * s) ** 2;
    const coverNoise2 =
      (1 - s) * (cc > 1e-9 ? lumaNoise2 / cc : 1e9) + s * SMEARED_COVER_NOISE * SMEARED_COVER_NOISE;
    const wl = 1 / lumaNoise2;
    const wc = cc > 1e-9 ? 1 / coverNoise2 : 0;
    let a = (wl * d0 * u0 + wc * b) / (wl * u0 * u0 + wc + 1e-12);
    a = unit(a);
    const eY = d0 - a * u0;
    this.a = a;
    this.res2 = eY * eY + perp2 + over2 + this.slack2 * cc * (b - a) * (b - a);
    return this;
  }

  /**
   * Squared distance from p to colour c whose chroma may have been smeared toward `toward` (the
   * background around it): what an object's interior looks like after encoding. Sets a = 1.
   */
  distance2(p0: number, p1: number, p2: number, c: Rgb, toward: Rgb): number {
    const d0 = p0 - c[0];
    const d1 = p1 - c[1];
    const d2 = p2 - c[2];
    const u1 = toward[1] - c[1];
    const u2 = toward[2] - c[2];
    const cc = u1 * u1 + u2 * u2;
    let perp2: number;
    let t = 0;
    if (cc > 1e-9) {
      t = (d1 * u1 + d2 * u2) / cc;
      const e1 = d1 - t * u1;
      const e2 = d2 - t * u2;
      perp2 = e1 * e1 + e2 * e2;
    } else {
      perp2 = d1 * d1 + d2 * d2;
    }
    const b = unit(t);
    this.a = 1;
    this.res2 = d0 * d0 + perp2 + (t - b) * (t - b) * cc + this.slack2 * cc * b * b;
    return this.res2;
  }
}

/** v clamped to [0, 1]. */
function unit(v: number): number {
  return Math.min(1, Math.max(0, v));
}
