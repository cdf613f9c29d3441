/**
 * The attention family: softmax over the last axis, fused flash-style attention (forward and a
 * dedicated backward op; the T×T score matrix is never stored) and 3-D rotary position
 * embedding over (t, h, w) token grids.
 */

import { isFloat } from "../dtype.ts";
import { run1, runOp } from "../engine.ts";
import { DeviceError, DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type Meta, type OpDef } from "../op.ts";
import { fmt, sameShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

function checkFloat(op: string, what: string, m: Meta): void {
  if (!isFloat(m.dtype))
    throw new DTypeError(`${op}: ${what} must be a float tensor, got ${m.dtype} ${fmt(m.shape)}`);
}

// ---------------------------------------------------------------------------------------------
// softmax

/** Backward of softmax over the last axis: inputs y, dy; output dx = y·(dy − Σ dy·y). */
export const softmaxBackwardOp = defineOp<Record<string, never>>({
  name: "softmax_backward",
  infer([y, dy]) {
    checkFloat("softmax_backward", "y", y);
    if (!sameShape(y.shape, dy.shape) || y.dtype !== dy.dtype)
      throw new ShapeError(
        `softmax_backward: dy ${dy.dtype} ${fmt(dy.shape)} does not match y ${y.dtype} ${fmt(y.shape)}`,
      );
    return [{ shape: y.shape, dtype: y.dtype }];
  },
});

/** Numerically stable softmax over the last axis (the row maximum is subtracted first). */
export const softmaxOp = defineOp<Record<string, never>>({
  name: "softmax",
  infer([x]) {
    checkFloat("softmax", "x", x);
    if (x.shape.length < 1)
      throw new ShapeError(`softmax: x must have at least one axis, got a scalar ${fmt(x.shape)}`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  backward({ outputs: [y], grads: [dy] }) {
    return [dy ? run1(softmaxBackwardOp, [y, dy], {}) : undefined];
  },
});

export function softmax(x: Tensor): Tensor {
  return run1(softmaxOp, [x], {});
}

// ---------------------------------------------------------------------------------------------
// attention

/** The largest head dimension the attention kernels take. */
export const MAX_HEAD_DIM = 128;

export interface AttentionOptions {
  /**
   * Causal masking, aligned to the end of the keys: query i sees keys j ≤ i + (Tk − Tq), so
   * Tq = Tk is the usual lower triangle and a single query sees every key (decoding with a
   * cache). Needs Tq ≤ Tk, so that every query sees at least one key.
   */
  causal?: boolean;
  /** Multiplies q·k before the softmax; default 1/√Dh. */
  scale?: number;
}

export interface AttentionAttrs {
  causal: boolean;
  scale: number;
}

/** Checks q [B, H, Tq, Dh], k and v [B, H, Tk, Dh]; returns [B, H, Tq, Tk, Dh]. */
function checkQkv(op: string, q: Meta, k: Meta, v: Meta, a: AttentionAttrs): number[] {
  for (const [m, what] of [
    [q, "q"],
    [k, "k"],
    [v, "v"],
  ] as const) {
    if (m.shape.length !== 4)
      throw new ShapeError(`${op}: ${what} must be [B, H, T, Dh], got ${fmt(m.shape)}`);
    checkFloat(op, what, m);
  }
  if (k.dtype !== q.dtype || v.dtype !== q.dtype)
    throw new DTypeError(
      `${op}: dtypes differ: q ${q.dtype} ${fmt(q.shape)}, k ${k.dtype} ${fmt(k.shape)}, v ${v.dtype} ${fmt(v.shape)}`,
    );
  const [b, h, tq, dh] = q.shape;
  if (!sameShape(k.shape, v.shape))
    throw new ShapeError(`${op}: k ${fmt(k.shape)} and v ${fmt(v.shape)} differ`);
  if (k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== dh)
    throw new ShapeError(
      `${op}: q ${fmt(q.shape)} and k ${fmt(k.shape)} differ in batch, heads or head dimension`,
    );
  const tk = k.shape[2];
  if (dh < 1 || dh > MAX_HEAD_DIM)
    throw new ShapeError(
      `${op}: head dimension ${dh} of q ${fmt(q.shape)} is outside 1..${MAX_HEAD_DIM}`,
    );
  if (tk < 1) throw new ShapeError(`${op}: k ${fmt(k.shape)} has no keys`);
  if (a.causal && tq > tk)
    throw new ShapeError(
      `${op}: causal attention needs Tq ≤ Tk (queries align to the last keys), got q ${fmt(q.shape)} and k ${fmt(k.shape)}`,
    );
  if (typeof a.scale !== "number" || !Number.isFinite(a.scale))
    throw new ShapeError(`${op}: scale must be a finite number, got ${a.scale}`);
  return [b, h, tq, tk, dh];
}

/**
 * Backward of attention. Inputs q, k, v, o, lse (the forward's f32 row logsumexp [B, H, Tq]),
 * dO; outputs dq, dk, dv. Kernels first form D = rowsum(dO∘O), then rebuild each score tile from
 * q, k and lse, never holding more than a tile of scores.
 */
export const attentionBackwardOp = defineOp<AttentionAttrs>({
  name: "attention_backward",
  infer([q, k, v, o, lse, dO], a) {
    const [b, h, tq] = checkQkv("attention_backward", q, k, v, a);
    for (const [m, what] of [
      [o, "o"],
      [dO, "dO"],
    ] as const) {
      if (!sameShape(m.shape, q.shape) || m.dtype !== q.dtype)
        throw new ShapeError(
          `attention_backward: ${what} ${m.dtype} ${fmt(m.shape)} does not match q ${q.dtype} ${fmt(q.shape)}`,
        );
    }
    if (lse.dtype !== "f32" || !sameShape(lse.shape, [b, h, tq]))
      throw new ShapeError(
        `attention_backward: lse must be f32 ${fmt([b, h, tq])} for q ${fmt(q.shape)}, got ${lse.dtype} ${fmt(lse.shape)}`,
      );
    return [
      { shape: q.shape, dtype: q.dtype },
      { shape: k.shape, dtype: k.dtype },
      { shape: v.shape, dtype: v.dtype },
    ];
  },
});

/**
 * softmax(scale·q·kᵀ [+ causal mask])·v per batch and head. Outputs O [B, H, Tq, Dh] and the
 * row logsumexp [B, H, Tq] (f32), which the backward op reuses; nothing of size Tq×Tk is
 * allocated.
 */
export const attentionOp = defineOp<AttentionAttrs>({
  name: "attention",
  infer([q, k, v], a) {
    const [b, h, tq] = checkQkv("attention", q, k, v, a);
    return [
      { shape: q.shape, dtype: q.dtype },
      { shape: [b, h, tq], dtype: "f32" },
    ];
  },
  backward({ inputs: [q, k, v], outputs: [o, lse], grads: [dO, dLse], attrs }) {
    if (dLse)
      throw new DeviceError(
        "attention: the logsumexp output is not differentiable; use only the first output in a loss",
      );
    if (!dO) return [undefined, undefined, undefined];
    const [dq, dk, dv] = runOp(attentionBackwardOp, [q, k, v, o, lse, dO], attrs);
    return [dq, dk, dv];
  },
});

function attentionAttrs(q: Tensor, opts: AttentionOptions): AttentionAttrs {
  const dh = q.shape[q.shape.length - 1] ?? 1;
  return { causal: opts.causal ?? false, scale: opts.scale ?? 1 / Math.sqrt(dh) };
}

/**
 * Scaled dot-product attention of q [B, H, Tq, Dh] over k, v [B, H, Tk, Dh] → [B, H, Tq, Dh].
 * Memory is linear in T: scores are formed tile by tile in workgroup memory.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  return runOp(attentionOp, [q, k, v], attentionAttrs(q, opts))[0];
}

/** attention() that also returns the f32 row logsumexp [B, H, Tq] (not differentiable). */
export function attentionWithLse(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions = {},
): { out: Tensor; lse: Tensor } {
  const [out, lse] = runOp(attentionOp, [q, k, v], attentionAttrs(q, opts));
  return { out, lse };
}

// ---------------------------------------------------------------------------------------------
// 3-D rotary position embedding

export interface Rope3dOptions {
  /** Token grid (gt, gh, gw); T = gt·gh·gw tokens in row-major (t, h, w) order. */
  grid: [number, number, number];
  /**
   * Channels of Dh given to t, h and w (each even, summing to Dh); default
   * `defaultRopeSections(Dh)`, e.g. 64 → [20, 22, 22]. For a plain 1-D sequence use grid
   * [T, 1, 1] with sections [Dh, 0, 0] (with the default sections the h and w channels sit at
   * position 0, which leaves them unrotated).
   */
  sections?: [number, number, number];
  /** Frequency base; pair i of a section of size n turns by pos·theta^(−2i/n). Default 10000. */
  theta?: number;
}

export interface Rope3dAttrs {
  grid: [number, number, number];
  sections: [number, number, number];
  theta: number;
  /** Rotate by the negative angle (the backward, and the inverse of the forward). */
  inverse: boolean;
}

/**
 * Default split of Dh channels over (t, h, w): Dh/2 rotation pairs divided into three near-equal
 * parts, with any remainder pairs going first to h, then to w. 64 → [20, 22, 22],
 * 96 → [32, 32, 32], 128 → [42, 44, 42], 16 → [4, 6, 6].
 */
export function defaultRopeSections(dh: number): [number, number, number] {
  if (!Number.isInteger(dh) || dh < 0 || dh % 2 !== 0)
    throw new ShapeError(`rope3d: head dimension must be even, got ${dh}`);
  const pairs = dh / 2;
  const base = Math.floor(pairs / 3);
  const rest = pairs - 3 * base;
  return [2 * base, 2 * (base + (rest >= 1 ? 1 : 0)), 2 * (base + (rest >= 2 ? 1 : 0))];
}

/** Angular frequency of rotation pair i (0-based) in a rope section of `section` channels. */
export function ropeFrequency(i: number, section: number, theta: number): number {
  return theta ** ((-2 * i) / section);
}

/** Rotary embedding of x [..., T, Dh] (usually [B, H, T, Dh]) at 3-D token positions. */
export const rope3dOp: OpDef<Rope3dAttrs> = defineOp<Rope3dAttrs>({
  name: "rope3d",
  infer([x], a) {
    checkFloat("rope3d", "x", x);
    if (x.shape.length < 2)
      throw new ShapeError(`rope3d: x must be [B, H, T, Dh], got ${fmt(x.shape)}`);
    const t = x.shape[x.shape.length - 2];
    const dh = x.shape[x.shape.length - 1];
    const g = a.grid;
    if (!Array.isArray(g) || g.length !== 3 || !g.every((d) => Number.isInteger(d) && d >= 1))
      throw new ShapeError(`rope3d: grid must be three positive integers, got [${g}]`);
    if (g[0] * g[1] * g[2] !== t)
      throw new ShapeError(
        `rope3d: grid [${g.join(", ")}] has ${g[0] * g[1] * g[2]} tokens but x ${fmt(x.shape)} has T = ${t}`,
      );
    const s = a.sections;
    if (!Array.isArray(s) || s.length !== 3 || !s.every((d) => Number.isInteger(d) && d >= 0))
      throw new ShapeError(`rope3d: sections must be three non-negative integers, got [${s}]`);
    if (s.some((d) => d % 2 !== 0) || s[0] + s[1] + s[2] !== dh)
      throw new ShapeError(
        `rope3d: sections [${s.join(", ")}] must be even and sum to Dh = ${dh} of x ${fmt(x.shape)}`,
      );
    if (typeof a.theta !== "number" || !Number.isFinite(a.theta) || a.theta <= 0)
      throw new ShapeError(`rope3d: theta must be a positive number, got ${a.theta}`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  backward({ grads: [g], attrs }) {
    return [g ? run1(rope3dOp, [g], { ...attrs, inverse: !attrs.inverse }) : undefined];
  },
});

export function rope3d(x: Tensor, opts: Rope3dOptions): Tensor {
  if (!opts?.grid) throw new ShapeError("rope3d: opts.grid is required");
  const dh = x.shape[x.shape.length - 1] ?? 0;
  if (!opts.sections && dh % 2 !== 0)
    throw new ShapeError(`rope3d: head dimension ${dh} of x ${fmt(x.shape)} must be even`);
  return run1(rope3dOp, [x], {
    grid: opts.grid,
    sections: opts.sections ?? defaultRopeSections(dh),
    theta: opts.theta ?? 10000,
    inverse: false,
  });
}

export const attentionOps: readonly OpDef<never>[] = [
  softmaxOp,
  softmaxBackwardOp,
  attentionOp,
  attentionBackwardOp,
  rope3dOp,
];
