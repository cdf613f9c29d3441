/**
 * WGSL convolutions as implicit GEMMs on the tiled kernel of matmul.ts: the im2col matrix is
 * never stored; its elements are computed in the tile loaders from the GEMM indices (and are 0
 * in the padding). With P = To·Ho·Wo output positions and V = kT·kH·kW kernel taps:
 *
 *   forward          y[n] (Cout × P)      = w (Cout × Cin·V) · im2col(x[n]) (Cin·V × P), batch n
 *   backward input   dx[n] (Cin × T·H·W)  = wᵀ (Cin × Cout·V) · col2im-gather(g[n]), batch n
 *   backward weight  dw (Cout × Cin·V)    = g (Cout × N·P) · im2col(x)ᵀ (N·P × Cin·V)
 *
 * FLOPs: forward and backward weight 2·N·Cout·P·Cin·V each. The backward input GEMM runs over
 * every input position and tap, 2·N·Cin·T·H·W·Cout·V, about st·sh·sw times the forward: taps
 * that fall between strided outputs load 0 (a phase-split kernel would skip them; a later
 * tuning issue). Bytes as in matmul.ts: each operand element is read once per 64-wide tile of
 * the other dimension, plus one write of the output.
 */

import type { DType } from "../../tensor/dtype.ts";
import type {
  Conv3dAttrs,
  ConvBackwardInputAttrs,
  ConvBackwardWeightAttrs,
  ConvGeometry,
  UpsampleAttrs,
} from "../../tensor/ops/conv.ts";
import type { Shape } from "../../tensor/shape.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { type Params, params } from "../params.ts";
import { header } from "../wgsl.ts";
import { encodeGemm, type GemmSpec } from "./matmul.ts";

/** Convolution sizes, shared by the three specs' uniform blocks. */
const CONV_UNIFORMS = `cin: u32, cout: u32, t_in: u32, h_in: u32, w_in: u32, t_out: u32, h_out: u32, w_out: u32,
  kt: u32, kh: u32, kw: u32, st: u32, sh: u32, sw: u32, pt: i32, ph: i32, pw: i32,`;

function convUniforms(x: Shape, w: Shape, y: Shape, g: ConvGeometry): (p: Params) => void {
  return (p) =>
    p
      .u32(x[1], w[0], x[2], x[3], x[4], y[2], y[3], y[4])
      .u32(w[2], w[3], w[4], ...g.stride)
      .i32(g.padding[0][0], g.padding[1][0], g.padding[2][0]);
}

/** WGSL: the input position (t, h, w) under tap r of output position q, and its bounds check. */
const INPUT_POS_FN = `
fn input_pos(q: u32, r: u32) -> vec3<i32> {
  let khw = p.kh * p.kw;
  let t = i32((q / (p.h_out * p.w_out)) * p.st + r / khw) - p.pt;
  let h = i32(((q / p.w_out) % p.h_out) * p.sh + (r / p.kw) % p.kh) - p.ph;
  let w = i32((q % p.w_out) * p.sw + r % p.kw) - p.pw;
  return vec3<i32>(t, h, w);
}
fn inside(v: vec3<i32>) -> bool {
  return all(v >= vec3<i32>(0)) && all(v < vec3<i32>(i32(p.t_in), i32(p.h_in), i32(p.w_in)));
}
fn input_offset(v: vec3<i32>) -> u32 {
  return (u32(v.x) * p.h_in + u32(v.y)) * p.w_in + u32(v.z);
}
fn taps() -> u32 { return p.kt * p.kh * p.kw; }`;

function forwardSpec(t: DType, hasBias: boolean): GemmSpec {
  return {
    key: `conv3d_${t}_${hasBias ? "bias" : "nobias"}`,
    bindings: [
      { name: "x_in", type: t },
      { name: "w_in", type: t },
      ...(hasBias ? [{ name: "bias_in", type: t }] : []),
      { name: "y_out", type: t, write: true },
    ],
    uniforms: CONV_UNIFORMS,
    code: `${INPUT_POS_FN}
var<private> off_x: u32;
var<private> off_y: u32;
fn batch_start(batch: u32) {
  off_x = batch * p.cin * p.t_in * p.h_in * p.w_in;
  off_y = batch * p.M * p.N;
}
// A = w viewed as [Cout, Cin·V].
fn load_a(m: u32, k: u32) -> f32 { return f32(w_in[m * p.K + k]); }
// B = im2col(x): row k = (ci, tap), column n = output position.
fn load_b(k: u32, n: u32) -> f32 {
  let v = input_pos(n, k % taps());
  if (!inside(v)) { return 0.0; }
  return f32(x_in[off_x + (k / taps()) * p.t_in * p.h_in * p.w_in + input_offset(v)]);
}
fn store_c(m: u32, n: u32, acc: f32) {
  y_out[off_y + m * p.N + n] = ${t}(acc${hasBias ? " + f32(bias_in[m])" : ""});
}`,
  };
}

function backwardInputSpec(t: DType): GemmSpec {
  return {
    key: `conv3d_bwd_input_${t}`,
    bindings: [
      { name: "g_in", type: t },
      { name: "w_in", type: t },
      { name: "dx_out", type: t, write: true },
    ],
    uniforms: CONV_UNIFORMS,
    code: `${INPUT_POS_FN}
var<private> off_g: u32;
var<private> off_x: u32;
fn batch_start(batch: u32) {
  off_g = batch * p.cout * p.t_out * p.h_out * p.w_out;
  off_x = batch * p.M * p.N;
}
// A[ci, (co, tap)] = w[co, ci, tap].
fn load_a(m: u32, k: u32) -> f32 {
  return f32(w_in[((k / taps()) * p.cin + m) * taps() + k % taps()]);
}
// B[(co, tap), input position]: the output gradient at the output position that saw this input
// position through this tap, or 0 when none did (padding, or between strided outputs).
fn load_b(k: u32, n: u32) -> f32 {
  let r = k % taps();
  let khw = p.kh * p.kw;
  let hw = p.h_in * p.w_in;
  let s = vec3<i32>(i32(n / hw), i32((n / p.w_in) % p.h_in), i32(n % p.w_in))
    + vec3<i32>(p.pt, p.ph, p.pw)
    - vec3<i32>(i32(r / khw), i32((r / p.kw) % p.kh), i32(r % p.kw));
  if (any(s < vec3<i32>(0))) { return 0.0; }
  let su = vec3<u32>(s);
  let stride = vec3<u32>(p.st, p.sh, p.sw);
  let o = su / stride;
  if (any(o * stride != su) || any(o >= vec3<u32>(p.t_out, p.h_out, p.w_out))) { return 0.0; }
  let co = k / taps();
  return f32(g_in[off_g + ((co * p.t_out + o.x) * p.h_out + o.y) * p.w_out + o.z]);
}
fn store_c(m: u32, n: u32, acc: f32) { dx_out[off_x + m * p.N + n] = ${t}(acc); }`,
  };
}

function backwardWeightSpec(t: DType): GemmSpec {
  return {
    key: `conv3d_bwd_weight_${t}`,
    bindings: [
      { name: "x_in", type: t },
      { name: "g_in", type: t },
      { name: "dw_out", type: t, write: true },
    ],
    uniforms: CONV_UNIFORMS,
    code: `${INPUT_POS_FN}
fn batch_start(batch: u32) {}
fn positions() -> u32 { return p.t_out * p.h_out * p.w_out; }
// A[co, (n, q)] = g[n, co, q].
fn load_a(m: u32, k: u32) -> f32 {
  let n = k / positions();
  return f32(g_in[(n * p.cout + m) * positions() + k % positions()]);
}
// B[(n, q), (ci, tap)] = x[n, ci] at the input position under the tap (0 in the padding).
fn load_b(k: u32, col: u32) -> f32 {
  let v = input_pos(k % positions(), col % taps());
  if (!inside(v)) { return 0.0; }
  let plane = (k / positions()) * p.cin + col / taps();
  return f32(x_in[plane * p.t_in * p.h_in * p.w_in + input_offset(v)]);
}
fn store_c(m: u32, n: u32, acc: f32) { dw_out[m * p.N + n] = ${t}(acc); }`,
  };
}

const taps = (w: Shape) => w[2] * w[3] * w[4];
const positions = (s: Shape) => s[2] * s[3] * s[4];

const UPSAMPLE_WG = 256;

export const convGpu = {
  conv3d(ctx: WebGpuBackend, [x, w, bias]: GpuView[], [y]: GpuView[], attrs: Conv3dAttrs) {
    const buffers = [x.storage, w.storage];
    if (bias) buffers.push(bias.storage);
    buffers.push(y.storage);
    encodeGemm(ctx, forwardSpec(x.dtype, bias !== undefined), {
      M: w.shape[0],
      N: positions(y.shape),
      K: w.shape[1] * taps(w.shape),
      batch: x.shape[0],
      aContiguous: "k",
      bContiguous: "n",
      buffers,
      uniforms: convUniforms(x.shape, w.shape, y.shape, attrs),
    });
  },

  conv3d_backward_input(
    ctx: WebGpuBackend,
    [g, w]: GpuView[],
    [dx]: GpuView[],
    attrs: ConvBackwardInputAttrs,
  ) {
    encodeGemm(ctx, backwardInputSpec(g.dtype), {
      M: w.shape[1],
      N: positions(dx.shape),
      K: w.shape[0] * taps(w.shape),
      batch: dx.shape[0],
      aContiguous: "k",
      bContiguous: "n",
      buffers: [g.storage, w.storage, dx.storage],
      uniforms: convUniforms(dx.shape, w.shape, g.shape, attrs),
    });
  },

  conv3d_backward_weight(
    ctx: WebGpuBackend,
    [x, g]: GpuView[],
    [dw]: GpuView[],
    attrs: ConvBackwardWeightAttrs,
  ) {
    encodeGemm(ctx, backwardWeightSpec(x.dtype), {
      M: dw.shape[0],
      N: dw.shape[1] * taps(dw.shape),
      K: x.shape[0] * positions(g.shape),
      batch: 1,
      aContiguous: "k",
      bContiguous: "k",
      buffers: [x.storage, g.storage, dw.storage],
      uniforms: convUniforms(x.shape, dw.shape, g.shape, attrs),
    });
  },

  /** One thread per output element, reading its source element (0 FLOPs; 1 read + 1 write each). */
  upsample_nearest(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[], attrs: UpsampleAttrs) {
    const t = x.dtype;
    const pipe = ctx.pipeline(
      `upsample_nearest_${t}`,
      () => `${header(t)}
struct P { n: u32, stride: u32, t_in: u32, h_in: u32, w_in: u32, ft: u32, fh: u32, fw: u32 }
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${UPSAMPLE_WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let w_out = p.w_in * p.fw;
  let h_out = p.h_in * p.fh;
  let t_out = p.t_in * p.ft;
  let w = i % w_out;
  let h = (i / w_out) % h_out;
  let t = (i / (w_out * h_out)) % t_out;
  let plane = i / (w_out * h_out * t_out);
  y[i] = x[((plane * p.t_in + t / p.ft) * p.h_in + h / p.fh) * p.w_in + w / p.fw];
}`,
    );
    const [gx, gy] = ctx.grid(y.size, UPSAMPLE_WG);
    const u = params()
      .u32(y.size, gx * UPSAMPLE_WG, x.shape[2], x.shape[3], x.shape[4])
      .u32(...attrs.factors);
    ctx.dispatch(pipe, [x.storage, y.storage], u, [gx, gy]);
  },
};
