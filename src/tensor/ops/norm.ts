/**
 * Normalisation ops: layer norm and RMS norm over the last axis, group norm over
 * [N, C, ...spatial], and adaLN modulation x·(1+scale)+shift. Each normalisation's forward kernel
 * also writes its row statistics (mean and/or rstd, always f32) so that its dedicated fused
 * backward op can compute dx, dgamma and dbeta without recomputing the reductions.
 */

import { isFloat } from "../dtype.ts";
import { run1, runOp } from "../engine.ts";
import { DeviceError, DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type Meta, type OpDef } from "../op.ts";
import { fmt, numel, type Shape, sameShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

/** Attributes shared by the three normalisations (layer and RMS norm use groups = 1). */
export interface NormAttrs {
  eps: number;
  /** Group norm only: number of channel groups. */
  groups?: number;
  /** Which optional affine operands follow x in the input list (gamma, then beta). */
  hasGamma: boolean;
  hasBeta: boolean;
}

/** Attributes of the fused backward ops. */
export interface NormBackwardAttrs extends NormAttrs {
  /** Whether dgamma/dbeta are wanted: when false only dx is computed and output. */
  paramGrads: boolean;
}

export type NormKind = "layer" | "rms" | "group";

/**
 * How a normalisation sees x: a [N, C, S] array whose statistics are taken over each of the
 * N·G contiguous blocks of (C/G)·S elements, with one affine parameter per channel c. Layer and
 * RMS norm are N = rows, C = D, S = 1, G = 1; group norm is N, C, ∏spatial, groups.
 */
export interface NormLayout {
  n: number;
  c: number;
  s: number;
  g: number;
  /** Number of statistics rows (N·G) and their length ((C/G)·S). */
  rows: number;
  len: number;
}

export function normLayout(kind: NormKind, shape: Shape, groups = 1): NormLayout {
  if (kind === "group") {
    const n = shape[0];
    const c = shape[1];
    const s = numel(shape.slice(2));
    return { n, c, s, g: groups, rows: n * groups, len: groups > 0 ? (c / groups) * s : 0 };
  }
  const c = shape[shape.length - 1];
  const n = c > 0 ? numel(shape) / c : numel(shape.slice(0, -1));
  return { n, c, s: 1, g: 1, rows: n, len: c };
}

const OP_NAME: Record<NormKind, string> = {
  layer: "layernorm",
  rms: "rmsnorm",
  group: "groupnorm",
};

function checkEps(op: string, eps: number): void {
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps < 0)
    throw new ShapeError(`${op}: eps must be a finite number ≥ 0, got ${eps}`);
}

function checkFloat(op: string, what: string, m: Meta): void {
  if (!isFloat(m.dtype))
    throw new DTypeError(`${op}: ${what} must be a float tensor, got ${m.dtype} ${fmt(m.shape)}`);
}

/** Shape of the statistics outputs: x without its last axis, or [N, G] for group norm. */
function statsShape(kind: NormKind, x: Shape, groups: number): number[] {
  return kind === "group" ? [x[0], groups] : x.slice(0, -1);
}

/** The affine parameters' shape: [D] for layer/RMS norm, [C] for group norm. */
function paramShape(kind: NormKind, x: Shape): number[] {
  return kind === "group" ? [x[1]] : [x[x.length - 1]];
}

/** Validates x, the group count and the optional gamma/beta; returns x's meta. */
function checkNormOperands(kind: NormKind, inputs: Meta[], a: NormAttrs): Meta {
  const op = OP_NAME[kind];
  const x = inputs[0];
  checkFloat(op, "x", x);
  checkEps(op, a.eps);
  if (kind === "group") {
    if (x.shape.length < 2)
      throw new ShapeError(`${op}: x must be [N, C, ...spatial], got ${fmt(x.shape)}`);
    const g = a.groups ?? 0;
    if (!Number.isInteger(g) || g < 1)
      throw new ShapeError(`${op}: groups must be a positive integer, got ${a.groups}`);
    if (x.shape[1] % g !== 0)
      throw new ShapeError(
        `${op}: ${x.shape[1]} channels of x ${fmt(x.shape)} do not split into ${g} groups`,
      );
  } else if (x.shape.length < 1) {
    throw new ShapeError(`${op}: x must have at least one axis, got a scalar ${fmt(x.shape)}`);
  }
  const want = paramShape(kind, x.shape);
  let i = 1;
  for (const [has, what] of [
    [a.hasGamma, "gamma"],
    [a.hasBeta, "beta"],
  ] as const) {
    if (!has) continue;
    const p = inputs[i++];
    if (!p) throw new ShapeError(`${op}: ${what} is missing from the inputs`);
    if (!sameShape(p.shape, want))
      throw new ShapeError(
        `${op}: ${what} ${fmt(p.shape)} does not match x ${fmt(x.shape)} (expected ${fmt(want)})`,
      );
    if (p.dtype !== x.dtype)
      throw new DTypeError(
        `${op}: dtypes differ: x ${x.dtype} ${fmt(x.shape)} and ${what} ${p.dtype} ${fmt(p.shape)}`,
      );
  }
  if (inputs.length !== i)
    throw new ShapeError(`${op}: expected ${i} inputs, got ${inputs.length}`);
  return x;
}

function forwardInfer(kind: NormKind) {
  return (inputs: Meta[], a: NormAttrs): Meta[] => {
    const x = checkNormOperands(kind, inputs, a);
    const stats = statsShape(kind, x.shape, a.groups ?? 1);
    const out: Meta[] = [{ shape: x.shape, dtype: x.dtype }];
    if (kind !== "rms") out.push({ shape: stats, dtype: "f32" });
    out.push({ shape: stats, dtype: "f32" });
    return out;
  };
}

/**
 * Backward inputs: x, gamma (if hasGamma), the saved statistics (mean unless RMS norm, rstd), dy.
 * Outputs: dx, then dgamma and dbeta for those affine operands present when paramGrads is set.
 */
function backwardInfer(kind: NormKind) {
  const op = `${OP_NAME[kind]}_backward`;
  return (inputs: Meta[], a: NormBackwardAttrs): Meta[] => {
    const nStats = kind === "rms" ? 1 : 2;
    const nGamma = a.hasGamma ? 1 : 0;
    if (inputs.length !== 2 + nGamma + nStats)
      throw new ShapeError(`${op}: expected ${2 + nGamma + nStats} inputs, got ${inputs.length}`);
    const x = checkNormOperands(kind, inputs.slice(0, 1 + nGamma), { ...a, hasBeta: false });
    const want = statsShape(kind, x.shape, a.groups ?? 1);
    for (const s of inputs.slice(1 + nGamma, 1 + nGamma + nStats)) {
      if (s.dtype !== "f32" || !sameShape(s.shape, want))
        throw new ShapeError(
          `${op}: statistics must be f32 ${fmt(want)} for x ${fmt(x.shape)}, got ${s.dtype} ${fmt(s.shape)}`,
        );
    }
    const dy = inputs[inputs.length - 1];
    if (!sameShape(dy.shape, x.shape) || dy.dtype !== x.dtype)
      throw new ShapeError(
        `${op}: dy ${dy.dtype} ${fmt(dy.shape)} does not match x ${x.dtype} ${fmt(x.shape)}`,
      );
    const out: Meta[] = [{ shape: x.shape, dtype: x.dtype }];
    const ps = paramShape(kind, x.shape);
    if (a.paramGrads && a.hasGamma) out.push({ shape: ps, dtype: x.dtype });
    if (a.paramGrads && a.hasBeta) out.push({ shape: ps, dtype: x.dtype });
    return out;
  };
}

function makeBackwardOp(kind: NormKind): OpDef<NormBackwardAttrs> {
  return defineOp<NormBackwardAttrs>({
    name: `${OP_NAME[kind]}_backward`,
    infer: backwardInfer(kind),
  });
}

export const layerNormBackwardOp = makeBackwardOp("layer");
export const rmsNormBackwardOp = makeBackwardOp("rms");
export const groupNormBackwardOp = makeBackwardOp("group");

const BACKWARD_OP: Record<NormKind, OpDef<NormBackwardAttrs>> = {
  layer: layerNormBackwardOp,
  rms: rmsNormBackwardOp,
  group: groupNormBackwardOp,
};

function makeForwardOp(kind: NormKind): OpDef<NormAttrs> {
  return defineOp<NormAttrs>({
    name: OP_NAME[kind],
    infer: forwardInfer(kind),
    backward({ inputs, outputs, grads, attrs, needs }) {
      const none = inputs.map(() => undefined);
      if (grads.slice(1).some(Boolean))
        throw new DeviceError(
          `${OP_NAME[kind]}: the saved statistics (mean, rstd) are not differentiable; use only y in a loss`,
        );
      const dy = grads[0];
      if (!dy) return none;
      const x = inputs[0];
      const gamma = attrs.hasGamma ? [inputs[1]] : [];
      const stats = outputs.slice(1);
      const paramGrads = needs.slice(1).some(Boolean);
      const res = runOp(BACKWARD_OP[kind], [x, ...gamma, ...stats, dy], { ...attrs, paramGrads });
      return paramGrads ? res : [res[0], ...none.slice(1)];
    },
  });
}

export const layerNormOp = makeForwardOp("layer");
export const rmsNormOp = makeForwardOp("rms");
export const groupNormOp = makeForwardOp("group");

function affineInputs(gamma?: Tensor, beta?: Tensor): Tensor[] {
  return [...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
}

/** Layer norm over the last axis: (x − mean)·rstd·gamma + beta, statistics in f32. */
export function layerNorm(x: Tensor, gamma?: Tensor, beta?: Tensor, eps = 1e-5): Tensor {
  return runOp(layerNormOp, [x, ...affineInputs(gamma, beta)], {
    eps,
    hasGamma: !!gamma,
    hasBeta: !!beta,
  })[0];
}

/** RMS norm over the last axis: x·rsqrt(mean(x²) + eps)·gamma. */
export function rmsNorm(x: Tensor, gamma?: Tensor, eps = 1e-6): Tensor {
  return runOp(rmsNormOp, [x, ...affineInputs(gamma)], {
    eps,
    hasGamma: !!gamma,
    hasBeta: false,
  })[0];
}

/**
 * Group norm of x [N, C, ...spatial]: statistics over each group of C/groups channels and all
 * spatial positions, then a per-channel affine (gamma, beta [C]).
 */
export function groupNorm(
  x: Tensor,
  groups: number,
  gamma?: Tensor,
  beta?: Tensor,
  eps = 1e-5,
): Tensor {
  return runOp(groupNormOp, [x, ...affineInputs(gamma, beta)], {
    eps,
    groups,
    hasGamma: !!gamma,
    hasBeta: !!beta,
  })[0];
}

// ---------------------------------------------------------------------------------------------
// adaLN modulation

function checkModulate(op: string, x: Meta, a: Meta, b: Meta, names: [string, string]): void {
  if (x.shape.length !== 3) throw new ShapeError(`${op}: x must be [B, T, D], got ${fmt(x.shape)}`);
  checkFloat(op, "x", x);
  const want = [x.shape[0], x.shape[2]];
  for (const [m, name] of [
    [a, names[0]],
    [b, names[1]],
  ] as const) {
    if (!sameShape(m.shape, want))
      throw new ShapeError(
        `${op}: ${name} ${fmt(m.shape)} does not match x ${fmt(x.shape)} (expected ${fmt(want)})`,
      );
    if (m.dtype !== x.dtype)
      throw new DTypeError(
        `${op}: dtypes differ: x ${x.dtype} ${fmt(x.shape)} and ${name} ${m.dtype} ${fmt(m.shape)}`,
      );
  }
}

/** Backward of modulate: inputs x, scale, dy; outputs dx, dshift, dscale (sums over T). */
export const modulateBackwardOp = defineOp<Record<string, never>>({
  name: "modulate_backward",
  infer([x, scale, dy]) {
    checkModulate("modulate_backward", x, scale, scale, ["scale", "scale"]);
    if (!sameShape(dy.shape, x.shape) || dy.dtype !== x.dtype)
      throw new ShapeError(
        `modulate_backward: dy ${dy.dtype} ${fmt(dy.shape)} does not match x ${x.dtype} ${fmt(x.shape)}`,
      );
    const bd = [x.shape[0], x.shape[2]];
    return [
      { shape: x.shape, dtype: x.dtype },
      { shape: bd, dtype: x.dtype },
      { shape: bd, dtype: x.dtype },
    ];
  },
});

/** adaLN modulation of x [B, T, D] by shift, scale [B, D]: x·(1 + scale) + shift, over all T. */
export const modulateOp = defineOp<Record<string, never>>({
  name: "modulate",
  infer([x, shift, scale]) {
    checkModulate("modulate", x, shift, scale, ["shift", "scale"]);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  backward({ inputs: [x, , scale], grads: [dy] }) {
    if (!dy) return [undefined, undefined, undefined];
    const [dx, dshift, dscale] = runOp(modulateBackwardOp, [x, scale, dy], {});
    return [dx, dshift, dscale];
  },
});

export function modulate(x: Tensor, shift: Tensor, scale: Tensor): Tensor {
  return run1(modulateOp, [x, shift, scale], {});
}

export const normOps: readonly OpDef<never>[] = [
  layerNormOp,
  layerNormBackwardOp,
  rmsNormOp,
  rmsNormBackwardOp,
  groupNormOp,
  groupNormBackwardOp,
  modulateOp,
  modulateBackwardOp,
];
