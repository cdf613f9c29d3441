/** Learning-rate schedules: linear warm-up, then constant or cosine decay to a floor. */

export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warm-up from lr/warmup to lr. */
  warmup: number;
  /** "cosine" decays to lr·minRatio at `total` steps; "constant" stays at lr. */
  decay: "cosine" | "constant";
  total: number;
  minRatio?: number;
}

export function checkSchedule(s: LrSchedule): void {
  if (!(s.lr > 0 && Number.isFinite(s.lr)))
    throw new RangeError(`lr must be a positive number, got ${s.lr}`);
  if (!(Number.isInteger(s.warmup) && s.warmup >= 0))
    throw new RangeError(`warm-up must be a whole number of steps ≥ 0, got ${s.warmup}`);
  if (!(Number.isInteger(s.total) && s.total >= 1))
    throw new RangeError(`steps must be a whole number ≥ 1, got ${s.total}`);
  const m = s.minRatio ?? 0.1;
  if (!(m >= 0 && m <= 1)) throw new RangeError(`minRatio must be in [0, 1], got ${m}`);
}

/** The learning rate of step `step` (0-based). */
export function lrAt(s: LrSchedule, step: number): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  if (s.decay === "constant") return s.lr;
  const span = Math.max(1, s.total - s.warmup);
  const progress = Math.min(1, (step - s.warmup) / span);
  const floor = s.lr * (s.minRatio ?? 0.1);
  return floor + (s.lr - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
