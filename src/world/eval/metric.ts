/**
 * The colour space segmentation works in: brightness (luma) apart from colour (chroma). A clip
 * that went through a video codec (H.264 in yuv420p) keeps each pixel's luma nearly exact but
 * stores chroma at half resolution, so near every edge a pixel's colour is smeared with its
 * neighbours' by tens of sRGB levels while its brightness is off by a few; the fits in
 * smear-fit.ts treat the two accordingly.
 *
 * Component 0 is luma, 1 and 2 are the blue and red colour differences (BT.601, without offsets).
 * The map is linear, so blends stay straight lines and a shadow (the background times k) stays
 * the background times k: every blend and shadow fit works here as in sRGB. It is scaled so that
 * a difference in grey has the length it has in sRGB, and other distances are within a fifth of
 * their sRGB length, so thresholds in sRGB levels keep their meaning.
 */
import type { Rgb } from "./colour.ts";

const K = Math.sqrt(3);

/** One sRGB colour in the metric space. */
export function toMetric(c: Rgb): Rgb {
  const y = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  return [K * y, K * 0.564 * (c[2] - y), K * 0.713 * (c[0] - y)];
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
    out[o + 1] = K * 0.564 * (b - y);
    out[o + 2] = K * 0.713 * (r - y);
  }
  return out;
}
