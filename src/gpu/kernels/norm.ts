/**
 * WGSL kernels for the normalisation family. A normalisation row (one statistics block of `len`
 * contiguous elements) is handled by one workgroup that reduces in workgroup memory; parameter
 * gradients (dgamma, dbeta, dshift, dscale) are column sums computed by 16×16 workgroups in which
 * 16 threads per column stride over the summed axis and combine their partials (no float atomics).
 * All arithmetic is f32; f16 operands are widened on load and rounded on store.
 */
import type { DType } from "../../tensor/dtype.ts";
import {
  type NormAttrs,
  type NormBackwardAttrs,
  type NormKind,
  normLayout,
} from "../../tensor/ops/norm.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import { header } from "../wgsl.ts";

/** Threads per row: small rows do not need many; long ones (group norm) get more. */
function rowThreads(len: number): number {
  return len > 4096 ? 256 : 128;
}

/** Column-sum workgroups: 16 columns × 16 partial sums each. */
const COLS = 16;
const PARTS = 16;

/** A workgroup-wide sum of one f32 per thread (uniform control flow only). */
function wgSumFn(wg: number, type: "f32" | "vec2<f32>"): string {
  return `var<workgroup> red: array<${type}, ${wg}>;
fn wg_sum(v: ${type}, lid: u32) -> ${type} {
  red[lid] = v;
  workgroupBarrier();
  for (var k = ${wg / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) { red[lid] = red[lid] + red[lid + k]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}`;
}

/** Storage binding declarations, numbered 0..n-1 in list order (the uniform block goes at n). */
function bindings(list: [string, "read" | "read_write", string][]): string {
  return list
    .map(
      ([name, access, type], i) =>
        `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${type}>;`,
    )
    .join("\n");
}

/** WGSL expression for the channel of element j of statistics row `row`. */
const CHANNEL = "(row % p.g) * p.cg + j / p.s";

function forwardSource(kind: NormKind, t: DType, hasGamma: boolean, hasBeta: boolean, wg: number) {
  const rms = kind === "rms";
  const list: [string, "read" | "read_write", string][] = [["x", "read", t]];
  if (hasGamma) list.push(["gamma", "read", t]);
  if (hasBeta) list.push(["beta", "read", t]);
  list.push(["y", "read_write", t]);
  if (!rms) list.push(["mean_out", "read_write", "f32"]);
  list.push(["rstd_out", "read_write", "f32"]);
  return `${header(t)}
struct P { rows: u32, stride: u32, len: u32, g: u32, cg: u32, s: u32, eps: f32, pad: u32 }
${bindings(list)}
@group(0) @binding(${list.length}) var<uniform> p: P;
${wgSumFn(wg, "f32")}
@compute @workgroup_size(${wg}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * p.stride;
  if (row >= p.rows) { return; }
  let base = row * p.len;
  let n = f32(max(p.len, 1u));
  var mean = 0.0;
  ${
    rms
      ? ""
      : `var acc = 0.0;
  for (var j = lid; j < p.len; j += ${wg}u) { acc += f32(x[base + j]); }
  mean = wg_sum(acc, lid) / n;`
  }
  var sq = 0.0;
  for (var j = lid; j < p.len; j += ${wg}u) { let d = f32(x[base + j]) - mean; sq += d * d; }
  let rstd = inverseSqrt(wg_sum(sq, lid) / n + p.eps);
  for (var j = lid; j < p.len; j += ${wg}u) {
    var v = (f32(x[base + j]) - mean) * rstd;
    ${hasGamma ? `v = v * f32(gamma[${CHANNEL}]);` : ""}
    ${hasBeta ? `v = v + f32(beta[${CHANNEL}]);` : ""}
    y[base + j] = ${t}(v);
  }
  if (lid == 0u) {
    ${rms ? "" : "mean_out[row] = mean;"}
    rstd_out[row] = rstd;
  }
}`;
}

function backwardDxSource(kind: NormKind, t: DType, hasGamma: boolean, wg: number): string {
  const rms = kind === "rms";
  const list: [string, "read" | "read_write", string][] = [["x", "read", t]];
  if (hasGamma) list.push(["gamma", "read", t]);
  if (!rms) list.push(["mean_in", "read", "f32"]);
  list.push(["rstd_in", "read", "f32"], ["dy", "read", t], ["dx", "read_write", t]);
  const g = (j: string) =>
    hasGamma ? `f32(dy[base + ${j}]) * f32(gamma[${CHANNEL}])` : `f32(dy[base + ${j}])`;
  return `${header(t)}
struct P { rows: u32, stride: u32, len: u32, g: u32, cg: u32, s: u32, pad0: u32, pad1: u32 }
${bindings(list)}
@group(0) @binding(${list.length}) var<uniform> p: P;
${wgSumFn(wg, "vec2<f32>")}
@compute @workgroup_size(${wg}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * p.stride;
  if (row >= p.rows) { return; }
  let base = row * p.len;
  let n = f32(max(p.len, 1u));
  let mean = ${rms ? "0.0" : "mean_in[row]"};
  let rstd = rstd_in[row];
  var acc = vec2<f32>(0.0);
  for (var j = lid; j < p.len; j += ${wg}u) {
    let gj = ${g("j")};
    acc += vec2<f32>(gj, gj * (f32(x[base + j]) - mean) * rstd);
  }
  let sums = wg_sum(acc, lid) / n;
  let mg = ${rms ? "0.0" : "sums.x"};
  for (var j = lid; j < p.len; j += ${wg}u) {
    let xhat = (f32(x[base + j]) - mean) * rstd;
    dx[base + j] = ${t}(rstd * (${g("j")} - mg - xhat * sums.y));
  }
}`;
}

/** dgamma[c] = Σ dy·x̂, dbeta[c] = Σ dy over the N·S elements of channel c ([N, C, S] layout). */
function paramGradSource(kind: NormKind, t: DType, wantGamma: boolean, wantBeta: boolean): string {
  const rms = kind === "rms";
  const list: [string, "read" | "read_write", string][] = [];
  if (wantGamma) list.push(["x", "read", t]);
  if (wantGamma && !rms) list.push(["mean_in", "read", "f32"]);
  if (wantGamma) list.push(["rstd_in", "read", "f32"]);
  list.push(["dy", "read", t]);
  if (wantGamma) list.push(["dgamma", "read_write", t]);
  if (wantBeta) list.push(["dbeta", "read_write", t]);
  return `${header(t)}
struct P { n: u32, c: u32, s: u32, g: u32, cg: u32, ns: u32, pad0: u32, pad1: u32 }
${bindings(list)}
@group(0) @binding(${list.length}) var<uniform> p: P;
var<workgroup> part: array<vec2<f32>, ${COLS * PARTS}>;
@compute @workgroup_size(${COLS * PARTS}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lc = lid % ${COLS}u;
  let lp = lid / ${COLS}u;
  let c = wid.x * ${COLS}u + lc;
  var acc = vec2<f32>(0.0);
  if (c < p.c) {
    for (var k = lp; k < p.ns; k += ${PARTS}u) {
      let nn = k / p.s;
      let i = (nn * p.c + c) * p.s + k % p.s;
      let d = f32(dy[i]);
      ${
        wantGamma
          ? `let st = nn * p.g + c / p.cg;
      let xhat = (f32(x[i]) - ${rms ? "0.0" : "mean_in[st]"}) * rstd_in[st];
      acc += vec2<f32>(d * xhat, d);`
          : "acc += vec2<f32>(0.0, d);"
      }
    }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var k = ${PARTS / 2}u; k > 0u; k = k >> 1u) {
    if (lp < k) { part[lid] = part[lid] + part[lid + k * ${COLS}u]; }
    workgroupBarrier();
  }
  if (lp == 0u && c < p.c) {
    ${wantGamma ? `dgamma[c] = ${t}(part[lid].x);` : ""}
    ${wantBeta ? `dbeta[c] = ${t}(part[lid].y);` : ""}
  }
}`;
}

function normForward(
  kind: NormKind,
  ctx: WebGpuBackend,
  inputs: GpuView[],
  outputs: GpuView[],
  a: NormAttrs,
): void {
  const x = inputs[0];
  const t = x.dtype;
  const L = normLayout(kind, x.shape, a.groups ?? 1);
  const wg = rowThreads(L.len);
  const pipe = ctx.pipeline(`norm_fwd_${kind}_${t}_${+a.hasGamma}${+a.hasBeta}_${wg}`, () =>
    forwardSource(kind, t, a.hasGamma, a.hasBeta, wg),
  );
  const [gx, gy] = ctx.grid(L.rows, 1);
  const u = params()
    .u32(L.rows, gx, L.len, L.g, L.c / L.g, L.s)
    .f32(a.eps)
    .u32(0);
  ctx.dispatch(
    pipe,
    [...inputs, ...outputs].map((v) => v.storage),
    u,
    [gx, gy],
  );
}

function normBackward(
  kind: NormKind,
  ctx: WebGpuBackend,
  inputs: GpuView[],
  outputs: GpuView[],
  a: NormBackwardAttrs,
): void {
  const x = inputs[0];
  const t = x.dtype;
  const L = normLayout(kind, x.shape, a.groups ?? 1);
  const cg = L.c / L.g;
  const wg = rowThreads(L.len);
  const gamma = a.hasGamma ? [inputs[1]] : [];
  const stats = inputs.slice(1 + gamma.length, inputs.length - 1);
  const dy = inputs[inputs.length - 1];
  const dxPipe = ctx.pipeline(`norm_bwd_dx_${kind}_${t}_${+a.hasGamma}_${wg}`, () =>
    backwardDxSource(kind, t, a.hasGamma, wg),
  );
  const [gx, gy] = ctx.grid(L.rows, 1);
  ctx.dispatch(
    dxPipe,
    [x, ...gamma, ...stats, dy, outputs[0]].map((v) => v.storage),
    params().u32(L.rows, gx, L.len, L.g, cg, L.s, 0, 0),
    [gx, gy],
  );
  const wantGamma = a.paramGrads && a.hasGamma;
  const wantBeta = a.paramGrads && a.hasBeta;
  if (!wantGamma && !wantBeta) return;
  const pgPipe = ctx.pipeline(`norm_bwd_param_${kind}_${t}_${+wantGamma}${+wantBeta}`, () =>
    paramGradSource(kind, t, wantGamma, wantBeta),
  );
  const reads = wantGamma ? [x, ...stats, dy] : [dy];
  ctx.dispatch(
    pgPipe,
    [...reads, ...outputs.slice(1)].map((v) => v.storage),
    params().u32(L.n, L.c, L.s, L.g, cg, L.n * L.s, 0, 0),
    [Math.ceil(L.c / COLS)],
  );
}

const WG = 256;

export const normGpu = {
  layernorm: (ctx: WebGpuBackend, i: GpuView[], o: GpuView[], a: NormAttrs) =>
    normForward("layer", ctx, i, o, a),
  rmsnorm: (ctx: WebGpuBackend, i: GpuView[], o: GpuView[], a: NormAttrs) =>
    normForward("rms", ctx, i, o, a),
  groupnorm: (ctx: WebGpuBackend, i: GpuView[], o: GpuView[], a: NormAttrs) =>
    normForward("group", ctx, i, o, a),
  layernorm_backward: (ctx: WebGpuBackend, i: GpuView[], o: GpuView[], a: NormBackwardAttrs) =>
    normBackward("layer", ctx, i, o, a),
  rmsnorm_backward: (ctx: WebGpuBackend, i: GpuView[], o: GpuView[], a: NormBackwardAttrs) =>
    normBackward("rms", ctx, i, o, a),
  groupnorm_backward: (ctx: WebGpuBackend, i: GpuView[], o: GpuView[], a: NormBackwardAttrs) =>
    normBackward("group", ctx, i, o, a),

  modulate(ctx: WebGpuBackend, [x, shift, scale]: GpuView[], [y]: GpuView[]) {
    const t = x.dtype;
    const [, tt, d] = x.shape;
    const pipe = ctx.pipeline(
      `modulate_${t}`,
      () => `${header(t)}
struct P { n: u32, stride: u32, td: u32, d: u32 }
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read> shift: array<${t}>;
@group(0) @binding(2) var<storage, read> scale: array<${t}>;
@group(0) @binding(3) var<storage, read_write> y: array<${t}>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let bd = (i / p.td) * p.d + i % p.d;
  y[i] = ${t}(f32(x[i]) * (1.0 + f32(scale[bd])) + f32(shift[bd]));
}`,
    );
    const [gx, gy] = ctx.grid(y.size, WG);
    ctx.dispatch(
      pipe,
      [x.storage, shift.storage, scale.storage, y.storage],
      params().u32(y.size, gx * WG, tt * d, d),
      [gx, gy],
    );
  },

  modulate_backward(
    ctx: WebGpuBackend,
    [x, scale, dy]: GpuView[],
    [dx, dshift, dscale]: GpuView[],
  ) {
    const t = x.dtype;
    const [b, tt, d] = x.shape;
    const dxPipe = ctx.pipeline(
      `modulate_bwd_dx_${t}`,
      () => `${header(t)}
struct P { n: u32, stride: u32, td: u32, d: u32 }
@group(0) @binding(0) var<storage, read> scale: array<${t}>;
@group(0) @binding(1) var<storage, read> dy: array<${t}>;
@group(0) @binding(2) var<storage, read_write> dx: array<${t}>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  dx[i] = ${t}(f32(dy[i]) * (1.0 + f32(scale[(i / p.td) * p.d + i % p.d])));
}`,
    );
    const [gx, gy] = ctx.grid(dx.size, WG);
    ctx.dispatch(
      dxPipe,
      [scale.storage, dy.storage, dx.storage],
      params().u32(dx.size, gx * WG, tt * d, d),
      [gx, gy],
    );
    // dshift[b, d] = Σ_t dy, dscale[b, d] = Σ_t dy·x: 16 columns (d) × 16 partial sums over t.
    const sumPipe = ctx.pipeline(
      `modulate_bwd_sum_${t}`,
      () => `${header(t)}
struct P { b: u32, t: u32, d: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read> dy: array<${t}>;
@group(0) @binding(2) var<storage, read_write> dshift: array<${t}>;
@group(0) @binding(3) var<storage, read_write> dscale: array<${t}>;
@group(0) @binding(4) var<uniform> p: P;
var<workgroup> part: array<vec2<f32>, ${COLS * PARTS}>;
@compute @workgroup_size(${COLS * PARTS}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lc = lid % ${COLS}u;
  let lp = lid / ${COLS}u;
  let col = wid.x * ${COLS}u + lc;
  let bb = wid.y;
  var acc = vec2<f32>(0.0);
  if (col < p.d && bb < p.b) {
    for (var k = lp; k < p.t; k += ${PARTS}u) {
      let i = (bb * p.t + k) * p.d + col;
      let g = f32(dy[i]);
      acc += vec2<f32>(g, g * f32(x[i]));
    }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var k = ${PARTS / 2}u; k > 0u; k = k >> 1u) {
    if (lp < k) { part[lid] = part[lid] + part[lid + k * ${COLS}u]; }
    workgroupBarrier();
  }
  if (lp == 0u && col < p.d && bb < p.b) {
    dshift[bb * p.d + col] = ${t}(part[lid].x);
    dscale[bb * p.d + col] = ${t}(part[lid].y);
  }
}`,
    );
    ctx.dispatch(
      sumPipe,
      [x.storage, dy.storage, dshift.storage, dscale.storage],
      params().u32(b, tt, d, 0),
      [Math.ceil(d / COLS), b],
    );
  },
};
