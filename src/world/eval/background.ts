/**
 * The background colour of each row of a frame. The world is a side view: sky and ground vary
 * with height but hardly along a row, and moving objects cover little of any row, so the median
 * of a row is the colour behind whatever sits on it. Per frame rather than per clip so that a
 * panning or zooming camera needs no special case.
 */
import type { Rgb } from "./colour.ts";

/** Per-row median colour of one packed RGB frame: rows[y] = [r, g, b]. */
export function rowBackground(frame: Uint8Array, width: number, height: number): Rgb[] {
  const rows: Rgb[] = new Array(height);
  const hist = new Uint16Array(256 * 3);
  const half = width >> 1;
  for (let y = 0; y < height; y++) {
    hist.fill(0);
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      hist[frame[o]]++;
      hist[256 + frame[o + 1]]++;
      hist[512 + frame[o + 2]]++;
    }
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
