/**
 * Shape ops: reshape, the free view (no kernel, no copy); the ops that move data — permute,
 * concat, slice and pad (each with a kernel) — and `assign` (an
 * in-place copy into an existing tensor, e.g. loading weights into parameters), and the user
 * functions built on them (transpose, sliceAxis, split, stack, copy). The gradient of slice is
 * pad and vice versa; the gradient of concat is slices; the gradient of permute is the inverse
 * permutation.
 */

import { isFloat } from "../dtype.ts";
import { run1, runOp } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type Meta, type OpDef } from "../op.ts";
import { checkShape, fmt, normAxis, numel, type Shape, sameShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

export interface PermuteAttrs {
  /** Output axis i is input axis perm[i]. */
  perm: number[];
}

export interface ConcatAttrs {
  /** Non-negative axis along which the inputs are joined. */
  axis: number;
}

export interface SliceAttrs {
  /** Per dimension, normalised: 0 ≤ starts[d] ≤ ends[d] ≤ shape[d]. */
  starts: number[];
  ends: number[];
}

export interface PadAttrs {
  /** Elements added before and after each dimension (non-negative integers). */
  before: number[];
  after: number[];
  value: number;
}

function checkPermutation(perm: readonly number[], x: Meta): void {
  const ok =
    Array.isArray(perm) &&
    perm.length === x.shape.length &&
    perm.every((p) => Number.isInteger(p) && p >= 0 && p < perm.length) &&
    new Set(perm).size === perm.length;
  if (!ok) {
    throw new ShapeError(
      `permute: [${Array.isArray(perm) ? perm.join(", ") : String(perm)}] is not a permutation of the ${x.shape.length} axes of ${fmt(x.shape)}`,
    );
  }
}

export function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

export const permuteOp = defineOp<PermuteAttrs>({
  name: "permute",
  infer([x], a) {
    checkPermutation(a.perm, x);
    return [{ shape: a.perm.map((p) => x.shape[p]), dtype: x.dtype }];
  },
  backward({ grads: [g], attrs: a }) {
    return [g ? permute(g, inversePermutation(a.perm)) : undefined];
  },
});

export const concatOp = defineOp<ConcatAttrs>({
  name: "concat",
  infer(xs, a) {
    const first = xs[0];
    const rank = first.shape.length;
    if (!Number.isInteger(a.axis) || a.axis < 0 || a.axis >= rank) {
      throw new ShapeError(`concat: axis ${a.axis} is out of range for shape ${fmt(first.shape)}`);
    }
    let along = 0;
    for (const x of xs) {
      if (x.dtype !== first.dtype) {
        throw new DTypeError(
          `concat: dtypes differ: ${first.dtype} ${fmt(first.shape)} and ${x.dtype} ${fmt(x.shape)}`,
        );
      }
      const fits =
        x.shape.length === rank && x.shape.every((d, i) => i === a.axis || d === first.shape[i]);
      if (!fits) {
        throw new ShapeError(
          `concat: shapes ${fmt(first.shape)} and ${fmt(x.shape)} differ outside axis ${a.axis}`,
        );
      }
      along += x.shape[a.axis];
    }
    const shape = [...first.shape];
    shape[a.axis] = along;
    return [{ shape, dtype: first.dtype }];
  },
  backward({ inputs, grads: [g], attrs: a, needs }) {
    if (!g) return inputs.map(() => undefined);
    let offset = 0;
    return inputs.map((x, i) => {
      const start = offset;
      offset += x.shape[a.axis];
      return needs[i] ? sliceAxis(g, a.axis, start, offset) : undefined;
    });
  },
});

function checkRanges(op: string, x: Meta, what: string, lists: number[][]): void {
  for (const list of lists) {
    if (!Array.isArray(list) || list.length !== x.shape.length) {
      throw new ShapeError(
        `${op}: ${what} must have one entry per dimension of ${fmt(x.shape)}, got [${Array.isArray(list) ? list.join(", ") : String(list)}]`,
      );
    }
  }
}

export const sliceOp = defineOp<SliceAttrs>({
  name: "slice",
  infer([x], a) {
    checkRanges("slice", x, "starts and ends", [a.starts, a.ends]);
    const shape = x.shape.map((d, i) => {
      const s = a.starts[i];
      const e = a.ends[i];
      if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || s > e || e > d) {
        throw new ShapeError(
          `slice: range [${a.starts.join(", ")}] to [${a.ends.join(", ")}] does not fit shape ${fmt(x.shape)} at dim ${i}`,
        );
      }
      return e - s;
    });
    return [{ shape, dtype: x.dtype }];
  },
  backward({ inputs: [x], grads: [g], attrs: a }) {
    if (!g) return [undefined];
    return [
      pad(
        g,
        a.starts,
        a.ends.map((e, i) => x.shape[i] - e),
      ),
    ];
  },
});

export const padOp = defineOp<PadAttrs>({
  name: "pad",
  infer([x], a) {
    checkRanges("pad", x, "before and after", [a.before, a.after]);
    for (const p of [...a.before, ...a.after]) {
      if (!Number.isInteger(p) || p < 0) {
        throw new ShapeError(
          `pad: padding must be non-negative integers, got before [${a.before.join(", ")}] and after [${a.after.join(", ")}] for ${fmt(x.shape)}`,
        );
      }
    }
    if (typeof a.value !== "number")
      throw new ShapeError(`pad: value must be a number, got ${String(a.value)}`);
    if (x.dtype === "i32" && !Number.isInteger(a.value))
      throw new DTypeError(`pad: an i32 tensor cannot be padded with ${a.value}`);
    return [{ shape: x.shape.map((d, i) => a.before[i] + d + a.after[i]), dtype: x.dtype }];
  },
  backward({ inputs: [x], grads: [g], attrs: a }) {
    if (!g) return [undefined];
    return [
      slice(
        g,
        a.before,
        x.shape.map((d, i) => a.before[i] + d),
      ),
    ];
  },
});

/** dst = src (converted to dst's dtype), in place: inputs [dst, src] of the same shape. */
export const assignOp = defineOp<Record<string, never>>({
  name: "assign",
  inplace: [0],
  infer([dst, src]) {
    if (!sameShape(dst.shape, src.shape))
      throw new ShapeError(
        `assign: source ${fmt(src.shape)} does not match destination ${fmt(dst.shape)}`,
      );
    if (isFloat(dst.dtype) !== isFloat(src.dtype)) {
      throw new DTypeError(
        `assign: cannot copy ${src.dtype} ${fmt(src.shape)} into ${dst.dtype} ${fmt(dst.shape)}`,
      );
    }
    return [];
  },
});

export interface ReshapeAttrs {
  shape: Shape;
}

/** A view with another shape of the same size: no kernel, no copy. */
export const reshapeOp = defineOp<ReshapeAttrs>({
  name: "reshape",
  view: true,
  infer([x], a) {
    checkShape("reshape", a.shape);
    if (numel(a.shape) !== numel(x.shape)) {
      throw new ShapeError(
        `reshape: cannot view ${fmt(x.shape)} (${numel(x.shape)} elements) as ${fmt(a.shape)} (${numel(a.shape)} elements)`,
      );
    }
    return [{ shape: a.shape, dtype: x.dtype }];
  },
  backward({ inputs: [x], grads: [g] }) {
    return [g ? reshape(g, x.shape) : undefined];
  },
});

/** Reshape; one dimension may be -1 and is inferred. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const free = shape.indexOf(-1);
  let s = [...shape];
  if (free >= 0) {
    const known = shape.reduce((p, d, i) => (i === free ? p : p * d), 1);
    if (known === 0 || x.size % known !== 0)
      throw new ShapeError(`reshape: cannot infer -1 viewing ${fmt(x.shape)} as ${fmt(shape)}`);
    s = shape.map((d, i) => (i === free ? x.size / known : d));
  }
  if (s.length === x.rank && s.every((d, i) => d === x.shape[i])) return x;
  return run1(reshapeOp, [x], { shape: s });
}

export const shapeOps: readonly OpDef<never>[] = [
  reshapeOp,
  permuteOp,
  concatOp,
  sliceOp,
  padOp,
  assignOp,
] as OpDef<never>[];

/** Reorders axes: output axis i is input axis perm[i] (negative entries count from the end). */
export function permute(x: Tensor, perm: number[]): Tensor {
  if (!Array.isArray(perm) || perm.length !== x.rank) {
    throw new ShapeError(
      `permute: [${Array.isArray(perm) ? perm.join(", ") : String(perm)}] is not a permutation of the ${x.rank} axes of ${fmt(x.shape)}`,
    );
  }
  const p = perm.map((a) => (Number.isInteger(a) && a < 0 ? a + x.rank : a));
  if (p.every((a, i) => a === i)) {
    checkPermutation(p, x);
    return x;
  }
  return run1(permuteOp, [x], { perm: p });
}

/** Swaps two axes (negative axes count from the end). */
export function transpose(x: Tensor, a: number, b: number): Tensor {
  const i = normAxis("transpose", a, x.rank);
  const j = normAxis("transpose", b, x.rank);
  const perm = [...Array(x.rank).keys()];
  perm[i] = j;
  perm[j] = i;
  return permute(x, perm);
}

/** Joins tensors along an existing axis (negative counts from the end); any number of inputs. */
export function concat(xs: Tensor[], axis: number): Tensor {
  if (!Array.isArray(xs) || xs.length === 0)
    throw new ShapeError("concat: needs at least one tensor");
  const ax = normAxis("concat", axis, xs[0].rank);
  return run1(concatOp, xs, { axis: ax });
}

/** Python's rule for one slice bound: negative counts from the end, then clamp to [0, dim]. */
function clampBound(i: number, dim: number): number {
  const j = i < 0 ? i + dim : i;
  return Math.min(Math.max(j, 0), dim);
}

/**
 * Per-dimension half-open ranges [starts[d], ends[d]). Negative indices count from the end and
 * out-of-range bounds are clamped, as in Python; an end before its start gives an empty range.
 */
export function slice(x: Tensor, starts: number[], ends: number[]): Tensor {
  checkRanges("slice", x, "starts and ends", [starts, ends]);
  for (const v of [...starts, ...ends]) {
    if (!Number.isInteger(v))
      throw new ShapeError(
        `slice: bounds must be integers, got [${starts.join(", ")}] to [${ends.join(", ")}] for ${fmt(x.shape)}`,
      );
  }
  const s = x.shape.map((d, i) => clampBound(starts[i], d));
  const e = x.shape.map((d, i) => Math.max(s[i], clampBound(ends[i], d)));
  if (s.every((v) => v === 0) && e.every((v, i) => v === x.shape[i])) return x;
  return run1(sliceOp, [x], { starts: s, ends: e });
}

/** A range [start, end) of one axis (Python bounds, as in `slice`); end defaults to the axis length. */
export function sliceAxis(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const ax = normAxis("sliceAxis", axis, x.rank);
  const starts = x.shape.map(() => 0);
  const ends = [...x.shape];
  starts[ax] = start;
  ends[ax] = end ?? x.shape[ax];
  return slice(x, starts, ends);
}

/** Constant padding: `before[d]` and `after[d]` elements of `value` around each dimension. */
export function pad(x: Tensor, before: number[], after: number[], value = 0): Tensor {
  checkRanges("pad", x, "before and after", [before, after]);
  if ([...before, ...after].every((p) => p === 0)) return x;
  return run1(padOp, [x], { before: [...before], after: [...after], value });
}

/** Copies `src` into `dst` in place (converting between float dtypes). */
export function assign(dst: Tensor, src: Tensor): void {
  if (dst.ref === src.ref) return;
  runOp(assignOp, [dst, src], {});
}

/** A materialised copy in new memory (runs the slice kernel over the whole tensor). */
export function copy(x: Tensor): Tensor {
  return run1(sliceOp, [x], { starts: x.shape.map(() => 0), ends: [...x.shape] });
}

/** Cuts `x` along `axis` into consecutive pieces of the given sizes (which must add up to the axis). */
export function split(x: Tensor, sizes: number[], axis: number): Tensor[] {
  const ax = normAxis("split", axis, x.rank);
  const total = Array.isArray(sizes) ? sizes.reduce((p, s) => p + s, 0) : Number.NaN;
  if (
    !Array.isArray(sizes) ||
    sizes.length === 0 ||
    sizes.some((s) => !Number.isInteger(s) || s < 0) ||
    total !== x.shape[ax]
  ) {
    throw new ShapeError(
      `split: sizes [${Array.isArray(sizes) ? sizes.join(", ") : String(sizes)}] do not add up to dim ${ax} (${x.shape[ax]}) of ${fmt(x.shape)}`,
    );
  }
  let offset = 0;
  return sizes.map((s) => {
    const start = offset;
    offset += s;
    return sliceAxis(x, ax, start, offset);
  });
}

/** Joins equally shaped tensors along a new axis (negative counts from the end of the result). */
export function stack(xs: Tensor[], axis: number): Tensor {
  if (!Array.isArray(xs) || xs.length === 0)
    throw new ShapeError("stack: needs at least one tensor");
  const shape: Shape = xs[0].shape;
  for (const x of xs) {
    if (!sameShape(x.shape, shape))
      throw new ShapeError(`stack: shapes ${fmt(shape)} and ${fmt(x.shape)} differ`);
  }
  const ax = normAxis("stack", axis, shape.length + 1);
  const expanded = [...shape.slice(0, ax), 1, ...shape.slice(ax)];
  return concat(
    xs.map((x) => reshape(x, expanded)),
    ax,
  );
}
