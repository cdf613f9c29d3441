/**
 * Training ops: the fused AdamW update, the EMA of weights, gradient statistics for clipping and
 * for dynamic loss scaling, and the loss-scale state machine. All of them update tensors in place
 * on the device and read their per-step control values (1/loss-scale, skip flag, step count) from
 * small device tensors, so a training step never waits for the host.
 * (The fused softmax cross-entropy is with the losses in loss.ts; `assign` is with the shape ops.)
 */

import { isFloat } from "../dtype.ts";
import { run1, runOp } from "../engine.ts";
import { DeviceError, DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type Meta, type OpDef } from "../op.ts";
import { fmt, numel, sameShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

/** Workgroups (partial sums) per gradient in `grad_stats`; each writes one slot of the partials. */
export const GRAD_STAT_PARTS = 32;

/**
 * Layout of the control tensor (f32, at least 2 elements) that the loss scaler writes and the
 * optimiser, the clipper and the step counter read: [1/scale of the current gradients, skip flag
 * (1 when the gradients overflowed and this step must not change anything), ...].
 */
export const CTRL_INV_SCALE = 0;
export const CTRL_SKIP = 1;
/** The loss scaler keeps its count of good steps after the two shared slots. */
export const CTRL_GOOD_STEPS = 2;
export const CTRL_SIZE = 4;

function needF32(op: string, what: string, m: Meta): void {
  if (m.dtype !== "f32")
    throw new DTypeError(`${op}: ${what} must be f32, got ${m.dtype} ${fmt(m.shape)}`);
}

function needSame(op: string, what: string, a: Meta, b: Meta, bWhat: string): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: ${bWhat} ${fmt(b.shape)} does not match ${what} ${fmt(a.shape)}`);
  }
}

function needFinite(op: string, name: string, v: unknown, lo = -Infinity, hi = Infinity): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${op}: ${name} must be a finite number in [${lo}, ${hi}], got ${v}`);
  }
}

function needBeta(op: string, name: string, v: unknown): void {
  if (typeof v !== "number" || !(v >= 0 && v < 1))
    throw new RangeError(`${op}: ${name} must be in [0, 1), got ${v}`);
}

function needCtrl(op: string, m: Meta): void {
  needF32(op, "control tensor", m);
  if (numel(m.shape) < 2)
    throw new ShapeError(`${op}: control tensor needs ≥ 2 elements, got ${fmt(m.shape)}`);
}

export interface AdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /**
   * Gradient clipping fused into the update: with a 7th input `norm` (the global gradient norm,
   * f32 [1]), the gradient is also multiplied by min(1, clipNorm / (norm + clipEps)).
   */
  clipNorm?: number;
  clipEps?: number;
}

/**
 * One AdamW step for one parameter, in place: inputs [param, grad, m, v, ctrl, count, norm?].
 * g = grad · ctrl[0] (· clip factor); m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
 * param = param·(1 − lr·wd) − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + eps), t = count[0].
 * Nothing changes when ctrl[1] (skip) is set.
 */
export const adamwOp = defineOp<AdamWAttrs>({
  name: "adamw",
  inplace: [0, 2, 3],
  infer([param, grad, m, v, ctrl, count, norm], a) {
    needF32("adamw", "param", param);
    needF32("adamw", "first moment", m);
    needF32("adamw", "second moment", v);
    if (!isFloat(grad.dtype))
      throw new DTypeError(`adamw: grad must be float, got ${grad.dtype} ${fmt(grad.shape)}`);
    needSame("adamw", "param", param, grad, "grad");
    needSame("adamw", "param", param, m, "first moment");
    needSame("adamw", "param", param, v, "second moment");
    needCtrl("adamw", ctrl);
    needF32("adamw", "step count", count);
    if (numel(count.shape) !== 1)
      throw new ShapeError(`adamw: step count must have 1 element, got ${fmt(count.shape)}`);
    needFinite("adamw", "lr", a.lr, 0);
    needBeta("adamw", "beta1", a.beta1);
    needBeta("adamw", "beta2", a.beta2);
    needFinite("adamw", "eps", a.eps, 1e-30);
    needFinite("adamw", "weightDecay", a.weightDecay, 0);
    if (norm) {
      needF32("adamw", "gradient norm", norm);
      if (numel(norm.shape) !== 1)
        throw new ShapeError(`adamw: gradient norm must have 1 element, got ${fmt(norm.shape)}`);
      needFinite("adamw", "clipNorm", a.clipNorm, Number.MIN_VALUE);
      needFinite("adamw", "clipEps", a.clipEps, 0);
    }
    return [];
  },
});

/** count[0] += 1 unless ctrl[1] (skip) is set: inputs [count, ctrl]. */
export const stepCountOp = defineOp<Record<string, never>>({
  name: "step_count",
  inplace: [0],
  infer([count, ctrl]) {
    needF32("step_count", "count", count);
    if (numel(count.shape) !== 1)
      throw new ShapeError(`step_count: count must have 1 element, got ${fmt(count.shape)}`);
    needCtrl("step_count", ctrl);
    return [];
  },
});

export interface GradStatsAttrs {
  /** Which gradient this is: writes partials[slot·parts .. slot·parts + parts). */
  slot: number;
  parts: number;
  /** "sumsq": Σ g²; "nonfinite": the number of NaN/±Inf elements. */
  mode: "sumsq" | "nonfinite";
}

/** Partial sums of one gradient into its slots of a partials vector: inputs [partials, g]. */
export const gradStatsOp = defineOp<GradStatsAttrs>({
  name: "grad_stats",
  inplace: [0],
  infer([partials, g], a) {
    needF32("grad_stats", "partials", partials);
    if (!isFloat(g.dtype))
      throw new DTypeError(`grad_stats: gradient must be float, got ${g.dtype} ${fmt(g.shape)}`);
    if (a.mode !== "sumsq" && a.mode !== "nonfinite")
      throw new RangeError(`grad_stats: mode must be "sumsq" or "nonfinite", got "${a.mode}"`);
    if (!Number.isInteger(a.parts) || a.parts < 1)
      throw new RangeError(`grad_stats: parts must be a positive integer, got ${a.parts}`);
    if (!Number.isInteger(a.slot) || a.slot < 0 || (a.slot + 1) * a.parts > numel(partials.shape)) {
      throw new ShapeError(
        `grad_stats: slot ${a.slot} × ${a.parts} parts does not fit partials ${fmt(partials.shape)}`,
      );
    }
    return [];
  },
});

/** The global norm √(Σ partials) · ctrl[0] (ctrl optional): inputs [partials, ctrl?], output []. */
export const gradNormOp = defineOp<Record<string, never>>({
  name: "grad_norm",
  infer([partials, ctrl]) {
    needF32("grad_norm", "partials", partials);
    if (ctrl) needCtrl("grad_norm", ctrl);
    return [{ shape: [], dtype: "f32" }];
  },
});

export interface GradClipAttrs {
  maxNorm: number;
  eps: number;
}

/** g ·= min(1, maxNorm / (norm + eps)), in place: inputs [g, norm]. */
export const gradClipOp = defineOp<GradClipAttrs>({
  name: "grad_clip",
  inplace: [0],
  infer([g, norm], a) {
    if (!isFloat(g.dtype))
      throw new DTypeError(`grad_clip: gradient must be float, got ${g.dtype} ${fmt(g.shape)}`);
    needF32("grad_clip", "norm", norm);
    if (numel(norm.shape) !== 1)
      throw new ShapeError(`grad_clip: norm must have 1 element, got ${fmt(norm.shape)}`);
    needFinite("grad_clip", "maxNorm", a.maxNorm, 0);
    needFinite("grad_clip", "eps", a.eps, 0);
    if (a.maxNorm <= 0) throw new RangeError(`grad_clip: maxNorm must be > 0, got ${a.maxNorm}`);
    return [];
  },
});

export interface LossScaleAttrs {
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
  minScale: number;
  maxScale: number;
  /**
   * What the partials hold: "nonfinite" counts of NaN/Inf elements (overflow when the sum is not
   * 0), or "sumsq" partial sums of squares (overflow when their sum is not finite; a gradient
   * element beyond ~1.8e19 then counts as overflowed too). Default "nonfinite".
   */
  stats?: "nonfinite" | "sumsq";
}

/**
 * The dynamic loss scaler's state machine, in place: inputs [scale [1], ctrl [4], partials].
 * found = the partials (see `stats`) show a non-finite gradient element;
 * ctrl[0] = 1/scale (the scale these gradients carry), ctrl[1] = found;
 * found: scale = max(minScale, scale·backoff), good = 0;
 * else good += 1 and, after growthInterval good steps, scale = min(maxScale, scale·growth), good = 0.
 */
export const lossScaleUpdateOp = defineOp<LossScaleAttrs>({
  name: "loss_scale_update",
  inplace: [0, 1],
  infer([scale, ctrl, partials], a) {
    needF32("loss_scale_update", "scale", scale);
    if (numel(scale.shape) !== 1)
      throw new ShapeError(`loss_scale_update: scale must have 1 element, got ${fmt(scale.shape)}`);
    needF32("loss_scale_update", "control tensor", ctrl);
    if (numel(ctrl.shape) < CTRL_SIZE) {
      throw new ShapeError(
        `loss_scale_update: control tensor needs ${CTRL_SIZE} elements, got ${fmt(ctrl.shape)}`,
      );
    }
    needF32("loss_scale_update", "partials", partials);
    needFinite("loss_scale_update", "growthFactor", a.growthFactor, 1);
    needFinite("loss_scale_update", "backoffFactor", a.backoffFactor, 1e-6, 1);
    needFinite("loss_scale_update", "growthInterval", a.growthInterval, 1);
    needFinite("loss_scale_update", "minScale", a.minScale, 1e-30);
    needFinite("loss_scale_update", "maxScale", a.maxScale, a.minScale);
    if (a.stats !== undefined && a.stats !== "nonfinite" && a.stats !== "sumsq")
      throw new RangeError(
        `loss_scale_update: stats must be "nonfinite" or "sumsq", got "${a.stats}"`,
      );
    return [];
  },
});

export interface EmaAttrs {
  decay: number;
}

/** ema = decay·ema + (1−decay)·param, in place: inputs [ema, param]. */
export const emaUpdateOp = defineOp<EmaAttrs>({
  name: "ema_update",
  inplace: [0],
  infer([ema, param], a) {
    if (!isFloat(ema.dtype) || ema.dtype !== param.dtype) {
      throw new DTypeError(
        `ema_update: ema ${ema.dtype} ${fmt(ema.shape)} and param ${param.dtype} ${fmt(param.shape)} must be the same float dtype`,
      );
    }
    needSame("ema_update", "ema", ema, param, "param");
    needFinite("ema_update", "decay", a.decay, 0, 1);
    return [];
  },
});

export const optimOps: readonly OpDef<never>[] = [
  adamwOp,
  stepCountOp,
  gradStatsOp,
  gradNormOp,
  gradClipOp,
  lossScaleUpdateOp,
  emaUpdateOp,
] as OpDef<never>[];

/** Written tensors may not share memory with a tensor the same kernel reads. */
function noAlias(op: string, written: Tensor[], read: Tensor[]): void {
  for (const w of written) {
    for (const r of read) {
      if (w.ref === r.ref)
        throw new DeviceError(`${op}: ${w} is both read and written (they share memory)`);
    }
  }
}

/**
 * Encodes one in-place AdamW update of `param` (see adamwOp); with `norm` (and attrs.clipNorm)
 * the gradient is clipped by that global norm inside the same kernel.
 */
export function adamwUpdate(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  ctrl: Tensor,
  count: Tensor,
  attrs: AdamWAttrs,
  norm?: Tensor,
): void {
  const read = norm ? [grad, ctrl, count, norm] : [grad, ctrl, count];
  noAlias("adamw", [param, m, v], read);
  if (param.ref === m.ref || param.ref === v.ref || m.ref === v.ref)
    throw new DeviceError("adamw: param, first and second moment must be distinct tensors");
  if (norm && attrs.clipNorm === undefined)
    throw new RangeError("adamw: a gradient norm was given without clipNorm");
  const full = norm ? { ...attrs, clipEps: attrs.clipEps ?? 1e-6 } : attrs;
  runOp(adamwOp, [param, grad, m, v, ctrl, count, ...(norm ? [norm] : [])], full);
}

/** count += 1 unless the control tensor's skip flag is set. */
export function stepCount(count: Tensor, ctrl: Tensor): void {
  noAlias("step_count", [count], [ctrl]);
  runOp(stepCountOp, [count, ctrl], {});
}

/** Writes `g`'s partial statistics into partials[slot·parts ..]. */
export function gradStats(partials: Tensor, g: Tensor, attrs: GradStatsAttrs): void {
  noAlias("grad_stats", [partials], [g]);
  runOp(gradStatsOp, [partials, g], attrs);
}

/** √(Σ partials), times ctrl[0] when a control tensor is given; a new f32 scalar tensor. */
export function gradNorm(partials: Tensor, ctrl?: Tensor): Tensor {
  return run1(gradNormOp, ctrl ? [partials, ctrl] : [partials], {});
}

/** Scales `g` in place by min(1, maxNorm / (norm + eps)). */
export function gradClip(g: Tensor, norm: Tensor, maxNorm: number, eps: number): void {
  noAlias("grad_clip", [g], [norm]);
  runOp(gradClipOp, [g, norm], { maxNorm, eps });
}

/** Advances the loss scaler's state (see lossScaleUpdateOp). */
export function lossScaleUpdate(
  scale: Tensor,
  ctrl: Tensor,
  partials: Tensor,
  attrs: LossScaleAttrs,
): void {
  noAlias("loss_scale_update", [scale, ctrl], [partials]);
  if (scale.ref === ctrl.ref)
    throw new DeviceError("loss_scale_update: scale and control must be distinct tensors");
  runOp(lossScaleUpdateOp, [scale, ctrl, partials], attrs);
}

/** ema ← decay·ema + (1−decay)·param, in place. */
export function emaUpdate(ema: Tensor, param: Tensor, decay: number): void {
  noAlias("ema_update", [ema], [param]);
  runOp(emaUpdateOp, [ema, param], { decay });
}
