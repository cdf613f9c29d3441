/** WGSL kernels for the fused softmax cross-entropy and its backward (meaning in ops/loss.ts). */
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import { header } from "../wgsl.ts";
import { RED, treeReduce } from "./updates.ts";

/** Shared body of the softmax cross-entropy kernels: the row's max `mx` and log-sum-exp `lse`. */
function rowLogSumExp(): string {
  return `let row = min(r, p.rows - 1u);
  let base = row * p.v;
  var mx = -3.4028234663852886e38;
  for (var j = lid; j < p.v; j += ${RED}u) { mx = max(mx, f32(logits[base + j])); }
  red[lid] = mx;
  workgroupBarrier();
  ${treeReduce("max(a, b)")}
  mx = red[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = lid; j < p.v; j += ${RED}u) { s += exp(f32(logits[base + j]) - mx); }
  red[lid] = s;
  workgroupBarrier();
  ${treeReduce("a + b")}
  let lse = mx + log(red[0]);
  let tgt = targets[row];`;
}

export const lossGpu = {
  softmax_xent(ctx: WebGpuBackend, [logits, targets]: GpuView[], [loss]: GpuView[]) {
    const t = logits.dtype;
    const v = logits.shape[logits.shape.length - 1];
    const rows = loss.size;
    const pipe = ctx.pipeline(
      `softmax_xent_${t}`,
      () => `${header(t)}
struct P { rows: u32, v: u32, stride: u32, nan: f32 }
@group(0) @binding(0) var<storage, read> logits: array<${t}>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<${t}>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> red: array<f32, ${RED}>;
@compute @workgroup_size(${RED}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * p.stride;
  ${rowLogSumExp()}
  if (lid != 0u || r >= p.rows) { return; }
  var l = 0.0;
  if (tgt >= i32(p.v)) { l = p.nan; } else if (tgt >= 0) { l = lse - f32(logits[base + u32(tgt)]); }
  loss[row] = ${t}(l);
}`,
    );
    if (rows === 0) return;
    const [gx, gy] = ctx.grid(rows, 1);
    ctx.dispatch(
      pipe,
      [logits.storage, targets.storage, loss.storage],
      params().u32(rows, v, gx).f32(Number.NaN),
      [gx, gy],
    );
  },

  softmax_xent_backward(ctx: WebGpuBackend, [logits, targets, g]: GpuView[], [dx]: GpuView[]) {
    const t = logits.dtype;
    const v = logits.shape[logits.shape.length - 1];
    const rows = g.size;
    const pipe = ctx.pipeline(
      `softmax_xent_backward_${t}`,
      () => `${header(t)}
struct P { rows: u32, v: u32, stride: u32, nan: f32 }
@group(0) @binding(0) var<storage, read> logits: array<${t}>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> g: array<${t}>;
@group(0) @binding(3) var<storage, read_write> dx: array<${t}>;
@group(0) @binding(4) var<uniform> p: P;
var<workgroup> red: array<f32, ${RED}>;
@compute @workgroup_size(${RED}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * p.stride;
  ${rowLogSumExp()}
  if (r >= p.rows) { return; }
  var gr = f32(g[row]);
  if (tgt < 0) { gr = 0.0; } else if (tgt >= i32(p.v)) { gr = p.nan; }
  for (var j = lid; j < p.v; j += ${RED}u) {
    let onehot = select(0.0, 1.0, i32(j) == tgt);
    dx[base + j] = ${t}((exp(f32(logits[base + j]) - lse) - onehot) * gr);
  }
}`,
    );
    if (rows === 0) return;
    const [gx, gy] = ctx.grid(rows, 1);
    ctx.dispatch(
      pipe,
      [logits.storage, targets.storage, g.storage, dx.storage],
      params().u32(rows, v, gx).f32(Number.NaN),
      [gx, gy],
    );
  },
};
