/** CPU kernels for the elementwise family. */

import type {
  BinaryAttrs,
  BinaryFn,
  CastAttrs,
  ExpandAttrs,
  FillAttrs,
  UnaryAttrs,
  UnaryFn,
} from "../ops/elementwise.ts";
import { broadcastStrides } from "../shape.ts";
import type { CpuView, FloatArray } from "./backend.ts";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluScalar(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

export function geluGradScalar(x: number): number {
  const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  const t = Math.tanh(u);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
}

function sigmoidScalar(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function unaryScalar(fn: UnaryFn, x: number, alpha: number, beta: number): number {
  switch (fn) {
    case "neg":
      return -x;
    case "exp":
      return Math.exp(x);
    case "log":
      return Math.log(x);
    case "sqrt":
      return Math.sqrt(x);
    case "rsqrt":
      return 1 / Math.sqrt(x);
    case "abs":
      return Math.abs(x);
    case "sign":
      return x > 0 ? 1 : x < 0 ? -1 : 0;
    case "relu":
      return Math.max(x, 0);
    case "step":
      return x > 0 ? 1 : 0;
    case "gelu":
      return geluScalar(x);
    case "gelu_grad":
      return geluGradScalar(x);
    case "silu":
      return x * sigmoidScalar(x);
    case "silu_grad": {
      const s = sigmoidScalar(x);
      return s * (1 + x * (1 - s));
    }
    case "tanh":
      return Math.tanh(x);
    case "sigmoid":
      return sigmoidScalar(x);
    case "square":
      return x * x;
    case "recip":
      return 1 / x;
    case "sin":
      return Math.sin(x);
    case "cos":
      return Math.cos(x);
    case "affine":
      return alpha * x + beta;
    case "notfinite":
      return Number.isFinite(x) ? 0 : 1;
  }
}

export function binaryScalar(fn: BinaryFn, a: number, b: number): number {
  switch (fn) {
    case "add":
      return a + b;
    case "sub":
      return a - b;
    case "mul":
      return a * b;
    case "div":
      return a / b;
    case "max":
      return Math.max(a, b);
    case "min":
      return Math.min(a, b);
    case "gt":
      return a > b ? 1 : 0;
    case "ge":
      return a >= b ? 1 : 0;
    case "lt":
      return a < b ? 1 : 0;
    case "eq":
      return a === b ? 1 : 0;
  }
}

/** Calls fn(outIndex, aIndex, bIndex) over a broadcast output shape. */
function forEachBroadcast(
  a: CpuView,
  b: CpuView,
  out: CpuView,
  fn: (o: number, i: number, j: number) => void,
): void {
  const shape = out.shape;
  const sa = broadcastStrides(a.shape, shape);
  const sb = broadcastStrides(b.shape, shape);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < out.size; o++) {
    fn(o, ia, ib);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < shape[d]) break;
      ia -= sa[d] * shape[d];
      ib -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

export const elementwiseCpu = {
  unary([x]: CpuView[], [y]: CpuView[], a: UnaryAttrs) {
    const xs = x.storage;
    const ys = y.storage as FloatArray;
    const alpha = a.alpha ?? 1;
    const beta = a.beta ?? 0;
    for (let i = 0; i < y.size; i++) ys[i] = unaryScalar(a.fn, xs[i], alpha, beta);
  },
  binary([a, b]: CpuView[], [out]: CpuView[], attrs: BinaryAttrs) {
    const as = a.storage;
    const bs = b.storage;
    const os = out.storage;
    if (a.size === out.size && b.size === out.size) {
      for (let i = 0; i < out.size; i++) os[i] = binaryScalar(attrs.fn, as[i], bs[i]);
      return;
    }
    forEachBroadcast(a, b, out, (o, i, j) => {
      os[o] = binaryScalar(attrs.fn, as[i], bs[j]);
    });
  },
  fill(_: CpuView[], [out]: CpuView[], a: FillAttrs) {
    out.storage.fill(a.value);
  },
  cast([x]: CpuView[], [y]: CpuView[], a: CastAttrs) {
    const xs = x.storage;
    const ys = y.storage;
    if (a.dtype === "i32") for (let i = 0; i < y.size; i++) ys[i] = Math.trunc(xs[i]);
    else ys.set(xs);
  },
  expand([x]: CpuView[], [y]: CpuView[], _a: ExpandAttrs) {
    const xs = x.storage;
    const ys = y.storage;
    forEachBroadcast(x, x, y, (o, i) => {
      ys[o] = xs[i];
    });
  },
};
