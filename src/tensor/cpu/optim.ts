/** CPU reference kernels for the training ops (see src/tensor/ops/optim.ts for their meaning). */
import type {
  AdamWAttrs,
  EmaAttrs,
  GradClipAttrs,
  GradStatsAttrs,
  LossScaleAttrs,
} from "../ops/optim.ts";
import type { CpuView, FloatArray } from "./backend.ts";

export const optimCpu = {
  adamw(inputs: CpuView[], [param, m, v]: CpuView[], a: AdamWAttrs) {
    const [, grad, , , ctrl, count, norm] = inputs;
    const c = ctrl.storage;
    if (c[1] > 0.5) return;
    const t = count.storage[0];
    const clip = norm ? Math.min(1, a.clipNorm! / (norm.storage[0] + a.clipEps!)) : 1;
    const invScale = c[0] * clip;
    const bc1 = 1 - a.beta1 ** t;
    const bc2 = 1 - a.beta2 ** t;
    const ps = param.storage as FloatArray;
    const ms = m.storage as FloatArray;
    const vs = v.storage as FloatArray;
    const gs = grad.storage;
    const decay = 1 - a.lr * a.weightDecay;
    for (let i = 0; i < param.size; i++) {
      const g = gs[i] * invScale;
      ms[i] = a.beta1 * ms[i] + (1 - a.beta1) * g;
      vs[i] = a.beta2 * vs[i] + (1 - a.beta2) * g * g;
      const update = ms[i] / bc1 / (Math.sqrt(vs[i] / bc2) + a.eps);
      ps[i] = ps[i] * decay - a.lr * update;
    }
  },

  step_count([, ctrl]: CpuView[], [count]: CpuView[]) {
    if (ctrl.storage[1] <= 0.5) count.storage[0] += 1;
  },

  grad_stats([, g]: CpuView[], [partials]: CpuView[], a: GradStatsAttrs) {
    const gs = g.storage;
    let acc = 0;
    for (let i = 0; i < g.size; i++) {
      const x = gs[i];
      acc += a.mode === "sumsq" ? x * x : Number.isFinite(x) ? 0 : 1;
    }
    const ps = partials.storage;
    const base = a.slot * a.parts;
    ps[base] = acc;
    for (let k = 1; k < a.parts; k++) ps[base + k] = 0;
  },

  grad_norm([partials, ctrl]: CpuView[], [out]: CpuView[]) {
    let s = 0;
    for (let i = 0; i < partials.size; i++) s += partials.storage[i];
    out.storage[0] = Math.sqrt(s) * (ctrl ? ctrl.storage[0] : 1);
  },

  grad_clip([, norm]: CpuView[], [g]: CpuView[], a: GradClipAttrs) {
    const factor = Math.min(1, a.maxNorm / (norm.storage[0] + a.eps));
    const gs = g.storage as FloatArray;
    for (let i = 0; i < g.size; i++) gs[i] *= factor;
  },

  loss_scale_update([, , partials]: CpuView[], [scale, ctrl]: CpuView[], a: LossScaleAttrs) {
    let total = 0;
    for (let i = 0; i < partials.size; i++) total += partials.storage[i];
    const found = a.stats === "sumsq" ? !Number.isFinite(total) : total !== 0;
    const s = scale.storage;
    const c = ctrl.storage;
    c[0] = 1 / s[0];
    c[1] = found ? 1 : 0;
    if (found) {
      s[0] = Math.max(a.minScale, s[0] * a.backoffFactor);
      c[2] = 0;
    } else {
      c[2] += 1;
      if (c[2] >= a.growthInterval) {
        s[0] = Math.min(a.maxScale, s[0] * a.growthFactor);
        c[2] = 0;
      }
    }
  },

  ema_update([, param]: CpuView[], [ema]: CpuView[], a: EmaAttrs) {
    const es = ema.storage as FloatArray;
    const ps = param.storage;
    for (let i = 0; i < ema.size; i++) es[i] = a.decay * es[i] + (1 - a.decay) * ps[i];
  },
};
