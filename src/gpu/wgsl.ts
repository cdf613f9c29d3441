/** Small pieces shared by the WGSL kernel generators. */
import type { DType } from "../tensor/dtype.ts";
import { DeviceError } from "../tensor/errors.ts";
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
