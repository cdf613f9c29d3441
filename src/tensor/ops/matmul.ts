/**
 * Batched matrix multiplication with transposed operands and a fused epilogue (bias, then GELU or
 * SiLU), and `linear`, the PyTorch-layout layer built on it.
 *
 * Gradients are matmuls with transposed operands (no transpose copies). With an activation the op
 * saves its pre-activation z = a·b + bias as a second output, written by the same epilogue, so
 * the backward pass does not repeat the GEMM; that output exists only when autograd will need it.
 */
import { isFloat } from "../dtype.ts";
import { isGradEnabled, runOp } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type Meta, type OpDef } from "../op.ts";
import { fmt, numel } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { add, mul, sumTo, unary } from "./elementwise.ts";
import { sum } from "./reduce.ts";
import { reshape } from "./shape.ts";

export const ACTIVATIONS = ["none", "gelu", "silu"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
  act: Activation;
  /** Input 2 is a bias of shape [N]. */
  hasBias: boolean;
  /** Output 1 is the pre-activation (only with act ≠ "none"; for the backward pass). */
  savePre: boolean;
}

export interface MatmulOptions {
  /** a is stored [..., K, M] and used transposed. */
  transA?: boolean;
  /** b is stored [..., N, K] and used transposed. */
  transB?: boolean;
  /** [N], added to every output row before the activation. */
  bias?: Tensor;
  act?: Activation;
}

/** The sizes a matmul call works on, after transposes and batch broadcasting. */
export interface MatmulDims {
  M: number;
  N: number;
  K: number;
  batchShape: number[];
}

function describe(name: string, m: Meta, trans: boolean): string {
  return `${name} ${fmt(m.shape)}${trans ? " (transposed)" : ""}`;
}

/** Checks the operands of a matmul and returns its sizes; errors name both shapes and transposes. */
export function matmulDims(
  op: string,
  a: Meta,
  b: Meta,
  transA: boolean,
  transB: boolean,
): MatmulDims {
  const both = `${describe("a", a, transA)} and ${describe("b", b, transB)}`;
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new ShapeError(`${op}: both operands need at least 2 dimensions: ${both}`);
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const Ka = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (Ka !== Kb) {
    throw new ShapeError(`${op}: inner dimensions differ (${Ka} vs ${Kb}): ${both}`);
  }
  const ba = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const batchShape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = ba[ba.length - rank + i] ?? 1;
    const db = bb[bb.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: batch dimensions do not broadcast (${da} vs ${db}): ${both}`);
    }
    batchShape.push(da === 1 ? db : da);
  }
  return { M, N, K: Ka, batchShape };
}

export const matmulOp = defineOp<MatmulAttrs>({
  name: "matmul",
  infer(inputs, attrs) {
    const [a, b, bias] = inputs;
    if (!ACTIVATIONS.includes(attrs.act)) {
      throw new ShapeError(
        `matmul: unknown activation "${attrs.act}" (expected ${ACTIVATIONS.join(", ")})`,
      );
    }
    if (inputs.length !== (attrs.hasBias ? 3 : 2)) {
      throw new ShapeError(
        `matmul: expected ${attrs.hasBias ? 3 : 2} inputs, got ${inputs.length}`,
      );
    }
    for (const [name, m] of [
      ["a", a],
      ["b", b],
      ["bias", bias],
    ] as const) {
      if (m && !isFloat(m.dtype)) {
        throw new DTypeError(
          `matmul: ${name} must be a float tensor, got ${m.dtype} ${fmt(m.shape)}`,
        );
      }
    }
    if (a.dtype !== b.dtype) {
      throw new DTypeError(
        `matmul: dtypes differ: a ${a.dtype} ${fmt(a.shape)} and b ${b.dtype} ${fmt(b.shape)}`,
      );
    }
    const d = matmulDims("matmul", a, b, attrs.transA, attrs.transB);
    if (bias) {
      if (bias.dtype !== a.dtype) {
        throw new DTypeError(
          `matmul: bias dtype ${bias.dtype} differs from the operands' ${a.dtype} (a ${fmt(a.shape)}, b ${fmt(b.shape)})`,
        );
      }
      if (bias.shape.length !== 1 || bias.shape[0] !== d.N) {
        throw new ShapeError(
          `matmul: bias ${fmt(bias.shape)} must be [${d.N}], the output's last dimension (a ${fmt(a.shape)}, b ${fmt(b.shape)})`,
        );
      }
    }
    const out: Meta = { shape: [...d.batchShape, d.M, d.N], dtype: a.dtype };
    return attrs.savePre && attrs.act !== "none" ? [out, { ...out }] : [out];
  },
  backward({ inputs, outputs, grads: [gy, gz], attrs, needs }) {
    const [a, b] = inputs;
    if (!gy && !gz) return [undefined, undefined, undefined];
    // Gradient at the pre-activation z = op(a)·op(b) + bias.
    let g: Tensor;
    if (attrs.act === "none") g = gy!;
    else {
      const z = outputs[1];
      if (!z) throw new ShapeError("matmul: backward needs the saved pre-activation (savePre)");
      const dz = gy ? mul(gy, unary(z, attrs.act === "gelu" ? "gelu_grad" : "silu_grad")) : gz!;
      g = gy && gz ? add(dz, gz) : dz;
    }
    const { transA, transB } = attrs;
    const da = needs[0] ? matmulInputGradA(a, b, g, transA, transB) : undefined;
    const db = needs[1] ? matmulInputGradB(a, b, g, transA, transB) : undefined;
    const dbias = attrs.hasBias && needs[2] ? sum(g, [...Array(g.rank - 1).keys()]) : undefined;
    return [da, db, dbias];
  },
});

/** dA from dC: for C = op(A)·op(B), d op(A) = dC·op(B)ᵀ; a transposed A gets its transpose. */
function matmulInputGradA(
  a: Tensor,
  b: Tensor,
  g: Tensor,
  transA: boolean,
  transB: boolean,
): Tensor {
  const da = transA
    ? plainMatmul(b, g, transB, true) // op(B)·dCᵀ  = (dC·op(B)ᵀ)ᵀ
    : plainMatmul(g, b, false, !transB); // dC·op(B)ᵀ
  return sumTo(da, a.shape);
}

/** dB from dC: d op(B) = op(A)ᵀ·dC; a transposed B gets its transpose. */
function matmulInputGradB(
  a: Tensor,
  b: Tensor,
  g: Tensor,
  transA: boolean,
  transB: boolean,
): Tensor {
  const ra = a.rank;
  const aBatch = numel(a.shape.slice(0, -2));
  const bBatch = numel(b.shape.slice(0, -2));
  if (!transA && bBatch === 1 && aBatch > 1) {
    // A weight shared over a batch: fold the batch into the rows, one GEMM instead of a batched
    // GEMM and a reduction (e.g. linear layers).
    const K = a.shape[ra - 1];
    const a2 = reshape(a, [-1, K]);
    const g2 = reshape(g, [-1, g.shape[g.rank - 1]]);
    const db = transB ? plainMatmul(g2, a2, true, false) : plainMatmul(a2, g2, true, false);
    return reshape(db, b.shape);
  }
  const db = transB
    ? plainMatmul(g, a, true, transA) // dCᵀ·op(A) = (op(A)ᵀ·dC)ᵀ
    : plainMatmul(a, g, !transA, false); // op(A)ᵀ·dC
  return sumTo(db, b.shape);
}

function plainMatmul(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return runOp(matmulOp, [a, b], {
    transA,
    transB,
    act: "none",
    hasBias: false,
    savePre: false,
  })[0];
}

/**
 * Batched matmul: op(a) [..., M, K] · op(b) [..., K, N] → [..., M, N], where op transposes the
 * last two dimensions when transA/transB is set. Batch dimensions broadcast (b may be 2-D and
 * shared by every matrix of a). `bias` [N] and `act` are applied in the kernel's epilogue.
 * The output has the inputs' dtype (f16 inputs accumulate in f32 and store f16).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const act = opts.act ?? "none";
  const inputs = opts.bias ? [a, b, opts.bias] : [a, b];
  const savePre = act !== "none" && isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const attrs: MatmulAttrs = {
    transA: opts.transA ?? false,
    transB: opts.transB ?? false,
    act,
    hasBias: opts.bias !== undefined,
    savePre,
  };
  return runOp(matmulOp, inputs, attrs)[0];
}

/**
 * A dense layer in PyTorch layout: x [..., in] · weightᵀ (+ bias) → [..., out], with weight
 * [out, in] and an optional fused activation.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor, act: Activation = "none"): Tensor {
  if (weight.rank !== 2) {
    throw new ShapeError(
      `linear: weight must be [out, in], got ${fmt(weight.shape)} (x ${fmt(x.shape)})`,
    );
  }
  if (x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new ShapeError(
      `linear: x ${fmt(x.shape)} has ${x.shape[x.rank - 1] ?? "no"} input features but weight ${fmt(weight.shape)} expects ${weight.shape[1]}`,
    );
  }
  if (x.rank === 1) {
    return reshape(matmul(reshape(x, [1, x.shape[0]]), weight, { transB: true, bias, act }), [
      weight.shape[0],
    ]);
  }
  return matmul(x, weight, { transB: true, bias, act });
}

export const matmulOps: readonly OpDef<never>[] = [matmulOp];
