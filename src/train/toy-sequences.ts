/**
 * A toy next-token task for checking that training works end to end: each sequence repeats a
 * random pattern of `period` tokens, so from the second repetition on, the next token is the one
 * `period − 1` positions back. A causal transformer with positional information learns it quickly;
 * positions before the pattern has been seen once are masked out of the loss (target −1).
 */
import type { Rng } from "../util/rng.ts";

export interface ToyBatch {
  /** [batch·length] token ids, row-major [batch, length]. */
  ids: Int32Array;
  /** [batch·length] next-token targets, −1 where the next token is not yet determined. */
  targets: Int32Array;
  /** Number of targets that are not −1. */
  counted: number;
}

export function repeatingPatternBatch(
  rng: Rng,
  batch: number,
  length: number,
  vocab: number,
  period: number,
): ToyBatch {
  for (const [what, v] of [
    ["batch", batch],
    ["length", length],
    ["vocab", vocab],
    ["period", period],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`repeatingPatternBatch: ${what} must be a positive integer, got ${v}`);
  }
  if (period >= length)
    throw new RangeError(
      `repeatingPatternBatch: period ${period} must be shorter than length ${length}`,
    );
  const ids = new Int32Array(batch * length);
  const targets = new Int32Array(batch * length);
  let counted = 0;
  for (let b = 0; b < batch; b++) {
    const pattern = Array.from({ length: period }, () => rng.int(0, vocab - 1));
    for (let t = 0; t < length; t++) {
      ids[b * length + t] = pattern[t % period];
      const known = t >= period - 1;
      targets[b * length + t] = known ? pattern[(t + 1) % period] : -1;
      if (known) counted++;
    }
  }
  return { ids, targets, counted };
}
