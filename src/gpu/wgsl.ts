/** Small pieces shared by the WGSL kernel generators. */
import type { DType } from "../tensor/dtype.ts";
import { DeviceError } from "../tensor/errors.ts";
import type { BinaryFn, UnaryFn } from "../tensor/ops/elementwise.ts";
import type { Shape } from "../tensor/shape.ts";
import type { Params } from "./params.ts";

/** The most dimensions a broadcasting or reducing kernel indexes. */
export const MAX_RANK = 8;

export function wgslType(dtype: DType): string {
  return dtype;
}

/** `enable f16;` when any operand is f16 (must come first in the module). */
export function header(...dtypes: DType[]): string {
  return dtypes.includes("f16") ? "enable f16;\n" : "";
}

/** Writes a shape (or strides) as two vec4<u32>, the layout `array<vec4<u32>, 2>` in WGSL. */
export function packDims(p: Params, dims: readonly number[]): Params {
  if (dims.length > MAX_RANK)
    throw new DeviceError(`webgpu: rank ${dims.length} exceeds ${MAX_RANK}`);
  p.align16();
  for (let i = 0; i < MAX_RANK; i++) p.u32(dims[i] ?? 1);
  return p;
}

/** WGSL helper reading dimension i of a packed `array<vec4<u32>, 2>`. */
export const DIM_FN = `fn dim(a: array<vec4<u32>, 2>, i: u32) -> u32 { return a[i / 4u][i % 4u]; }`;

/** Right-aligns a shape's strides against an output shape, 0 on broadcast dimensions. */
export function alignedStrides(shape: Shape, out: Shape, strides: readonly number[]): number[] {
  const off = out.length - shape.length;
  return out.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : strides[i - off]));
}

/** Common math used by several kernels, in f32. tanh is clamped: WGSL's tanh may overflow to NaN. */
export const MATH_FNS = `
fn tanh_safe(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn sigmoid_f(x: f32) -> f32 { return 1.0 / (1.0 + exp(-clamp(x, -80.0, 80.0))); }
fn gelu_f(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}
fn gelu_grad_f(x: f32) -> f32 {
  let t = tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x);
}
fn silu_f(x: f32) -> f32 { return x * sigmoid_f(x); }
fn silu_grad_f(x: f32) -> f32 { let s = sigmoid_f(x); return s * (1.0 + x * (1.0 - s)); }
fn notfinite_f(x: f32) -> f32 { return select(0.0, 1.0, (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u); }
`;

/** f32 WGSL for each unary function of operand `v` (an identifier); must match the CPU's unaryScalar. */
export const UNARY_WGSL: Record<UnaryFn, (v: string, alpha: string, beta: string) => string> = {
  neg: (v) => `-${v}`,
  exp: (v) => `exp(${v})`,
  log: (v) => `log(${v})`,
  sqrt: (v) => `sqrt(${v})`,
  rsqrt: (v) => `inverseSqrt(${v})`,
  abs: (v) => `abs(${v})`,
  sign: (v) => `sign(${v})`,
  relu: (v) => `max(${v}, 0.0)`,
  step: (v) => `select(0.0, 1.0, ${v} > 0.0)`,
  gelu: (v) => `gelu_f(${v})`,
  gelu_grad: (v) => `gelu_grad_f(${v})`,
  silu: (v) => `silu_f(${v})`,
  silu_grad: (v) => `silu_grad_f(${v})`,
  tanh: (v) => `tanh_safe(${v})`,
  sigmoid: (v) => `sigmoid_f(${v})`,
  square: (v) => `${v} * ${v}`,
  recip: (v) => `1.0 / ${v}`,
  sin: (v) => `sin(${v})`,
  cos: (v) => `cos(${v})`,
  affine: (v, alpha, beta) => `${alpha} * ${v} + ${beta}`,
  notfinite: (v) => `notfinite_f(${v})`,
};

export const BINARY_WGSL: Record<BinaryFn, (a: string, b: string) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / ${b}`,
  max: (a, b) => `select(${b}, ${a}, ${a} >= ${b})`,
  min: (a, b) => `select(${b}, ${a}, ${a} <= ${b})`,
  gt: (a, b) => `select(0.0, 1.0, ${a} > ${b})`,
  ge: (a, b) => `select(0.0, 1.0, ${a} >= ${b})`,
  lt: (a, b) => `select(0.0, 1.0, ${a} < ${b})`,
  eq: (a, b) => `select(0.0, 1.0, ${a} == ${b})`,
};
