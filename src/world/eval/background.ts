/**
 * The background colour of each row of a frame. The world is a side view: sky and ground vary
 * with height but not along a row, so the colour a row shows most often is the colour behind
 * whatever stands on it, even when objects, shadows and a wall cover much of the row (a
 * per-channel median would be pulled off by them). Per frame rather than per clip, so a panning
 * or zooming camera needs no special case.
 */
import type { Rgb } from "./colour.ts";

/** Colours are binned at 4 levels per step (6 bits a channel) to find the most common one. */
const SHIFT = 2;
/** A mode shared by fewer than this share of a row is noise: use the median instead. */
const MIN_MODE_SHARE = 0.2;

/** Per-row background colour of one packed RGB frame: rows[y] = [r, g, b]. */
export function rowBackground(frame: Uint8Array, width: number, height: number): Rgb[] {
  const rows: Rgb[] = new Array(height);
  const counts = new Map<number, number>();
  const hist = new Uint16Array(256 * 3);
  for (let y = 0; y < height; y++) {
    counts.clear();
    const start = y * width * 3;
    let bestKey = 0;
    let bestCount = 0;
    for (let x = 0, o = start; x < width; x++, o += 3) {
      const key =
        ((frame[o] >> SHIFT) << 12) | ((frame[o + 1] >> SHIFT) << 6) | (frame[o + 2] >> SHIFT);
      const c = (counts.get(key) ?? 0) + 1;
      counts.set(key, c);
      if (c > bestCount) {
        bestCount = c;
        bestKey = key;
      }
    }
    if (bestCount >= MIN_MODE_SHARE * width) {
      // The mean of the exact colours in the winning bin.
      let r = 0;
      let g = 0;
      let b = 0;
      for (let x = 0, o = start; x < width; x++, o += 3) {
        const key =
          ((frame[o] >> SHIFT) << 12) | ((frame[o + 1] >> SHIFT) << 6) | (frame[o + 2] >> SHIFT);
        if (key !== bestKey) continue;
        r += frame[o];
        g += frame[o + 1];
        b += frame[o + 2];
      }
      rows[y] = [r / bestCount, g / bestCount, b / bestCount];
      continue;
    }
    hist.fill(0);
    for (let x = 0, o = start; x < width; x++, o += 3) {
      hist[frame[o]]++;
      hist[256 + frame[o + 1]]++;
      hist[512 + frame[o + 2]]++;
    }
    const half = width >> 1;
    rows[y] = [medianOf(hist, 0, half), medianOf(hist, 256, half), medianOf(hist, 512, half)];
  }
  return rows;
}

/** The value below which `rank` counts of a 256-bin histogram (starting at `base`) fall. */
function medianOf(hist: Uint16Array, base: number, rank: number): number {
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += hist[base + v];
    if (seen > rank) return v;
  }
  return 255;
}
