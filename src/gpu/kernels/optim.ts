import type {
  AdamWAttrs,
  EmaAttrs,
  GradClipAttrs,
  GradStatsAttrs,
  LossScaleAttrs,
} from "../../tensor/ops/optim.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import { header, MATH_FNS } from "../wgsl.ts";
import { elementwise, RED, treeReduce } from "./updates.ts";

export const optimGpu = {
  adamw(ctx: WebGpuBackend, inputs: GpuView[], [param, m, v]: GpuView[], a: AdamWAttrs) {
    const [, grad, , , ctrl, count, norm] = inputs;
    const g = grad.dtype;
    const clip = norm !== undefined;
    const buffers = [
      param.storage,
      grad.storage,
      m.storage,
      v.storage,
      ctrl.storage,
      count.storage,
    ];
    if (norm) buffers.push(norm.storage);
    elementwise(
      ctx,
      `adamw_${g}_${clip ? "clip" : "noclip"}`,
      [g],
      `@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<${g}>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> ctrl: array<f32>;
@group(0) @binding(5) var<storage, read> count: array<f32>;
${clip ? "@group(0) @binding(6) var<storage, read> norm: array<f32>;" : ""}`,
      `if (ctrl[1] > 0.5) { return; }
  let t = count[0];
  let bc1 = 1.0 - pow(p.beta1, t);
  let bc2 = 1.0 - pow(p.beta2, t);
  let factor = ${clip ? "ctrl[0] * min(1.0, p.clipNorm / (norm[0] + p.clipEps))" : "ctrl[0]"};
  let gi = f32(grad[i]) * factor;
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] * (1.0 - p.lr * p.wd) - p.lr * (mi / bc1) / (sqrt(vi / bc2) + p.eps);`,
      "lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, clipNorm: f32, clipEps: f32",
      buffers,
      param.size,
      (u) => u.f32(a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.clipNorm ?? 0, a.clipEps ?? 0),
    );
  },

  step_count(ctx: WebGpuBackend, [, ctrl]: GpuView[], [count]: GpuView[]) {
    const pipe = ctx.pipeline(
      "step_count",
      () => `@group(0) @binding(0) var<storage, read_write> count: array<f32>;
@group(0) @binding(1) var<storage, read> ctrl: array<f32>;
@compute @workgroup_size(1) fn main() {
  if (ctrl[1] <= 0.5) { count[0] = count[0] + 1.0; }
}`,
    );
    ctx.dispatch(pipe, [count.storage, ctrl.storage], null, [1]);
  },

  grad_stats(ctx: WebGpuBackend, [, g]: GpuView[], [partials]: GpuView[], a: GradStatsAttrs) {
    const t = g.dtype;
    const term = a.mode === "sumsq" ? "x * x" : "notfinite_f(x)";
    const pipe = ctx.pipeline(
      `grad_stats_${a.mode}_${t}`,
      () => `${header(t)}
struct P { n: u32, parts: u32, slot: u32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> partials: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<${t}>;
@group(0) @binding(2) var<uniform> p: P;
var<workgroup> red: array<f32, ${RED}>;
${MATH_FNS}
@compute @workgroup_size(${RED}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = wid.x * ${RED}u + lid; i < p.n; i += p.parts * ${RED}u) {
    let x = f32(g[i]);
    acc += ${term};
  }
  red[lid] = acc;
  workgroupBarrier();
  ${treeReduce("a + b")}
  if (lid == 0u) { partials[p.slot * p.parts + wid.x] = red[0]; }
}`,
    );
    ctx.dispatch(pipe, [partials.storage, g.storage], params().u32(g.size, a.parts, a.slot, 0), [
      a.parts,
    ]);
  },

  grad_norm(ctx: WebGpuBackend, [partials, ctrl]: GpuView[], [out]: GpuView[]) {
    const withCtrl = ctrl !== undefined;
    const pipe = ctx.pipeline(
      `grad_norm_${withCtrl}`,
      () => `struct P { n: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read> partials: array<f32>;
${withCtrl ? "@group(0) @binding(1) var<storage, read> ctrl: array<f32>;" : ""}
@group(0) @binding(${withCtrl ? 2 : 1}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${withCtrl ? 3 : 2}) var<uniform> p: P;
var<workgroup> red: array<f32, ${RED}>;
@compute @workgroup_size(${RED}) fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += ${RED}u) { acc += partials[i]; }
  red[lid] = acc;
  workgroupBarrier();
  ${treeReduce("a + b")}
  if (lid == 0u) { out[0] = sqrt(red[0])${withCtrl ? " * ctrl[0]" : ""}; }
}`,
    );
    const buffers = withCtrl
      ? [partials.storage, ctrl.storage, out.storage]
      : [partials.storage, out.storage];
    ctx.dispatch(pipe, buffers, params().u32(partials.size, 0, 0, 0), [1]);
  },

  grad_clip(ctx: WebGpuBackend, [, norm]: GpuView[], [g]: GpuView[], a: GradClipAttrs) {
    const t = g.dtype;
    elementwise(
      ctx,
      `grad_clip_${t}`,
      [t],
      `@group(0) @binding(0) var<storage, read_write> g: array<${t}>;
@group(0) @binding(1) var<storage, read> norm: array<f32>;`,
      `let factor = min(1.0, p.maxNorm / (norm[0] + p.eps));
  g[i] = ${t}(f32(g[i]) * factor);`,
      "maxNorm: f32, eps: f32",
      [g.storage, norm.storage],
      g.size,
      (u) => u.f32(a.maxNorm, a.eps),
    );
  },

  loss_scale_update(
    ctx: WebGpuBackend,
    [, , partials]: GpuView[],
    [scale, ctrl]: GpuView[],
    a: LossScaleAttrs,
  ) {
    const stats = a.stats ?? "nonfinite";
    const pipe = ctx.pipeline(
      `loss_scale_update_${stats}`,
      () => `struct P { n: u32, growth: f32, backoff: f32, interval: f32, minScale: f32, maxScale: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read_write> scale: array<f32>;
@group(0) @binding(1) var<storage, read_write> ctrl: array<f32>;
@group(0) @binding(2) var<storage, read> partials: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> red: array<f32, ${RED}>;
${MATH_FNS}
@compute @workgroup_size(${RED}) fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += ${RED}u) { acc += partials[i]; }
  red[lid] = acc;
  workgroupBarrier();
  ${treeReduce("a + b")}
  if (lid != 0u) { return; }
  let found = ${stats === "sumsq" ? "notfinite_f(red[0]) != 0.0" : "red[0] != 0.0"};
  let s = scale[0];
  ctrl[0] = 1.0 / s;
  ctrl[1] = select(0.0, 1.0, found);
  if (found) {
    scale[0] = max(p.minScale, s * p.backoff);
    ctrl[2] = 0.0;
  } else {
    let good = ctrl[2] + 1.0;
    if (good >= p.interval) {
      scale[0] = min(p.maxScale, s * p.growth);
      ctrl[2] = 0.0;
    } else {
      ctrl[2] = good;
    }
  }
}`,
    );
    const u = params()
      .u32(partials.size)
      .f32(a.growthFactor, a.backoffFactor, a.growthInterval, a.minScale, a.maxScale)
      .u32(0, 0);
    ctx.dispatch(pipe, [scale.storage, ctrl.storage, partials.storage], u, [1]);
  },

  ema_update(ctx: WebGpuBackend, [, param]: GpuView[], [ema]: GpuView[], a: EmaAttrs) {
    const t = ema.dtype;
    elementwise(
      ctx,
      `ema_update_${t}`,
      [t],
      `@group(0) @binding(0) var<storage, read_write> ema: array<${t}>;
@group(0) @binding(1) var<storage, read> param: array<${t}>;`,
      `ema[i] = ${t}(p.decay * f32(ema[i]) + (1.0 - p.decay) * f32(param[i]));`,
      "decay: f32, pad: u32",
      [ema.storage, param.storage],
      ema.size,
      (u) => u.f32(a.decay).u32(0),
    );
  },
};
