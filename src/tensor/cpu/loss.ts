/** CPU kernels for the fused softmax cross-entropy and its backward (meaning in ops/loss.ts). */
import type { CpuView } from "./backend.ts";

function rows(logits: CpuView): { n: number; v: number } {
  const v = logits.shape[logits.shape.length - 1];
  return { n: v === 0 ? 0 : logits.size / v, v };
}

/** log Σ exp(x[base .. base+v)) and the row's maximum, computed stably. */
function logSumExp(xs: ArrayLike<number>, base: number, v: number): number {
  let mx = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < v; j++) mx = Math.max(mx, xs[base + j]);
  let s = 0;
  for (let j = 0; j < v; j++) s += Math.exp(xs[base + j] - mx);
  return mx + Math.log(s);
}

export const lossCpu = {
  softmax_xent([logits, targets]: CpuView[], [loss]: CpuView[]) {
    const { n, v } = rows(logits);
    const xs = logits.storage;
    for (let r = 0; r < n; r++) {
      const t = targets.storage[r];
      if (t < 0) loss.storage[r] = 0;
      else if (t >= v) loss.storage[r] = Number.NaN;
      else loss.storage[r] = logSumExp(xs, r * v, v) - xs[r * v + t];
    }
  },

  softmax_xent_backward([logits, targets, g]: CpuView[], [dx]: CpuView[]) {
    const { n, v } = rows(logits);
    const xs = logits.storage;
    const ds = dx.storage;
    for (let r = 0; r < n; r++) {
      const t = targets.storage[r];
      const base = r * v;
      if (t < 0) {
        for (let j = 0; j < v; j++) ds[base + j] = 0;
        continue;
      }
      const lse = logSumExp(xs, base, v);
      const gr = t >= v ? Number.NaN : g.storage[r];
      for (let j = 0; j < v; j++)
        ds[base + j] = (Math.exp(xs[base + j] - lse) - (j === t ? 1 : 0)) * gr;
    }
  },
};
