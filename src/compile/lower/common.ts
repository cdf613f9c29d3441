/** Small node patterns shared by the lowerings. */
import type { DType } from "../../tensor/dtype.ts";
import { type GraphBuilder, onnxType } from "../builder.ts";
import { ONNX_TYPE } from "../proto.ts";

export function cast(b: GraphBuilder, x: string, dtype: DType): string {
  return b.op("Cast", [x], { to: ONNX_TYPE[onnxType(dtype)] });
}

export function reshape(b: GraphBuilder, x: string, shape: readonly number[]): string {
  return b.op("Reshape", [x, b.ints(shape)]);
}

export function mul(b: GraphBuilder, x: string, y: string): string {
  return b.op("Mul", [x, y]);
}

export function add(b: GraphBuilder, x: string, y: string): string {
  return b.op("Add", [x, y]);
}

export function sub(b: GraphBuilder, x: string, y: string): string {
  return b.op("Sub", [x, y]);
}

/** x·alpha + beta with scalar constants (nodes skipped where they would do nothing). */
export function affine(b: GraphBuilder, x: string, alpha: number, beta = 0): string {
  let y = alpha === 1 ? x : mul(b, x, b.scalar(alpha));
  if (beta !== 0) y = add(b, y, b.scalar(beta));
  return y;
}

/** Sum over axes (opset 13+: axes as an input). */
export function reduceSum(b: GraphBuilder, x: string, axes: number[], keepdims: boolean): string {
  // An empty axes input would mean "every axis" to ReduceSum.
  if (axes.length === 0) return x;
  return b.op("ReduceSum", [x, b.ints(axes)], { keepdims: keepdims ? 1 : 0 });
}

export function reduceMean(b: GraphBuilder, x: string, axes: number[], keepdims: boolean): string {
  return b.op("ReduceMean", [x], { axes, keepdims: keepdims ? 1 : 0 });
}

/** Element i of a 1-D tensor as a scalar (control tensors, counts). */
export function element(b: GraphBuilder, x: string, i: number): string {
  return b.op("Gather", [x, b.scalar(i, "int64")], { axis: 0 });
}

/** Flattens to 1-D then takes element i (for [1] or [] shaped scalars of any rank). */
export function scalarOf(b: GraphBuilder, x: string, rank: number, i = 0): string {
  return element(b, rank === 1 ? x : reshape(b, x, [-1]), i);
}

/** (x ≥ 0.5 ? 1 : 0) in float: the skip flag of a control tensor. */
export function flag(b: GraphBuilder, x: string): string {
  return cast(b, b.op("Greater", [x, b.scalar(0.5)]), "f32");
}

/** Where(cond, a, b) with cond a float 0/1 flag. */
export function select(b: GraphBuilder, cond: string, a: string, c: string): string {
  return b.op("Where", [b.op("Cast", [cond], { to: ONNX_TYPE.bool }), a, c]);
}
