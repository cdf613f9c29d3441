/**
 * How much a clip's colour is smeared relative to its brightness: 0 for frames straight from a
 * renderer (colour changes exactly where brightness does), 1 for a clip that went through a
 * codec storing colour at half resolution (H.264 yuv420p spreads each colour edge over two or
 * three pixels while the brightness edge stays sharp).
 *
 * Measured at edges: across a pair of neighbouring pixels where brightness changes by most of
 * what it changes over the four pixels around them, the share of the colour change that happens
 * across the same pair, relative to brightness's share. The median ratio is about 1 for exact
 * frames and about 0.4–0.7 after yuv420p encoding.
 */

/** Ratio at and above which colour is as sharp as brightness (no smear). */
const SHARP = 0.95;
/** How far below SHARP the ratio must fall for full smear. */
const SPAN = 0.2;
/** Smallest brightness step (levels over four pixels) that counts as an edge. */
const MIN_LUMA_STEP = 20;
/** Smallest colour step (chroma levels over four pixels) that counts as a colour edge. */
const MIN_CHROMA_STEP = 15;
/** Frames sampled, evenly spread over the clip. */
const SAMPLE_FRAMES = 8;
/** Fewer edges than this say nothing; the clip is then taken as smeared (the common case). */
const MIN_EDGES = 20;

export interface SmearEstimate {
  /** In [0, 1]. */
  smear: number;
  /** Median colour-to-brightness sharpness ratio, or null when too few edges were seen. */
  sharpness: number | null;
  edges: number;
}

export function measureChromaSmear(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
): SmearEstimate {
  if (frames.length === 0) throw new Error("measureChromaSmear: no frames");
  const n = width * height;
  const y = new Float32Array(n);
  const cb = new Float32Array(n);
  const cr = new Float32Array(n);
  const ratios: number[] = [];
  const count = Math.min(SAMPLE_FRAMES, frames.length);
  for (let k = 0; k < count; k++) {
    const f = frames[count > 1 ? Math.round((k * (frames.length - 1)) / (count - 1)) : 0];
    if (f.length !== n * 3) {
      throw new Error(`measureChromaSmear: frame has ${f.length} bytes, expected ${n * 3}`);
    }
    for (let p = 0; p < n; p++) {
      const r = f[p * 3];
      const g = f[p * 3 + 1];
      const b = f[p * 3 + 2];
      const l = 0.299 * r + 0.587 * g + 0.114 * b;
      y[p] = l;
      cb[p] = 0.564 * (b - l);
      cr[p] = 0.713 * (r - l);
    }
    for (let py = 1; py < height - 2; py++) {
      for (let px = 1; px < width - 2; px++) {
        const p = py * width + px;
        collect(p, 1, y, cb, cr, ratios);
        collect(p, width, y, cb, cr, ratios);
      }
    }
  }
  if (ratios.length < MIN_EDGES) return { smear: 1, sharpness: null, edges: ratios.length };
  ratios.sort((a, b) => a - b);
  const sharpness = ratios[ratios.length >> 1];
  const smear = Math.min(1, Math.max(0, (SHARP - sharpness) / SPAN));
  return { smear, sharpness, edges: ratios.length };
}

/** The sharpness ratio across pixels p and p + step, when they straddle a colour edge. */
function collect(
  p: number,
  step: number,
  y: Float32Array,
  cb: Float32Array,
  cr: Float32Array,
  out: number[],
): void {
  const q = p + step;
  const before = p - step;
  const after = q + step;
  const wideY = y[after] - y[before];
  const nearY = y[q] - y[p];
  if (Math.abs(wideY) < MIN_LUMA_STEP || Math.abs(nearY) < 0.5 * Math.abs(wideY)) return;
  const wb = cb[after] - cb[before];
  const wr = cr[after] - cr[before];
  const wide2 = wb * wb + wr * wr;
  if (wide2 < MIN_CHROMA_STEP * MIN_CHROMA_STEP) return;
  const nearC = ((cb[q] - cb[p]) * wb + (cr[q] - cr[p]) * wr) / wide2;
  out.push(nearC / (nearY / wideY));
}
