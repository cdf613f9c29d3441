/** Reductions: sum, mean and max over any axes. */

import { isFloat } from "../dtype.ts";
import { run1 } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { defineOp } from "../op.ts";
import { fmt, normAxis, type Shape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { binary, div, expand, fill, mul } from "./elementwise.ts";
import { reshape } from "./shape.ts";

export interface ReduceAttrs {
  fn: "sum" | "mean" | "max";
  /** Sorted, non-negative, distinct axes. */
  axes: number[];
  keepDims: boolean;
}

export function reducedShape(shape: Shape, axes: number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

export const reduceOp = defineOp<ReduceAttrs>({
  name: "reduce",
  infer([x], a) {
    if (!isFloat(x.dtype))
      throw new DTypeError(`${a.fn}: needs a float tensor, got ${x.dtype} ${fmt(x.shape)}`);
    for (const ax of a.axes) {
      if (!Number.isInteger(ax) || ax < 0 || ax >= x.shape.length) {
        throw new ShapeError(`${a.fn}: axis ${ax} is out of range for shape ${fmt(x.shape)}`);
      }
    }
    if (a.fn === "max" && a.axes.some((ax) => x.shape[ax] === 0)) {
      throw new ShapeError(`max: cannot reduce an empty axis of shape ${fmt(x.shape)}`);
    }
    return [{ shape: reducedShape(x.shape, a.axes, a.keepDims), dtype: x.dtype }];
  },
  backward({ inputs: [x], outputs: [y], grads: [g], attrs: a }) {
    if (!g) return [undefined];
    const kept = reducedShape(x.shape, a.axes, true);
    const gk = reshape(g, kept);
    if (a.fn === "sum") return [expand(gk, x.shape)];
    if (a.fn === "mean") {
      const n = a.axes.reduce((p, ax) => p * x.shape[ax], 1);
      return [expand(mul(gk, fillLike(gk, 1 / n)), x.shape)];
    }
    // max: split the gradient evenly between tied maxima.
    const mask = binary(x, reshape(y, kept), "eq");
    const count = sum(mask, a.axes, true);
    return [mul(mask, div(gk, count))];
  },
});

function fillLike(t: Tensor, v: number): Tensor {
  return fill(t, v);
}

function normAxes(op: string, axes: number | number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = (Array.isArray(axes) ? axes : [axes]).map((a) => normAxis(op, a, rank));
  const sorted = [...new Set(list)].sort((p, q) => p - q);
  if (sorted.length !== list.length)
    throw new ShapeError(`${op}: repeated axis in [${list.join(", ")}]`);
  return sorted;
}

export function sum(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  return run1(reduceOp, [x], { fn: "sum", axes: normAxes("sum", axes, x.rank), keepDims });
}
export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  return run1(reduceOp, [x], { fn: "mean", axes: normAxes("mean", axes, x.rank), keepDims });
}
export function max(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  return run1(reduceOp, [x], { fn: "max", axes: normAxes("max", axes, x.rank), keepDims });
}
