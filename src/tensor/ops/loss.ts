/**
 * Regression losses, composed from elementwise ops and a mean so that their gradients come from
 * those ops' own. Both reduce to a scalar: the mean over every element of pred.
 */

import { isFloat } from "../dtype.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import type { OpDef } from "../op.ts";
import { fmt, sameShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { abs, mul, square, sub } from "./elementwise.ts";
import { mean } from "./reduce.ts";

/** No kernels of their own: the losses are composites. */
export const lossOps: readonly OpDef<never>[] = [];

function checkOperands(op: string, pred: Tensor, target: Tensor, weight?: Tensor): void {
  if (!sameShape(pred.shape, target.shape)) {
    throw new ShapeError(
      `${op}: pred ${fmt(pred.shape)} and target ${fmt(target.shape)} have different shapes`,
    );
  }
  if (!isFloat(pred.dtype))
    throw new DTypeError(`${op}: needs float tensors, got ${pred.dtype} ${fmt(pred.shape)}`);
  if (pred.dtype !== target.dtype) {
    throw new DTypeError(
      `${op}: dtypes differ: pred ${pred.dtype} ${fmt(pred.shape)} and target ${target.dtype} ${fmt(target.shape)}`,
    );
  }
  if (!weight) return;
  const lead = pred.shape.length - weight.shape.length;
  const fits = lead >= 0 && weight.shape.every((d, i) => d === 1 || d === pred.shape[lead + i]);
  if (!fits) {
    throw new ShapeError(
      `${op}: weight ${fmt(weight.shape)} does not broadcast to pred ${fmt(pred.shape)}`,
    );
  }
  if (weight.dtype !== pred.dtype) {
    throw new DTypeError(
      `${op}: dtypes differ: pred ${pred.dtype} ${fmt(pred.shape)} and weight ${weight.dtype} ${fmt(weight.shape)}`,
    );
  }
}

function weightedMean(err: Tensor, weight?: Tensor): Tensor {
  return mean(weight ? mul(err, weight) : err);
}

/**
 * Mean squared error: mean((pred − target)²), or mean(weight · (pred − target)²) over all
 * elements of pred when a weight (broadcastable to pred, e.g. per frame) is given; the weighted
 * form is not renormalised by the sum of the weights.
 */
export function mseLoss(pred: Tensor, target: Tensor, weight?: Tensor): Tensor {
  checkOperands("mseLoss", pred, target, weight);
  return weightedMean(square(sub(pred, target)), weight);
}

/** Mean absolute error: mean(|pred − target|), weighted as in `mseLoss`. */
export function l1Loss(pred: Tensor, target: Tensor, weight?: Tensor): Tensor {
  checkOperands("l1Loss", pred, target, weight);
  return weightedMean(abs(sub(pred, target)), weight);
}
