/** WGSL kernels for the elementwise family: one thread per output element, f32 arithmetic. */
import type {
  BinaryAttrs,
  CastAttrs,
  ExpandAttrs,
  FillAttrs,
  UnaryAttrs,
} from "../../tensor/ops/elementwise.ts";
import { stridesOf } from "../../tensor/shape.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import {
  alignedStrides,
  BINARY_WGSL,
  DIM_FN,
  header,
  MATH_FNS,
  packDims,
  UNARY_WGSL,
} from "../wgsl.ts";
import { gather } from "./shape.ts";

const WG = 256;

/** WGSL that converts an f32 value `v` to an element of `dtype`. */
function store(dtype: string, v: string): string {
  return dtype === "i32" ? `i32(trunc(${v}))` : `${dtype}(${v})`;
}

export const elementwiseGpu = {
  unary(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[], a: UnaryAttrs) {
    const t = x.dtype;
    const pipe = ctx.pipeline(
      `unary_${a.fn}_${t}`,
      () => `${header(t)}
struct P { n: u32, stride: u32, alpha: f32, beta: f32 }
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<uniform> p: P;
${MATH_FNS}
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let v = f32(x[i]);
  y[i] = ${t}(${UNARY_WGSL[a.fn]("v", "p.alpha", "p.beta")});
}`,
    );
    const [gx, gy] = ctx.grid(y.size, WG);
    const u = params()
      .u32(y.size, gx * WG)
      .f32(a.alpha ?? 1, a.beta ?? 0);
    ctx.dispatch(pipe, [x.storage, y.storage], u, [gx, gy]);
  },

  binary(ctx: WebGpuBackend, [a, b]: GpuView[], [y]: GpuView[], attrs: BinaryAttrs) {
    const t = a.dtype;
    const same = a.size === y.size && b.size === y.size;
    const pipe = ctx.pipeline(
      `binary_${attrs.fn}_${t}_${same ? "same" : "bcast"}`,
      () => `${header(t)}
struct P { n: u32, stride: u32, rank: u32, pad: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> xa: array<${t}>;
@group(0) @binding(1) var<storage, read> xb: array<${t}>;
@group(0) @binding(2) var<storage, read_write> y: array<${t}>;
@group(0) @binding(3) var<uniform> p: P;
${DIM_FN}
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  ${
    same
      ? "let ia = i; let ib = i;"
      : `var rem = i; var ia = 0u; var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let n = dim(p.shape, u32(d));
    let c = rem % n;
    rem = rem / n;
    ia += c * dim(p.sa, u32(d));
    ib += c * dim(p.sb, u32(d));
  }`
  }
  let a = f32(xa[ia]);
  let b = f32(xb[ib]);
  y[i] = ${store(t, BINARY_WGSL[attrs.fn]("a", "b"))};
}`,
    );
    const [gx, gy] = ctx.grid(y.size, WG);
    const u = params().u32(y.size, gx * WG, y.shape.length, 0);
    packDims(u, y.shape);
    packDims(u, alignedStrides(a.shape, y.shape, stridesOf(a.shape)));
    packDims(u, alignedStrides(b.shape, y.shape, stridesOf(b.shape)));
    ctx.dispatch(pipe, [a.storage, b.storage, y.storage], u, [gx, gy]);
  },

  fill(ctx: WebGpuBackend, _: GpuView[], [y]: GpuView[], a: FillAttrs) {
    const t = y.dtype;
    const pipe = ctx.pipeline(
      `fill_${t}`,
      () => `${header(t)}
struct P { n: u32, stride: u32, value: f32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> y: array<${t}>;
@group(0) @binding(1) var<uniform> p: P;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  y[i] = ${store(t, "p.value")};
}`,
    );
    const [gx, gy] = ctx.grid(y.size, WG);
    ctx.dispatch(
      pipe,
      [y.storage],
      params()
        .u32(y.size, gx * WG)
        .f32(a.value)
        .u32(0),
      [gx, gy],
    );
  },

  cast(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[], _a: CastAttrs) {
    const pipe = ctx.pipeline(
      `cast_${x.dtype}_${y.dtype}`,
      () => `${header(x.dtype, y.dtype)}
struct P { n: u32, stride: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> x: array<${x.dtype}>;
@group(0) @binding(1) var<storage, read_write> y: array<${y.dtype}>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  y[i] = ${store(y.dtype, "f32(x[i])")};
}`,
    );
    const [gx, gy] = ctx.grid(y.size, WG);
    ctx.dispatch(pipe, [x.storage, y.storage], params().u32(y.size, gx * WG, 0, 0), [gx, gy]);
  },

  expand(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[], _a: ExpandAttrs) {
    gather(ctx, x, y, y.shape, alignedStrides(x.shape, y.shape, stridesOf(x.shape)), 0);
  },
};
