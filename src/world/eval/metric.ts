/**
 * The colour space segmentation measures distances in. A clip that went through a video codec
 * (H.264 in yuv420p) keeps its brightness (luma) nearly exact at every pixel but stores colour
 * (chroma) at half resolution, so near every edge the colour of a pixel is smeared with its
 * neighbours' by tens of sRGB levels while its brightness is off by two or three. Distances
 * that weigh a chroma difference as much as a luma difference would read that smear as a
 * different colour; in this space chroma counts for CHROMA_WEIGHT of what it does in sRGB.
 *
 * The map is linear (BT.601 luma and colour differences, without offsets), so blends stay
 * straight lines and a shadow (the background times k) stays the background times k: every
 * blend and shadow fit of the segmentation works here unchanged. It is scaled so that a
 * difference in grey has the length it has in sRGB, and with CHROMA_WEIGHT 1 distances are
 * within a fifth of sRGB ones, so thresholds in sRGB levels keep their meaning.
 */
import type { Rgb } from "./colour.ts";

/** How much a difference in chroma counts relative to one in luma. */
export const CHROMA_WEIGHT = 1;

const K = Math.sqrt(3);
const KC = K * CHROMA_WEIGHT;

/** One sRGB colour in the metric space. */
export function toMetric(c: Rgb): Rgb {
  const y = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  return [K * y, KC * 0.564 * (c[2] - y), KC * 0.713 * (c[0] - y)];
}

/** A packed RGB frame in the metric space, three floats a pixel. */
export function metricFrame(frame: Uint8Array): Float32Array {
  const out = new Float32Array(frame.length);
  for (let o = 0; o < frame.length; o += 3) {
    const r = frame[o];
    const g = frame[o + 1];
    const b = frame[o + 2];
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    out[o] = K * y;
    out[o + 1] = KC * 0.564 * (b - y);
    out[o + 2] = KC * 0.713 * (r - y);
  }
  return out;
}
