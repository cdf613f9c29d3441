/**
 * CPU reference kernels for softmax, attention and 3-D RoPE. The attention reference forms each
 * query's full row of scores and softmax: simple loops that define the truth the flash-style
 * WGSL kernels are checked against.
 */
import { type AttentionAttrs, type Rope3dAttrs, ropeFrequency } from "../ops/attention.ts";
import type { CpuView, FloatArray } from "./backend.ts";

/** Whether query i may see key j (causal masks align the queries to the last keys). */
function visible(causal: boolean, i: number, j: number, tq: number, tk: number): boolean {
  return !causal || j <= i + (tk - tq);
}

export const attentionCpu = {
  softmax([x]: CpuView[], [y]: CpuView[]) {
    const n = x.shape[x.shape.length - 1];
    const rows = n > 0 ? x.size / n : 0;
    const xs = x.storage;
    const ys = y.storage as FloatArray;
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let m = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < n; j++) m = Math.max(m, xs[base + j]);
      let sum = 0;
      for (let j = 0; j < n; j++) sum += Math.exp(xs[base + j] - m);
      for (let j = 0; j < n; j++) ys[base + j] = Math.exp(xs[base + j] - m) / sum;
    }
  },

  softmax_backward([y, dy]: CpuView[], [dx]: CpuView[]) {
    const n = y.shape[y.shape.length - 1];
    const rows = n > 0 ? y.size / n : 0;
    const ys = y.storage;
    const gs = dy.storage;
    const out = dx.storage as FloatArray;
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let dot = 0;
      for (let j = 0; j < n; j++) dot += gs[base + j] * ys[base + j];
      for (let j = 0; j < n; j++) out[base + j] = ys[base + j] * (gs[base + j] - dot);
    }
  },

  attention([q, k, v]: CpuView[], [o, lse]: CpuView[], a: AttentionAttrs) {
    const [b, h, tq, dh] = q.shape;
    const tk = k.shape[2];
    const qs = q.storage;
    const ks = k.storage;
    const vs = v.storage;
    const os = o.storage as FloatArray;
    const ls = lse.storage as FloatArray;
    const p = new Float64Array(tk);
    for (let bh = 0; bh < b * h; bh++) {
      for (let i = 0; i < tq; i++) {
        const qi = (bh * tq + i) * dh;
        let m = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < tk; j++) {
          if (!visible(a.causal, i, j, tq, tk)) continue;
          let s = 0;
          for (let d = 0; d < dh; d++) s += qs[qi + d] * ks[(bh * tk + j) * dh + d];
          p[j] = s * a.scale;
          m = Math.max(m, p[j]);
        }
        let sum = 0;
        for (let j = 0; j < tk; j++) {
          p[j] = visible(a.causal, i, j, tq, tk) ? Math.exp(p[j] - m) : 0;
          sum += p[j];
        }
        for (let d = 0; d < dh; d++) {
          let acc = 0;
          for (let j = 0; j < tk; j++) acc += p[j] * vs[(bh * tk + j) * dh + d];
          os[qi + d] = acc / sum;
        }
        ls[bh * tq + i] = m + Math.log(sum);
      }
    }
  },

  /**
   * With P = exp(scale·q·kᵀ − lse): dV = Pᵀ·dO, dP = dO·vᵀ, dS = P∘(dP − rowsum(dO∘O)),
   * dQ = scale·dS·k, dK = scale·dSᵀ·q.
   */
  attention_backward([q, k, v, o, lse, dO]: CpuView[], [dq, dk, dv]: CpuView[], a: AttentionAttrs) {
    const [b, h, tq, dh] = q.shape;
    const tk = k.shape[2];
    const qs = q.storage;
    const ks = k.storage;
    const vs = v.storage;
    const os = o.storage;
    const ls = lse.storage;
    const gs = dO.storage;
    const dqs = dq.storage as FloatArray;
    const dks = dk.storage as FloatArray;
    const dvs = dv.storage as FloatArray;
    const dkAcc = new Float64Array(tk * dh);
    const dvAcc = new Float64Array(tk * dh);
    for (let bh = 0; bh < b * h; bh++) {
      dkAcc.fill(0);
      dvAcc.fill(0);
      for (let i = 0; i < tq; i++) {
        const qi = (bh * tq + i) * dh;
        let delta = 0;
        for (let d = 0; d < dh; d++) delta += gs[qi + d] * os[qi + d];
        const dqRow = new Float64Array(dh);
        for (let j = 0; j < tk; j++) {
          if (!visible(a.causal, i, j, tq, tk)) continue;
          const kj = (bh * tk + j) * dh;
          let s = 0;
          let dp = 0;
          for (let d = 0; d < dh; d++) {
            s += qs[qi + d] * ks[kj + d];
            dp += gs[qi + d] * vs[kj + d];
          }
          const pij = Math.exp(s * a.scale - ls[bh * tq + i]);
          const ds = pij * (dp - delta) * a.scale;
          for (let d = 0; d < dh; d++) {
            dqRow[d] += ds * ks[kj + d];
            dkAcc[j * dh + d] += ds * qs[qi + d];
            dvAcc[j * dh + d] += pij * gs[qi + d];
          }
        }
        dqs.set(dqRow, qi);
      }
      dks.set(dkAcc, bh * tk * dh);
      dvs.set(dvAcc, bh * tk * dh);
    }
  },

  rope3d([x]: CpuView[], [y]: CpuView[], a: Rope3dAttrs) {
    const dh = x.shape[x.shape.length - 1];
    const t = x.shape[x.shape.length - 2];
    const [, gh, gw] = a.grid;
    const xs = x.storage;
    const ys = y.storage as FloatArray;
    const sign = a.inverse ? -1 : 1;
    const outer = t * dh > 0 ? x.size / (t * dh) : 0;
    for (let n = 0; n < outer * t; n++) {
      const tok = n % t;
      const pos = [Math.floor(tok / (gh * gw)), Math.floor(tok / gw) % gh, tok % gw];
      let c = 0;
      for (let axis = 0; axis < 3; axis++) {
        const sec = a.sections[axis];
        for (let i = 0; i < sec / 2; i++, c += 2) {
          const angle = pos[axis] * ropeFrequency(i, sec, a.theta);
          const cos = Math.cos(angle);
          const sin = sign * Math.sin(angle);
          const x0 = xs[n * dh + c];
          const x1 = xs[n * dh + c + 1];
          ys[n * dh + c] = x0 * cos - x1 * sin;
          ys[n * dh + c + 1] = x0 * sin + x1 * cos;
        }
      }
    }
  },
};
