/**
 * CPU reference kernels for the normalisation family. Every normalisation is handled through the
 * same [N, C, S] layout (see `normLayout`): statistics over blocks of `len` contiguous elements,
 * affine parameters per channel.
 */
import { type NormAttrs, type NormBackwardAttrs, type NormKind, normLayout } from "../ops/norm.ts";
import type { CpuView, FloatArray } from "./backend.ts";

function normForward(kind: NormKind, inputs: CpuView[], outputs: CpuView[], a: NormAttrs): void {
  const xs = inputs[0].storage;
  const gamma = a.hasGamma ? inputs[1].storage : null;
  const beta = a.hasBeta ? inputs[a.hasGamma ? 2 : 1].storage : null;
  const ys = outputs[0].storage as FloatArray;
  const meanOut = kind === "rms" ? null : (outputs[1].storage as FloatArray);
  const rstdOut = outputs[outputs.length - 1].storage as FloatArray;
  const { c, s, g, rows, len } = normLayout(kind, inputs[0].shape, a.groups ?? 1);
  const cg = c / g;
  for (let r = 0; r < rows; r++) {
    const base = r * len;
    let mean = 0;
    if (kind !== "rms" && len > 0) {
      for (let j = 0; j < len; j++) mean += xs[base + j];
      mean /= len;
    }
    let sq = 0;
    for (let j = 0; j < len; j++) sq += (xs[base + j] - mean) ** 2;
    const rstd = 1 / Math.sqrt((len > 0 ? sq / len : 0) + a.eps);
    for (let j = 0; j < len; j++) {
      const ch = (r % g) * cg + Math.floor(j / s);
      let v = (xs[base + j] - mean) * rstd;
      if (gamma) v *= gamma[ch];
      if (beta) v += beta[ch];
      ys[base + j] = v;
    }
    if (meanOut) meanOut[r] = mean;
    rstdOut[r] = rstd;
  }
}

/**
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·gamma (RMS norm drops the mean(g) term);
 * dgamma = Σ dy·x̂ and dbeta = Σ dy per channel.
 */
function normBackward(
  kind: NormKind,
  inputs: CpuView[],
  outputs: CpuView[],
  a: NormBackwardAttrs,
): void {
  const xs = inputs[0].storage;
  const gamma = a.hasGamma ? inputs[1].storage : null;
  const statsAt = a.hasGamma ? 2 : 1;
  const meanIn = kind === "rms" ? null : inputs[statsAt].storage;
  const rstdIn = inputs[inputs.length - 2].storage;
  const dys = inputs[inputs.length - 1].storage;
  const dx = outputs[0].storage as FloatArray;
  const dgamma = a.paramGrads && a.hasGamma ? (outputs[1].storage as FloatArray) : null;
  const dbeta =
    a.paramGrads && a.hasBeta ? (outputs[a.hasGamma ? 2 : 1].storage as FloatArray) : null;
  const { c, s, g, rows, len } = normLayout(kind, inputs[0].shape, a.groups ?? 1);
  const cg = c / g;
  const sumGamma = new Float64Array(c);
  const sumBeta = new Float64Array(c);
  for (let r = 0; r < rows; r++) {
    const base = r * len;
    const mean = meanIn ? meanIn[r] : 0;
    const rstd = rstdIn[r];
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < len; j++) {
      const ch = (r % g) * cg + Math.floor(j / s);
      const xhat = (xs[base + j] - mean) * rstd;
      const dy = dys[base + j];
      const gj = gamma ? dy * gamma[ch] : dy;
      sg += gj;
      sgx += gj * xhat;
      sumGamma[ch] += dy * xhat;
      sumBeta[ch] += dy;
    }
    const mg = kind === "rms" || len === 0 ? 0 : sg / len;
    const mgx = len === 0 ? 0 : sgx / len;
    for (let j = 0; j < len; j++) {
      const ch = (r % g) * cg + Math.floor(j / s);
      const xhat = (xs[base + j] - mean) * rstd;
      const gj = gamma ? dys[base + j] * gamma[ch] : dys[base + j];
      dx[base + j] = rstd * (gj - mg - xhat * mgx);
    }
  }
  dgamma?.set(sumGamma);
  dbeta?.set(sumBeta);
}

export const normCpu = {
  layernorm: (i: CpuView[], o: CpuView[], a: NormAttrs) => normForward("layer", i, o, a),
  rmsnorm: (i: CpuView[], o: CpuView[], a: NormAttrs) => normForward("rms", i, o, a),
  groupnorm: (i: CpuView[], o: CpuView[], a: NormAttrs) => normForward("group", i, o, a),
  layernorm_backward: (i: CpuView[], o: CpuView[], a: NormBackwardAttrs) =>
    normBackward("layer", i, o, a),
  rmsnorm_backward: (i: CpuView[], o: CpuView[], a: NormBackwardAttrs) =>
    normBackward("rms", i, o, a),
  groupnorm_backward: (i: CpuView[], o: CpuView[], a: NormBackwardAttrs) =>
    normBackward("group", i, o, a),

  /** y = x·(1 + scale[b]) + shift[b] for x [B, T, D]. */
  modulate([x, shift, scale]: CpuView[], [y]: CpuView[]) {
    const [b, t, d] = x.shape;
    const xs = x.storage;
    const ys = y.storage as FloatArray;
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < t; j++) {
        const base = (i * t + j) * d;
        for (let k = 0; k < d; k++) {
          ys[base + k] = xs[base + k] * (1 + scale.storage[i * d + k]) + shift.storage[i * d + k];
        }
      }
    }
  },

  /** dx = dy·(1 + scale); dshift = Σ_t dy; dscale = Σ_t dy·x. */
  modulate_backward([x, scale, dy]: CpuView[], [dx, dshift, dscale]: CpuView[]) {
    const [b, t, d] = x.shape;
    const xs = x.storage;
    const dys = dy.storage;
    const dxs = dx.storage as FloatArray;
    const sh = new Float64Array(b * d);
    const sc = new Float64Array(b * d);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < t; j++) {
        const base = (i * t + j) * d;
        for (let k = 0; k < d; k++) {
          const g = dys[base + k];
          dxs[base + k] = g * (1 + scale.storage[i * d + k]);
          sh[i * d + k] += g;
          sc[i * d + k] += g * xs[base + k];
        }
      }
    }
    dshift.storage.set(sh);
    dscale.storage.set(sc);
  },
};
