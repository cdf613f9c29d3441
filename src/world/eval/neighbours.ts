/**
 * The 8-connected neighbourhood every pixel walk of the evaluator uses (flood fills, rims,
 * touching tests), in one place: row by row from the top-left, skipping what lies off the frame.
 */

/**
 * Writes the frame indices of pixel p's neighbours into `out` (length ≥ 9) and returns how many:
 * the up to 8 around it, plus p itself (in its place, fifth of nine) when `withCentre` is set.
 */
export function neighbours(
  p: number,
  width: number,
  height: number,
  out: Int32Array,
  withCentre = false,
): number {
  const px = p % width;
  const py = (p - px) / width;
  let count = 0;
  for (let dy = -1; dy <= 1; dy++) {
    const qy = py + dy;
    if (qy < 0 || qy >= height) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const qx = px + dx;
      if (qx < 0 || qx >= width || (dx === 0 && dy === 0 && !withCentre)) continue;
      out[count++] = qy * width + qx;
    }
  }
  return count;
}
