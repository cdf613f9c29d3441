/**
 * Elementwise ops: unary functions, broadcasting binary functions, constants, dtype casts, and
 * broadcasting to a shape. Every other family builds its gradients from these.
 */

import { type DType, isFloat } from "../dtype.ts";
import { run1 } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type Meta } from "../op.ts";
import { broadcastShapes, checkShape, fmt, type Shape, sameShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { sum } from "./reduce.ts";
import { reshape } from "./shape.ts";

export const UNARY_FNS = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "abs",
  "sign",
  "relu",
  "step",
  "gelu",
  "gelu_grad",
  "silu",
  "silu_grad",
  "tanh",
  "sigmoid",
  "square",
  "recip",
  "sin",
  "cos",
  "affine",
  "notfinite",
] as const;
export type UnaryFn = (typeof UNARY_FNS)[number];

export interface UnaryAttrs {
  fn: UnaryFn;
  /** affine: alpha * x + beta. */
  alpha?: number;
  beta?: number;
}

export const BINARY_FNS = [
  "add",
  "sub",
  "mul",
  "div",
  "max",
  "min",
  "gt",
  "ge",
  "lt",
  "eq",
] as const;
export type BinaryFn = (typeof BINARY_FNS)[number];

export interface BinaryAttrs {
  fn: BinaryFn;
}

function floatOnly(op: string, m: Meta): void {
  if (!isFloat(m.dtype))
    throw new DTypeError(`${op}: needs a float tensor, got ${m.dtype} ${fmt(m.shape)}`);
}

export const unaryOp = defineOp<UnaryAttrs>({
  name: "unary",
  infer([x], a) {
    if (!UNARY_FNS.includes(a.fn)) throw new ShapeError(`unary: unknown function "${a.fn}"`);
    floatOnly(`unary ${a.fn}`, x);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  backward({ inputs: [x], outputs: [y], grads: [g], attrs: a }) {
    if (!g) return [undefined];
    switch (a.fn) {
      case "neg":
        return [neg(g)];
      case "exp":
        return [mul(g, y)];
      case "log":
        return [div(g, x)];
      case "sqrt":
        return [div(affine(g, 0.5), y)];
      case "rsqrt":
        return [mul(g, affine(mul(y, square(y)), -0.5))];
      case "abs":
        return [mul(g, unary(x, "sign"))];
      case "relu":
        return [mul(g, unary(x, "step"))];
      case "gelu":
        return [mul(g, unary(x, "gelu_grad"))];
      case "silu":
        return [mul(g, unary(x, "silu_grad"))];
      case "tanh":
        return [mul(g, affine(square(y), -1, 1))];
      case "sigmoid":
        return [mul(g, mul(y, affine(y, -1, 1)))];
      case "square":
        return [mul(g, affine(x, 2))];
      case "recip":
        return [neg(mul(g, square(y)))];
      case "sin":
        return [mul(g, unary(x, "cos"))];
      case "cos":
        return [neg(mul(g, unary(x, "sin")))];
      case "affine":
        return [affine(g, a.alpha ?? 1)];
      default:
        // sign, step, notfinite and the *_grad helpers are piecewise constant or not differentiated.
        return [undefined];
    }
  },
});

export const binaryOp = defineOp<BinaryAttrs>({
  name: "binary",
  infer([a, b], attrs) {
    if (!BINARY_FNS.includes(attrs.fn))
      throw new ShapeError(`binary: unknown function "${attrs.fn}"`);
    if (a.dtype !== b.dtype) {
      throw new DTypeError(
        `${attrs.fn}: dtypes differ: ${a.dtype} ${fmt(a.shape)} and ${b.dtype} ${fmt(b.shape)}`,
      );
    }
    return [{ shape: broadcastShapes(attrs.fn, a.shape, b.shape), dtype: a.dtype }];
  },
  backward({ inputs: [a, b], grads: [g], attrs, needs }) {
    if (!g) return [undefined, undefined];
    const ga = (t: () => Tensor) => (needs[0] ? sumTo(t(), a.shape) : undefined);
    const gb = (t: () => Tensor) => (needs[1] ? sumTo(t(), b.shape) : undefined);
    switch (attrs.fn) {
      case "add":
        return [ga(() => g), gb(() => g)];
      case "sub":
        return [ga(() => g), gb(() => neg(g))];
      case "mul":
        return [ga(() => mul(g, b)), gb(() => mul(g, a))];
      case "div":
        return [ga(() => div(g, b)), gb(() => neg(div(mul(g, a), square(b))))];
      case "max":
      case "min": {
        // The gradient goes to the chosen operand; ties send it to the first one.
        const maskA = attrs.fn === "max" ? binary(a, b, "ge") : binary(b, a, "ge");
        return [ga(() => mul(g, maskA)), gb(() => mul(g, affine(maskA, -1, 1)))];
      }
      default:
        return [undefined, undefined];
    }
  },
});

export interface FillAttrs {
  value: number;
  shape?: Shape;
  dtype?: DType;
}

/** A constant tensor; its one input only names the device (and, by default, shape and dtype). */
export const fillOp = defineOp<FillAttrs>({
  name: "fill",
  infer([like], a) {
    if (typeof a.value !== "number") {
      throw new ShapeError(`fill: value must be a number, got ${a.value}`);
    }
    const shape = a.shape ?? like.shape;
    checkShape("fill", shape);
    return [{ shape, dtype: a.dtype ?? like.dtype }];
  },
});

export interface CastAttrs {
  dtype: DType;
}

export const castOp = defineOp<CastAttrs>({
  name: "cast",
  infer([x], a) {
    if (a.dtype !== "f32" && a.dtype !== "f16" && a.dtype !== "i32")
      throw new DTypeError(`cast: unknown dtype "${a.dtype}"`);
    return [{ shape: x.shape, dtype: a.dtype }];
  },
  backward({ inputs: [x], grads: [g] }) {
    if (!g || !isFloat(x.dtype)) return [undefined];
    return [g.dtype === x.dtype ? g : cast(g, x.dtype)];
  },
});

export interface ExpandAttrs {
  shape: Shape;
}

/** Broadcasts a tensor to a larger shape (materialised copy). */
export const expandOp = defineOp<ExpandAttrs>({
  name: "expand",
  infer([x], a) {
    checkShape("expand", a.shape);
    const out = broadcastShapes("expand", x.shape, a.shape);
    if (!sameShape(out, a.shape))
      throw new ShapeError(`expand: cannot broadcast ${fmt(x.shape)} to ${fmt(a.shape)}`);
    return [{ shape: a.shape, dtype: x.dtype }];
  },
  backward({ inputs: [x], grads: [g] }) {
    return [g ? sumTo(g, x.shape) : undefined];
  },
});

export function unary(x: Tensor, fn: UnaryFn): Tensor {
  return run1(unaryOp, [x], { fn });
}
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  return run1(unaryOp, [x], { fn: "affine", alpha, beta });
}
export const neg = (x: Tensor) => unary(x, "neg");
export const exp = (x: Tensor) => unary(x, "exp");
export const log = (x: Tensor) => unary(x, "log");
export const sqrt = (x: Tensor) => unary(x, "sqrt");
export const rsqrt = (x: Tensor) => unary(x, "rsqrt");
export const abs = (x: Tensor) => unary(x, "abs");
export const relu = (x: Tensor) => unary(x, "relu");
export const gelu = (x: Tensor) => unary(x, "gelu");
export const silu = (x: Tensor) => unary(x, "silu");
export const tanh = (x: Tensor) => unary(x, "tanh");
export const sigmoid = (x: Tensor) => unary(x, "sigmoid");
export const square = (x: Tensor) => unary(x, "square");
export const sin = (x: Tensor) => unary(x, "sin");
export const cos = (x: Tensor) => unary(x, "cos");
export const scale = (x: Tensor, s: number) => affine(x, s, 0);

export function binary(a: Tensor, b: Tensor, fn: BinaryFn): Tensor {
  return run1(binaryOp, [a, b], { fn });
}
export const add = (a: Tensor, b: Tensor) => binary(a, b, "add");
export const sub = (a: Tensor, b: Tensor) => binary(a, b, "sub");
export const mul = (a: Tensor, b: Tensor) => binary(a, b, "mul");
export const div = (a: Tensor, b: Tensor) => binary(a, b, "div");
export const maximum = (a: Tensor, b: Tensor) => binary(a, b, "max");
export const minimum = (a: Tensor, b: Tensor) => binary(a, b, "min");

/** A tensor of `value` shaped like `like` (or `shape`), on the same device. */
export function fill(like: Tensor, value: number, shape?: Shape, dtype?: DType): Tensor {
  return run1(fillOp, [like], { value, shape, dtype });
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return run1(castOp, [x], { dtype });
}

export function expand(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  return run1(expandOp, [x], { shape });
}

/** Sums a broadcast gradient back down to `shape` (the reverse of broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? sum(g, axes, true) : g;
  return reshape(s, shape);
}
