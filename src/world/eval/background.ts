/**
 * The background colour of each row of a frame. The world is a side view: sky and ground vary
 * with height but not along a row, so the colour a row shows most often is the colour behind
 * whatever stands on it, even when objects, shadows and a wall cover much of the row (a
 * per-channel median would be pulled off by them). Per frame rather than per clip, so a panning
 * or zooming camera needs no special case.
 *
 * "Most often" allows for codec noise: after an H.264 encode a flat floor's pixels are spread
 * over a few levels either side of its colour, so counted bin by bin it can lose to a wall's
 * flatter face that covers fewer pixels (the floor is also split between its two shades). The
 * shadows on that row would then be judged against the wall's colour, too dark to be shadows.
 * So each bin is scored with its neighbours' counts as well.
 */
import type { Rgb } from "./colour.ts";

/** Colours are binned at 4 levels per step (6 bits a channel) to find the most common one. */
const SHIFT = 2;
const LEVELS = 256 >> SHIFT;
/** A mode shared by fewer than this share of a row is noise: use the median instead. */
const MIN_MODE_SHARE = 0.2;

/** Per-bin pixel counts for one row, cleared after each row through the bins it touched. */
const counts = new Uint16Array(LEVELS * LEVELS * LEVELS);
/** Flag in `counts` of a bin already scored; rows are narrower than this many pixels. */
const SCORED = 0x8000;

/** Per-row background colour of one packed RGB frame: rows[y] = [r, g, b]. */
export function rowBackground(frame: Uint8Array, width: number, height: number): Rgb[] {
  if (width >= SCORED) throw new Error(`rowBackground: rows of ${width} px are too wide`);
  const rows: Rgb[] = new Array(height);
  const keys = new Int32Array(width);
  const hist = new Uint16Array(256 * 3);
  for (let y = 0; y < height; y++) {
    const start = y * width * 3;
    for (let x = 0, o = start; x < width; x++, o += 3) {
      const key = binOf(frame[o], frame[o + 1], frame[o + 2]);
      keys[x] = key;
      counts[key]++;
    }
    // The bin with the most pixels in it and the 26 bins around it (its own count breaks ties,
    // so exact colours win as before), within one bin of noise either way.
    let bestKey = -1;
    let bestSupport = 0;
    let bestOwn = 0;
    for (let x = 0; x < width; x++) {
      const key = keys[x];
      // Each bin once: its count is kept, marked as scored by the top bit.
      const own = counts[key];
      if (own & SCORED) continue;
      counts[key] = own | SCORED;
      const support = neighbourhoodCount(key);
      if (support > bestSupport || (support === bestSupport && own > bestOwn)) {
        bestKey = key;
        bestSupport = support;
        bestOwn = own;
      }
    }
    for (let x = 0; x < width; x++) counts[keys[x]] = 0;
    hist.fill(0);
    const mode = bestSupport >= MIN_MODE_SHARE * width;
    let rank = width;
    if (mode) {
      // The per-channel median of the exact colours in those bins: the mode's own colour when
      // most of them are exact, the middle of the noise when they are not.
      rank = 0;
      for (let x = 0, o = start; x < width; x++, o += 3) {
        if (!nearBin(keys[x], bestKey)) continue;
        hist[frame[o]]++;
        hist[256 + frame[o + 1]]++;
        hist[512 + frame[o + 2]]++;
        rank++;
      }
    } else {
      for (let x = 0, o = start; x < width; x++, o += 3) {
        hist[frame[o]]++;
        hist[256 + frame[o + 1]]++;
        hist[512 + frame[o + 2]]++;
      }
    }
    const half = rank >> 1;
    rows[y] = [medianOf(hist, 0, half), medianOf(hist, 256, half), medianOf(hist, 512, half)];
  }
  return rows;
}

function binOf(r: number, g: number, b: number): number {
  return ((r >> SHIFT) * LEVELS + (g >> SHIFT)) * LEVELS + (b >> SHIFT);
}

/** Pixels counted in bin `key` and the bins one step from it in any channel. */
function neighbourhoodCount(key: number): number {
  const b = key % LEVELS;
  const g = ((key - b) / LEVELS) % LEVELS;
  const r = (key - b - g * LEVELS) / (LEVELS * LEVELS);
  let sum = 0;
  for (let i = Math.max(0, r - 1); i <= Math.min(LEVELS - 1, r + 1); i++) {
    for (let j = Math.max(0, g - 1); j <= Math.min(LEVELS - 1, g + 1); j++) {
      const base = (i * LEVELS + j) * LEVELS;
      for (let k = Math.max(0, b - 1); k <= Math.min(LEVELS - 1, b + 1); k++)
        sum += counts[base + k] & ~SCORED;
    }
  }
  return sum;
}

/** Whether two bins are at most one step apart in every channel. */
function nearBin(a: number, b: number): boolean {
  for (let k = 0; k < 3; k++) {
    if (Math.abs((a % LEVELS) - (b % LEVELS)) > 1) return false;
    a = Math.floor(a / LEVELS);
    b = Math.floor(b / LEVELS);
  }
  return true;
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
