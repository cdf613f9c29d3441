/**
 * Losses: the regression losses, composed from elementwise ops and a mean so that their gradients
 * come from those ops' own (both reduce to a scalar, the mean over every element of pred), and the
 * fused softmax cross-entropy, an op of its own with a dedicated backward op.
 */

import { isFloat } from "../dtype.ts";
import { run1 } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type Meta, type OpDef } from "../op.ts";
import { fmt, sameShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { abs, mul, square, sub } from "./elementwise.ts";
import { mean } from "./reduce.ts";

function xentCheck(op: string, logits: Meta, targets: Meta): void {
  if (!isFloat(logits.dtype))
    throw new DTypeError(`${op}: logits must be float, got ${logits.dtype} ${fmt(logits.shape)}`);
  if (targets.dtype !== "i32")
    throw new DTypeError(`${op}: targets must be i32, got ${targets.dtype} ${fmt(targets.shape)}`);
  if (logits.shape.length < 1 || logits.shape[logits.shape.length - 1] < 1)
    throw new ShapeError(`${op}: logits ${fmt(logits.shape)} need a non-empty class axis`);
  const lead = logits.shape.slice(0, -1);
  if (!sameShape(lead, targets.shape)) {
    throw new ShapeError(
      `${op}: targets ${fmt(targets.shape)} must match logits ${fmt(logits.shape)} without its last axis`,
    );
  }
}

/**
 * Per-position cross-entropy −log softmax(logits)[target] over the last axis:
 * inputs [logits [..., V], targets i32 [...]], output [...]. A negative target marks a position
 * to ignore (loss 0, gradient 0).
 */
export const softmaxXentOp = defineOp<Record<string, never>>({
  name: "softmax_xent",
  infer([logits, targets]) {
    xentCheck("softmax_xent", logits, targets);
    return [{ shape: targets.shape, dtype: logits.dtype }];
  },
  backward({ inputs: [logits, targets], grads: [g], needs }) {
    if (!g || !needs[0]) return [undefined, undefined];
    return [run1(softmaxXentBackwardOp, [logits, targets, g], {}), undefined];
  },
});

/** d logits = (softmax(logits) − onehot(target)) · g: inputs [logits, targets, g]. */
export const softmaxXentBackwardOp = defineOp<Record<string, never>>({
  name: "softmax_xent_backward",
  infer([logits, targets, g]) {
    xentCheck("softmax_xent_backward", logits, targets);
    if (g.dtype !== logits.dtype || !sameShape(g.shape, targets.shape)) {
      throw new ShapeError(
        `softmax_xent_backward: gradient ${g.dtype} ${fmt(g.shape)} must be ${logits.dtype} ${fmt(targets.shape)}`,
      );
    }
    return [{ shape: logits.shape, dtype: logits.dtype }];
  },
});

/** The cross-entropy ops (the regression losses are composites without kernels of their own). */
export const lossOps: readonly OpDef<never>[] = [
  softmaxXentOp,
  softmaxXentBackwardOp,
] as OpDef<never>[];

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

/** Cross-entropy of each position's logits against its target (negative target: ignored, 0). */
export function softmaxCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return run1(softmaxXentOp, [logits, targets], {});
}
