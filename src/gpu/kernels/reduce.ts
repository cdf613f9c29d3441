/**
 * WGSL reduction: one workgroup per output element; its threads stride over the reduced
 * elements and combine their partial results in workgroup memory (f32 accumulation).
 */
import type { ReduceAttrs } from "../../tensor/ops/reduce.ts";
import { stridesOf } from "../../tensor/shape.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import { DIM_FN, header, packDims } from "../wgsl.ts";

const WG = 64;

export const reduceGpu = {
  reduce(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[], a: ReduceAttrs) {
    const t = x.dtype;
    const isMax = a.fn === "max";
    const pipe = ctx.pipeline(
      `reduce_${a.fn}_${t}`,
      () => `${header(t)}
struct P {
  nOut: u32, strideOut: u32, nRed: u32, rankKept: u32, rankRed: u32, scale: f32, pad0: u32, pad1: u32,
  keptShape: array<vec4<u32>, 2>, keptStrides: array<vec4<u32>, 2>,
  redShape: array<vec4<u32>, 2>, redStrides: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<uniform> p: P;
var<workgroup> part: array<f32, ${WG}>;
${DIM_FN}
fn combine(a: f32, b: f32) -> f32 { return ${isMax ? "select(a, b, b > a || b != b)" : "a + b"}; }
@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = wid.x + wid.y * p.strideOut;
  var base = 0u;
  var rem = o;
  for (var d = i32(p.rankKept) - 1; d >= 0; d--) {
    let n = dim(p.keptShape, u32(d));
    base += (rem % n) * dim(p.keptStrides, u32(d));
    rem = rem / n;
  }
  var acc = ${isMax ? "-3.4028234663852886e38" : "0.0"};
  for (var r = lid; r < p.nRed; r += ${WG}u) {
    var off = 0u;
    var rr = r;
    for (var d = i32(p.rankRed) - 1; d >= 0; d--) {
      let n = dim(p.redShape, u32(d));
      off += (rr % n) * dim(p.redStrides, u32(d));
      rr = rr / n;
    }
    acc = combine(acc, f32(x[base + off]));
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] = combine(part[lid], part[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u && o < p.nOut) { y[o] = ${t}(part[0] * p.scale); }
}`,
    );
    const strides = stridesOf(x.shape);
    const kept = x.shape.map((_, i) => i).filter((i) => !a.axes.includes(i));
    const nRed = a.axes.reduce((q, i) => q * x.shape[i], 1);
    const [gx, gy] = ctx.grid(y.size, 1);
    const u = params()
      .u32(y.size, gx, nRed, kept.length, a.axes.length)
      .f32(a.fn === "mean" ? 1 / nRed : 1)
      .u32(0, 0);
    packDims(
      u,
      kept.map((i) => x.shape[i]),
    );
    packDims(
      u,
      kept.map((i) => strides[i]),
    );
    packDims(
      u,
      a.axes.map((i) => x.shape[i]),
    );
    packDims(
      u,
      a.axes.map((i) => strides[i]),
    );
    ctx.dispatch(pipe, [x.storage, y.storage], u, [gx, gy]);
  },
};
