/**
 * Parity of every op's ONNX lowering with the float64 CPU reference (issue 8, item 4): forward
 * values and, for differentiable ops, gradients from `backward` run inside the compiled step
 * (which lowers the backward ops autograd emits), on odd shapes; in-place training ops compare
 * the state after each compiled call (two, or three) with the same op run eagerly on the f64
 * reference from the same values. Stated bound: scaledError ≤ 1e-4 everywhere (non-finite
 * values, where the reference gives them, must match exactly).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { noGrad, run1, runOp } from "../../tensor/engine.ts";
import {
  addScaled,
  affine,
  attention,
  attentionWithLse,
  BINARY_FNS,
  type BinaryFn,
  binary,
  cast,
  causalConv3d,
  concat,
  conv3d,
  conv3dBackwardInput,
  conv3dBackwardWeight,
  copy,
  embedding,
  embeddingBackward,
  expand,
  type FusedProgram,
  fill,
  fusedElementwise,
  gatedResidual,
  groupNorm,
  groupNormOp,
  layerNorm,
  layerNormOp,
  lerp,
  linear,
  matmul,
  max,
  mean,
  modulate,
  OP_TABLE,
  pad,
  permute,
  reshape,
  rmsNorm,
  rmsNormOp,
  rope3d,
  rope3dOp,
  slice,
  softmax,
  softmaxCrossEntropy,
  softmaxXentBackwardOp,
  sub,
  sum,
  UNARY_FNS,
  type UnaryFn,
  unary,
  upsampleNearest,
} from "../../tensor/ops/index.ts";
import {
  type AdamWAttrs,
  adamwUpdate,
  emaUpdate,
  gradClip,
  gradNorm,
  gradStats,
  type LossScaleAttrs,
  lossScaleUpdate,
  stepCount,
} from "../../tensor/ops/optim.ts";
import { assign } from "../../tensor/ops/shape.ts";
import { Rng } from "../../util/rng.ts";
import { LOWERINGS } from "./index.ts";
import {
  type Case,
  callIndex,
  checkCases,
  checkStateCase,
  parityError,
  type StateCase,
  type Values,
} from "./testing.ts";

const normal =
  (s = 1) =>
  (r: Rng) =>
    s * r.normal();
const positive = (r: Rng) => r.uniform(0.5, 3);
/** Away from zero, either sign (divisors, reciprocals). */
const nonzero = (r: Rng) => (r.chance(0.5) ? -1 : 1) * r.uniform(0.5, 2);
/** Small integers as floats: comparisons, max and min see ties. */
const smallInts = (r: Rng) => r.int(-2, 2);
const ids = (lo: number, hi: number) => (r: Rng) => r.int(lo, hi);
const f = (shape: number[], gen?: (r: Rng, i: number) => number) => ({ shape, gen });
const i32 = (shape: number[], gen: (r: Rng) => number) => ({ shape, dtype: "i32" as const, gen });

// ---------------------------------------------------------------------------------------------
// Elementwise

/** Inputs each unary function is well conditioned on, and whether it has a gradient. */
const UNARY_DOMAIN: Partial<Record<UnaryFn, (r: Rng) => number>> = {
  log: positive,
  sqrt: positive,
  rsqrt: positive,
  recip: nonzero,
  notfinite: (r) => r.pick([0, 1.5, -2, Infinity, -Infinity, Number.NaN]),
};
const UNDIFFERENTIATED = new Set<UnaryFn>(["sign", "step", "gelu_grad", "silu_grad", "notfinite"]);

const unaryCases: Case[] = UNARY_FNS.map((fn) => ({
  op: "unary",
  name: fn,
  inputs: [f([3, 5, 7], UNARY_DOMAIN[fn] ?? normal(2))],
  fn: (x) => (fn === "affine" ? affine(x, -1.5, 0.25) : unary(x, fn)),
  grad: !UNDIFFERENTIATED.has(fn),
}));

/** ±∞, NaN, ±0, tiny and large values: where the reference gives a non-finite value, so must ONNX. */
const SPECIAL = [Infinity, -Infinity, Number.NaN, 0, -0, 1, -1, 1e-30, -1e-30, 80, -80];
unaryCases.push(
  ...UNARY_FNS.map(
    (fn): Case => ({
      op: "unary",
      name: `${fn} of ±∞, NaN, ±0, ±1e-30, ±80`,
      inputs: [f([SPECIAL.length], (_, i) => SPECIAL[i])],
      fn: (x) => (fn === "affine" ? affine(x, -2, 1) : unary(x, fn)),
      grad: false,
    }),
  ),
  ...(["sign", "step", "relu", "abs"] as const).map(
    (fn): Case => ({
      op: "unary",
      name: `${fn} with zeros among the inputs`,
      inputs: [f([5, 7], (r) => r.int(-1, 1))],
      fn: (x) => unary(x, fn),
    }),
  ),
);

const COMPARISONS = new Set<BinaryFn>(["gt", "ge", "lt", "eq"]);
const binaryCases: Case[] = BINARY_FNS.flatMap((fn): Case[] => {
  const tied = COMPARISONS.has(fn) || fn === "max" || fn === "min";
  const gen = tied ? smallInts : normal();
  return [
    {
      op: "binary",
      name: `${fn} [3,1,5] with [7,1] (broadcast both ways)`,
      inputs: [f([3, 1, 5], gen), f([7, 1], fn === "div" ? nonzero : gen)],
      fn: (a, b) => binary(a, b, fn),
      grad: !COMPARISONS.has(fn),
    },
    {
      op: "binary",
      name: `${fn} same shape [5,3]`,
      inputs: [f([5, 3], gen), f([5, 3], fn === "div" ? nonzero : gen)],
      fn: (a, b) => binary(a, b, fn),
      grad: !COMPARISONS.has(fn),
    },
  ];
});
const intBinaryCases: Case[] = (
  ["add", "sub", "mul", "max", "min", "gt", "ge", "lt", "eq"] as const
).map((fn) => ({
  op: "binary",
  name: `${fn} on i32 [3,5] with [5]`,
  inputs: [i32([3, 5], ids(-3, 3)), i32([5], ids(-3, 3))],
  fn: (a, b) => binary(a, b, fn),
}));

/** NaN among the operands (NaN propagates through max and min, compares false) and x/0. */
const withNaN = (r: Rng) => r.pick([Number.NaN, 1, -1, 0, 2]);
const nonFiniteBinaryCases: Case[] = [
  ...(["max", "min", "add", "mul", "gt", "ge", "lt", "eq"] as const).map(
    (fn): Case => ({
      op: "binary",
      name: `${fn} with NaN operands`,
      inputs: [f([5, 5], withNaN), f([5, 5], withNaN)],
      fn: (a, b) => binary(a, b, fn),
      grad: false,
    }),
  ),
  {
    op: "binary",
    name: "div by ±0 gives ±∞ and NaN",
    inputs: [f([5, 5], ids(-1, 1)), f([5, 5], ids(-1, 1))],
    fn: (a, b) => binary(a, b, "div"),
    grad: false,
  },
];

const fillCases: Case[] = [
  {
    op: "fill",
    name: "like x, 2.5",
    inputs: [f([3, 5])],
    fn: (x) => fill(x, 2.5),
    grad: false,
    keepInputs: true,
  },
  {
    op: "fill",
    name: "i32 [2,7] of -3",
    inputs: [f([3])],
    fn: (x) => fill(x, -3, [2, 7], "i32"),
    grad: false,
    keepInputs: true,
  },
  {
    op: "fill",
    name: "scalar []",
    inputs: [f([5])],
    fn: (x) => fill(x, -0.75, []),
    grad: false,
    keepInputs: true,
  },
];

const castCases: Case[] = [
  {
    op: "cast",
    name: "f32 → i32 truncates toward zero",
    inputs: [f([3, 7], normal(4))],
    fn: (x) => cast(x, "i32"),
    grad: false,
  },
  { op: "cast", name: "i32 → f32", inputs: [i32([5, 3], ids(-9, 9))], fn: (x) => cast(x, "f32") },
];

const expandCases: Case[] = [
  {
    op: "expand",
    name: "[3,1,5] → [2,3,7,5]",
    inputs: [f([3, 1, 5])],
    fn: (x) => expand(x, [2, 3, 7, 5]),
  },
  { op: "expand", name: "[] → [3,5]", inputs: [f([])], fn: (x) => expand(x, [3, 5]) },
];

const fusedPrograms: { name: string; inputs: number[][]; program: FusedProgram }[] = [
  {
    name: "exp·b, affine, max with a constant, [3,5,7] with [5,1]",
    inputs: [
      [3, 5, 7],
      [5, 1],
    ],
    program: [
      { unary: "exp", x: { input: 0 } },
      { binary: "mul", a: { step: 0 }, b: { input: 1 } },
      { unary: "affine", x: { step: 1 }, alpha: 2, beta: -1 },
      { binary: "max", a: { step: 2 }, b: 0.5 },
    ],
  },
  {
    name: "last step reads only the smaller input (result expanded), [5,1] and [3,5,7]",
    inputs: [
      [5, 1],
      [3, 5, 7],
    ],
    program: [
      { unary: "sigmoid", x: { input: 1 } },
      { unary: "tanh", x: { input: 0 } },
      { binary: "mul", a: 3, b: { step: 1 } },
    ],
  },
  {
    name: "a comparison step and three inputs [7], [3,1,7], [5,7]",
    inputs: [[7], [3, 1, 7], [5, 7]],
    program: [
      { binary: "gt", a: { input: 0 }, b: { input: 1 } },
      { binary: "sub", a: { input: 2 }, b: { input: 1 } },
      { binary: "mul", a: { step: 0 }, b: { step: 1 } },
      { unary: "square", x: { step: 2 } },
      { binary: "add", a: { step: 3 }, b: { input: 0 } },
    ],
  },
];
const fusedCases: Case[] = [
  ...fusedPrograms.map(
    (p): Case => ({
      op: "fused",
      name: p.name,
      inputs: p.inputs.map((s) => f(s)),
      fn: (...xs) => fusedElementwise(xs, p.program),
      // The second program's result does not depend on input 1's values, only on its shape.
      keepInputs: true,
    }),
  ),
  {
    op: "fused",
    name: "addScaled [3,5,7] + 0.3·[5,7]",
    inputs: [f([3, 5, 7]), f([5, 7])],
    fn: (a, b) => addScaled(a, b, 0.3),
  },
  {
    op: "fused",
    name: "gatedResidual with a [3,1,7] gate",
    inputs: [f([3, 5, 7]), f([3, 1, 7]), f([3, 5, 7])],
    fn: (x, g, y) => gatedResidual(x, g, y),
  },
  {
    op: "fused",
    name: "lerp with a tensor weight [5,1]",
    inputs: [f([3, 5, 7]), f([3, 5, 7]), f([5, 1])],
    fn: (a, b, t) => lerp(a, b, t),
  },
];

// ---------------------------------------------------------------------------------------------
// Reductions and data movement

const reduceCases: Case[] = (["sum", "mean", "max"] as const).flatMap((fn) =>
  [[1], [0, 2], undefined].flatMap((axes) =>
    [false, true].map(
      (keepDims): Case => ({
        op: "reduce",
        name: `${fn} over ${axes ? `[${axes}]` : "all axes"} of [3,5,7], keepDims ${keepDims}`,
        inputs: [f([3, 5, 7])],
        fn: (x) => (fn === "sum" ? sum : fn === "mean" ? mean : max)(x, axes, keepDims),
      }),
    ),
  ),
);
reduceCases.push(
  {
    op: "reduce",
    name: "max over [1,2] with ties (the gradient splits between them), keepDims",
    inputs: [f([3, 5, 7], ids(-1, 1))],
    fn: (x) => max(x, [1, 2], true),
  },
  { op: "reduce", name: "sum of a scalar []", inputs: [f([])], fn: (x) => sum(x) },
  {
    op: "reduce",
    name: "max over rows holding NaN",
    inputs: [f([3, 5], withNaN)],
    fn: (x) => max(x, 1),
    grad: false,
  },
  {
    op: "reduce",
    name: "sum over an empty axis of [3,0,2] is zeros",
    inputs: [f([3, 0, 2])],
    fn: (x) => sum(x, 1),
    grad: false,
    keepInputs: true,
  },
  {
    op: "reduce",
    name: "mean over an empty axis of [3,0,2] is NaN (0/0), keepDims",
    inputs: [f([3, 0, 2])],
    fn: (x) => mean(x, 1, true),
    grad: false,
    keepInputs: true,
  },
);

const shapeCases: Case[] = [
  {
    op: "reshape",
    name: "[3,5,7] → [5,21]",
    inputs: [f([3, 5, 7])],
    fn: (x) => reshape(x, [5, 21]),
  },
  {
    op: "permute",
    name: "[3,5,7,2] by [2,0,3,1]",
    inputs: [f([3, 5, 7, 2])],
    fn: (x) => permute(x, [2, 0, 3, 1]),
  },
  {
    op: "concat",
    name: "three inputs along axis 1",
    inputs: [f([3, 2, 5]), f([3, 4, 5]), f([3, 1, 5])],
    fn: (a, b, c) => concat([a, b, c], 1),
  },
  {
    op: "concat",
    name: "i32 along axis 0",
    inputs: [i32([2, 3], ids(-5, 5)), i32([1, 3], ids(-5, 5))],
    fn: (a, b) => concat([a, b], 0),
  },
  { op: "concat", name: "one input", inputs: [f([3, 5])], fn: (a) => concat([a], 0) },
  {
    op: "slice",
    name: "[5,7,3] from [1,0,1] to [4,7,3]",
    inputs: [f([5, 7, 3])],
    fn: (x) => slice(x, [1, 0, 1], [4, 7, 3]),
  },
  {
    op: "slice",
    name: "negative bounds [-3, 2] to [-1, -2] of [5,7]",
    inputs: [f([5, 7])],
    fn: (x) => slice(x, [-3, 2], [-1, -2]),
  },
  { op: "slice", name: "full range (copy)", inputs: [f([3, 5])], fn: (x) => copy(x) },
  {
    op: "slice",
    name: "an empty range [3, 1) gives [0,5]",
    inputs: [f([5, 5])],
    fn: (x) => slice(x, [3, 0], [1, 5]),
    grad: false,
    keepInputs: true,
  },
  {
    op: "concat",
    name: "with an empty [3,0] input",
    inputs: [f([3, 0]), f([3, 2])],
    fn: (a, b) => concat([a, b], 1),
    keepInputs: true,
  },
  {
    op: "pad",
    name: "[3,5] by [1,0] before, [2,3] after, value 0.5",
    inputs: [f([3, 5])],
    fn: (x) => pad(x, [1, 0], [2, 3], 0.5),
  },
  {
    op: "pad",
    name: "i32 [3] with -1",
    inputs: [i32([3], ids(0, 9))],
    fn: (x) => pad(x, [2], [1], -1),
  },
];

const embeddingCases: Case[] = [
  {
    op: "embedding",
    name: "table [7,5], ids [3,4] in [-2, 9] (out-of-range rows are zero, get no gradient)",
    inputs: [f([7, 5]), i32([3, 4], ids(-2, 9))],
    fn: (t, i) => embedding(t, i),
  },
  {
    op: "embedding",
    name: "a scalar id",
    inputs: [f([7, 3]), i32([], ids(0, 6))],
    fn: (t, i) => embedding(t, i),
  },
  {
    op: "embedding",
    name: "every id out of range",
    inputs: [f([7, 3]), i32([4], ids(7, 20))],
    fn: (t, i) => embedding(t, i),
  },
  {
    op: "embedding_backward",
    name: "g [3,4,5] into 7 rows, repeated and out-of-range ids",
    inputs: [f([3, 4, 5]), i32([3, 4], ids(-2, 9))],
    fn: (g, i) => embeddingBackward(g, i, 7),
  },
];

// ---------------------------------------------------------------------------------------------
// Matmul, convolution, upsampling

const matmulCases: Case[] = [
  ...[false, true].flatMap((transA) =>
    [false, true].map(
      (transB): Case => ({
        op: "matmul",
        name: `[2,5,7]·[7,3], transA ${transA}, transB ${transB}`,
        inputs: [f(transA ? [2, 7, 5] : [2, 5, 7]), f(transB ? [3, 7] : [7, 3])],
        fn: (a, b) => matmul(a, b, { transA, transB }),
      }),
    ),
  ),
  {
    op: "matmul",
    name: "broadcast batch [3,1,5,7]·[2,7,3]",
    inputs: [f([3, 1, 5, 7]), f([2, 7, 3])],
    fn: (a, b) => matmul(a, b),
  },
  {
    op: "matmul",
    name: "transB, broadcast batch [2,7,5]ᵀ·[3,1,3,7]ᵀ",
    inputs: [f([2, 7, 5]), f([3, 1, 3, 7])],
    fn: (a, b) => matmul(a, b, { transA: true, transB: true }),
  },
  {
    op: "matmul",
    name: "2-D a against a batched b [5,7]·[2,7,3]",
    inputs: [f([5, 7]), f([2, 7, 3])],
    fn: (a, b) => matmul(a, b),
  },
  {
    op: "matmul",
    name: "gelu without bias, with gradients; K = 1",
    inputs: [f([5, 1]), f([1, 3])],
    fn: (a, b) => matmul(a, b, { act: "gelu" }),
  },
  {
    op: "matmul",
    name: "bias [3]",
    inputs: [f([5, 7]), f([7, 3]), f([3])],
    fn: (a, b, bias) => matmul(a, b, { bias }),
  },
  ...(["gelu", "silu"] as const).map(
    (act): Case => ({
      op: "matmul",
      name: `bias and ${act} epilogue, with gradients (saved pre-activation)`,
      inputs: [f([2, 5, 7]), f([3, 7]), f([3])],
      fn: (a, b, bias) => matmul(a, b, { transB: true, bias, act }),
    }),
  ),
  {
    op: "matmul",
    name: "gelu epilogue without gradients",
    inputs: [f([5, 7]), f([7, 3])],
    fn: (a, b) => matmul(a, b, { act: "gelu" }),
    grad: false,
  },
  {
    op: "matmul",
    name: "linear [3,5,7] → 4 with bias and silu",
    inputs: [f([3, 5, 7]), f([4, 7]), f([4])],
    fn: (x, w, b) => linear(x, w, b, "silu"),
  },
];

/** A causal 3×3×3 convolution's padding: two frames in front, one pixel around. */
const CAUSAL_333: [[number, number], [number, number], [number, number]] = [
  [2, 0],
  [1, 1],
  [1, 1],
];

const convCases: Case[] = [
  {
    op: "conv3d",
    name: "stride 2, asymmetric padding, bias; the floor drops inputs along h and w",
    inputs: [f([2, 3, 5, 7, 6]), f([4, 3, 3, 3, 2]), f([4])],
    fn: (x, w, b) =>
      conv3d(x, w, b, {
        stride: [2, 2, 2],
        padding: [
          [2, 0],
          [1, 2],
          [0, 1],
        ],
      }),
  },
  {
    op: "conv3d",
    name: "causal, stride [1,2,2], bias",
    inputs: [f([1, 2, 5, 5, 7]), f([3, 2, 3, 3, 3]), f([3])],
    fn: (x, w, b) => causalConv3d(x, w, b, [1, 2, 2]),
  },
  {
    op: "conv3d",
    name: "stride 1, no padding, no bias",
    inputs: [f([2, 2, 3, 5, 4]), f([3, 2, 2, 3, 1])],
    fn: (x, w) => conv3d(x, w),
  },
  {
    op: "conv3d",
    name: "causal 3×3×3 on a 16×16 grid, bias (its time padding skipped: two end frames and the rest)",
    inputs: [f([1, 2, 5, 16, 16]), f([3, 2, 3, 3, 3]), f([3])],
    fn: (x, w, b) => causalConv3d(x, w, b),
  },
  {
    op: "conv3d",
    name: "causal 3×3×3 on one-frame images (only the last time tap is real), no bias",
    inputs: [f([2, 2, 1, 4, 5]), f([3, 2, 3, 3, 3])],
    fn: (x, w) => causalConv3d(x, w),
  },
  {
    op: "conv3d",
    name: "2 frames padded 1 in front and 2 behind, kernel 3 in time (every frame at an end)",
    inputs: [f([1, 2, 2, 3, 4]), f([2, 2, 3, 1, 3]), f([2])],
    fn: (x, w, b) =>
      conv3d(x, w, b, {
        padding: [
          [1, 2],
          [0, 0],
          [1, 1],
        ],
      }),
  },
  {
    op: "conv3d",
    name: "a frame of padding alone (3 in front under kernel 3 in time): one plain Conv",
    inputs: [f([1, 2, 2, 3, 3]), f([2, 2, 3, 3, 3]), f([2])],
    fn: (x, w, b) =>
      conv3d(x, w, b, {
        padding: [
          [3, 0],
          [1, 1],
          [1, 1],
        ],
      }),
  },
  {
    op: "conv3d_backward_input",
    name: "input 6×8×7 under kernel 3, stride 2 (the forward's floor drops inputs in t and h)",
    inputs: [f([2, 4, 2, 3, 3]), f([4, 3, 3, 3, 3])],
    fn: (g, w) => conv3dBackwardInput(g, w, [6, 8, 7], { stride: [2, 2, 2] }),
  },
  {
    op: "conv3d_backward_input",
    name: "asymmetric padding, stride [3,1,2]",
    inputs: [f([1, 2, 2, 5, 3]), f([2, 3, 2, 2, 3])],
    fn: (g, w) =>
      conv3dBackwardInput(g, w, [5, 5, 6], {
        stride: [3, 1, 2],
        padding: [
          [1, 0],
          [0, 1],
          [2, 0],
        ],
      }),
  },
  {
    op: "conv3d_backward_input",
    name: "stride 1, causal 3×3×3 padding (the autoencoder's; lowered as a flipped-kernel Conv)",
    inputs: [f([2, 3, 4, 5, 6]), f([3, 2, 3, 3, 3])],
    fn: (g, w) =>
      conv3dBackwardInput(g, w, [4, 5, 6], {
        padding: CAUSAL_333,
      }),
  },
  {
    op: "conv3d_backward_input",
    name: "stride 1, causal 3×3×3 on a 16×16 grid (anti-causal: its time padding behind, skipped)",
    inputs: [f([1, 3, 5, 16, 16]), f([3, 2, 3, 3, 3])],
    fn: (g, w) =>
      conv3dBackwardInput(g, w, [5, 16, 16], {
        padding: CAUSAL_333,
      }),
  },
  {
    op: "conv3d_backward_input",
    name: "stride 1, causal 3×3×3 on one-frame images",
    inputs: [f([2, 3, 1, 4, 4]), f([3, 2, 3, 3, 3])],
    fn: (g, w) =>
      conv3dBackwardInput(g, w, [1, 4, 4], {
        padding: CAUSAL_333,
      }),
  },
  {
    op: "conv3d_backward_weight",
    name: "stride 1, causal 3×3×3 on one-frame images (two time taps land only on padding: zero)",
    inputs: [f([2, 2, 1, 4, 5]), f([2, 3, 1, 4, 5])],
    fn: (x, g) =>
      conv3dBackwardWeight(x, g, [3, 3, 3], {
        padding: CAUSAL_333,
      }),
  },
  {
    op: "conv3d_backward_weight",
    name: "stride 1, 2 frames padded 1 in front and 2 behind under kernel 3 in time",
    inputs: [f([1, 2, 2, 3, 4]), f([1, 3, 3, 3, 4])],
    fn: (x, g) =>
      conv3dBackwardWeight(x, g, [3, 1, 3], {
        padding: [
          [1, 2],
          [0, 0],
          [1, 1],
        ],
      }),
  },
  {
    op: "conv3d_backward_weight",
    name: "stride 1, causal 3×3×3 padding, batch 2, odd grid (windows of the flattened grid)",
    inputs: [f([2, 3, 4, 5, 7]), f([2, 4, 4, 5, 7])],
    fn: (x, g) =>
      conv3dBackwardWeight(x, g, [3, 3, 3], {
        padding: CAUSAL_333,
      }),
  },
  {
    op: "conv3d_backward_weight",
    name: "stride 1, kernel [2,1,3], asymmetric padding, batch 1",
    inputs: [f([1, 2, 3, 4, 5]), f([1, 3, 3, 5, 4])],
    fn: (x, g) =>
      conv3dBackwardWeight(x, g, [2, 1, 3], {
        padding: [
          [1, 0],
          [0, 1],
          [0, 1],
        ],
      }),
  },
  {
    op: "conv3d_backward_weight",
    name: "stride 1, kernel [2,1,1] unpadded (no spare frame), and 1×1×1",
    inputs: [f([2, 3, 4, 3, 2]), f([2, 2, 3, 3, 2]), f([2, 5, 4, 3, 2])],
    fn: (x, g, g1) => [
      conv3dBackwardWeight(x, g, [2, 1, 1]),
      conv3dBackwardWeight(x, g1, [1, 1, 1]),
    ],
  },
  {
    op: "conv3d_backward_weight",
    name: "x 6×8×7, kernel 3, stride 2 (the forward's floor drops inputs in t and h)",
    inputs: [f([2, 3, 6, 8, 7]), f([2, 4, 2, 3, 3])],
    fn: (x, g) => conv3dBackwardWeight(x, g, [3, 3, 3], { stride: [2, 2, 2] }),
  },
  {
    op: "conv3d_backward_weight",
    name: "asymmetric padding, stride [3,1,2]",
    inputs: [f([1, 3, 5, 5, 6]), f([1, 2, 2, 5, 3])],
    fn: (x, g) =>
      conv3dBackwardWeight(x, g, [2, 2, 3], {
        stride: [3, 1, 2],
        padding: [
          [1, 0],
          [0, 1],
          [2, 0],
        ],
      }),
  },
  {
    op: "upsample_nearest",
    name: "[2,3,2,3,2] by [2,1,3]",
    inputs: [f([2, 3, 2, 3, 2])],
    fn: (x) => upsampleNearest(x, [2, 1, 3]),
  },
];

// ---------------------------------------------------------------------------------------------
// Normalisation, attention

const normCases: Case[] = [
  {
    op: "layernorm",
    name: "gamma and beta [7] (y, mean, rstd)",
    inputs: [f([3, 5, 7], normal(2)), f([7]), f([7])],
    fn: (x, g, b) => runOp(layerNormOp, [x, g, b], { eps: 1e-5, hasGamma: true, hasBeta: true }),
    loss: [0],
  },
  {
    op: "layernorm",
    name: "gamma only",
    inputs: [f([5, 7]), f([7])],
    fn: (x, g) => layerNorm(x, g),
  },
  {
    op: "layernorm",
    name: "beta only",
    inputs: [f([5, 7]), f([7])],
    fn: (x, b) => layerNorm(x, undefined, b),
  },
  { op: "layernorm", name: "no affine", inputs: [f([3, 5, 7])], fn: (x) => layerNorm(x) },
  {
    op: "layernorm",
    name: "gamma and beta without their gradients (dx only)",
    inputs: [f([3, 7]), { shape: [7], grad: false }, { shape: [7], grad: false }],
    fn: (x, g, b) => layerNorm(x, g, b),
  },
  {
    op: "rmsnorm",
    name: "gamma [7] (y, rstd)",
    inputs: [f([3, 5, 7], normal(2)), f([7])],
    fn: (x, g) => runOp(rmsNormOp, [x, g], { eps: 1e-6, hasGamma: true, hasBeta: false }),
    loss: [0],
  },
  { op: "rmsnorm", name: "no gamma", inputs: [f([5, 7])], fn: (x) => rmsNorm(x) },
  {
    op: "rmsnorm",
    name: "gamma without its gradient",
    inputs: [f([5, 7]), { shape: [7], grad: false }],
    fn: (x, g) => rmsNorm(x, g),
  },
  {
    op: "groupnorm",
    name: "[2,6,3,5], 3 groups, gamma and beta (y, mean, rstd)",
    inputs: [f([2, 6, 3, 5], normal(2)), f([6]), f([6])],
    fn: (x, g, b) =>
      runOp(groupNormOp, [x, g, b], { eps: 1e-5, groups: 3, hasGamma: true, hasBeta: true }),
    loss: [0],
  },
  {
    op: "groupnorm",
    name: "5-D [2,4,3,2,3], 2 groups, gamma only",
    inputs: [f([2, 4, 3, 2, 3]), f([4])],
    fn: (x, g) => groupNorm(x, 2, g),
  },
  {
    op: "groupnorm",
    name: "[3,5,7], 5 groups, beta only",
    inputs: [f([3, 5, 7]), f([5])],
    fn: (x, b) => groupNorm(x, 5, undefined, b),
  },
  {
    op: "groupnorm",
    name: "[2,3,7], 1 group, no affine",
    inputs: [f([2, 3, 7])],
    fn: (x) => groupNorm(x, 1),
  },
  {
    op: "groupnorm",
    name: "gamma and beta without their gradients",
    inputs: [f([2, 6, 5]), { shape: [6], grad: false }, { shape: [6], grad: false }],
    fn: (x, g, b) => groupNorm(x, 2, g, b),
  },
  {
    op: "modulate",
    name: "x [3,5,7], shift and scale [3,7]",
    inputs: [f([3, 5, 7]), f([3, 7]), f([3, 7])],
    fn: (x, shift, scale) => modulate(x, shift, scale),
  },
];

const attentionCases: Case[] = [
  { op: "softmax", name: "[3,5,7]", inputs: [f([3, 5, 7], normal(2))], fn: (x) => softmax(x) },
  ...[false, true].map(
    (causal): Case => ({
      op: "attention",
      name: `q [2,3,5,4], k and v [2,3,7,4], causal ${causal} (out and lse)`,
      inputs: [f([2, 3, 5, 4]), f([2, 3, 7, 4]), f([2, 3, 7, 4])],
      fn: (q, k, v) => {
        const { out, lse } = attentionWithLse(q, k, v, { causal });
        return [out, lse];
      },
      loss: [0],
    }),
  ),
  {
    op: "attention",
    name: "causal, Tq = Tk = 5, scale 0.7",
    inputs: [f([1, 2, 5, 3]), f([1, 2, 5, 3]), f([1, 2, 5, 3])],
    fn: (q, k, v) => attention(q, k, v, { causal: true, scale: 0.7 }),
  },
  {
    op: "rope3d",
    name: "x [2,3,12,10], grid [3,2,2], sections [4,2,4], theta 100",
    inputs: [f([2, 3, 12, 10])],
    fn: (x) => rope3d(x, { grid: [3, 2, 2], sections: [4, 2, 4], theta: 100 }),
  },
  {
    op: "rope3d",
    name: "inverse, x [3,10,6], grid [2,5,1], sections [2,2,2]",
    inputs: [f([3, 10, 6])],
    fn: (x) =>
      run1(rope3dOp, [x], { grid: [2, 5, 1], sections: [2, 2, 2], theta: 10000, inverse: true }),
  },
  {
    op: "softmax_xent",
    name: "logits [3,5,7], targets in [-1, 6] (-1 ignored)",
    inputs: [f([3, 5, 7], normal(2)), i32([3, 5], ids(-1, 6))],
    fn: (l, t) => softmaxCrossEntropy(l, t),
  },
  {
    op: "softmax_xent",
    name: "targets ≥ V give NaN rows, as the reference",
    inputs: [f([5, 3]), i32([5], ids(-1, 4))],
    fn: (l, t) => softmaxCrossEntropy(l, t),
  },
  {
    op: "softmax_xent",
    name: "1-D logits [7] with a scalar target (rank-0 targets)",
    inputs: [f([7]), i32([], ids(0, 6))],
    fn: (l, t) => softmaxCrossEntropy(l, t),
  },
  {
    op: "softmax_xent_backward",
    name: "called directly, g [3,5]",
    inputs: [f([3, 5, 7]), i32([3, 5], ids(-1, 6)), f([3, 5])],
    fn: (l, t, g) => run1(softmaxXentBackwardOp, [l, t, g], {}),
    grad: false,
  },
];

// ---------------------------------------------------------------------------------------------

const GROUPS: Record<string, Case[]> = {
  unary: unaryCases,
  binary: [...binaryCases, ...intBinaryCases, ...nonFiniteBinaryCases],
  "fill, cast, expand": [...fillCases, ...castCases, ...expandCases],
  fused: fusedCases,
  reduce: reduceCases,
  "reshape, permute, concat, slice, pad": shapeCases,
  "embedding and its backward": embeddingCases,
  matmul: matmulCases,
  "conv3d, its backward ops, upsample_nearest": convCases,
  "layer, RMS and group norm, modulate": normCases,
  "softmax, attention, rope3d, softmax cross-entropy": attentionCases,
};

// ---------------------------------------------------------------------------------------------
// In-place training ops: state before the step, compared after each of two compiled calls

let seed = 100;
function values(shape: number[], gen: (r: Rng, i: number) => number = normal()): Values {
  const r = new Rng(seed++);
  const n = shape.reduce((p, d) => p * d, 1);
  return { shape, data: Array.from({ length: n }, (_, i) => gen(r, i)) };
}
const given = (shape: number[], data: number[], dtype?: "f32" | "i32"): Values => ({
  shape,
  data,
  dtype,
});
/** A control tensor: [1/scale, skip flag, good steps, spare]. */
const ctrl = (invScale: number, skip: number, good = 0) => given([4], [invScale, skip, good, 0]);

const ADAMW: AdamWAttrs = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 };

/** adamw on state [param, m, v, ctrl, count] with the gradient (and norm) as arguments. */
function adamwCase(
  name: string,
  opts: {
    control: Values;
    count: number;
    grad?: Values;
    attrs?: Partial<AdamWAttrs>;
    norm?: number;
  },
): StateCase {
  const shape = [5, 7];
  return {
    op: "adamw",
    name,
    state: [
      values(shape),
      values(shape, normal(0.1)),
      values(shape, (r) => r.uniform(0, 0.05)),
      opts.control,
      given([1], [opts.count]),
    ],
    args: [
      opts.grad ?? values(shape),
      ...(opts.norm === undefined ? [] : [given([1], [opts.norm])]),
    ],
    step: ([param, m, v, control, count], [grad, norm]) => {
      adamwUpdate(param, grad, m, v, control, count, { ...ADAMW, ...opts.attrs }, norm);
      return undefined;
    },
  };
}

/** A gradient with an Inf and a NaN among normal values (an overflowed fp16 backward). */
const overflowed = (shape: number[]) =>
  values(shape, (r, i) => (i === 3 ? Infinity : i === 8 ? Number.NaN : r.normal()));

const LOSS_SCALE: LossScaleAttrs = {
  growthFactor: 2,
  backoffFactor: 0.5,
  growthInterval: 3,
  minScale: 1,
  maxScale: 2 ** 16,
};

function lossScaleCase(
  name: string,
  scale: number,
  control: Values,
  partials: number[],
  attrs: Partial<LossScaleAttrs> = {},
): StateCase {
  return {
    op: "loss_scale_update",
    name,
    state: [given([1], [scale]), control],
    args: [given([partials.length], partials)],
    step: ([s, c], [p]) => {
      lossScaleUpdate(s, c, p, { ...LOSS_SCALE, ...attrs });
      return undefined;
    },
  };
}

/**
 * A loss-scaled AdamW step as the trainer runs it: count non-finite gradient elements, update the
 * scaler (which sets the skip flag), count the step, update. The first call's gradient
 * overflows, so it is skipped at count 0; the next two apply.
 */
const lossScaledStep: StateCase = {
  op: "adamw",
  name: "loss-scaled steps: overflow on the first (skipped at count 0), then two applied",
  state: [
    values([3, 5]),
    given([3, 5], new Array(15).fill(0)),
    given([3, 5], new Array(15).fill(0)),
    given([1], [0]),
    given([1], [1024]),
    ctrl(1, 0),
  ],
  argsAt: (call) => [call === 0 ? overflowed([3, 5]) : values([3, 5], normal(1024))],
  calls: 3,
  step: ([param, m, v, count, scale, control], [grad]) => {
    const partials = control.device.zeros([2 * 4]);
    gradStats(partials, grad, { slot: 1, parts: 4, mode: "nonfinite" });
    lossScaleUpdate(scale, control, partials, LOSS_SCALE);
    stepCount(count, control);
    adamwUpdate(param, grad, m, v, control, count, ADAMW);
    return undefined;
  },
};

/** Global-norm clipping inside one step: statistics into a fresh partials tensor, norm, clip. */
const clippedStep: StateCase = {
  op: "grad_clip",
  name: "two gradients clipped by their global norm, partials made inside the step",
  state: [values([5, 7]), values([3])],
  calls: 1,
  step: ([g1, g2]) => {
    const partials = g1.device.zeros([2, 4]);
    gradStats(partials, g1, { slot: 0, parts: 4, mode: "sumsq" });
    gradStats(partials, g2, { slot: 1, parts: 4, mode: "sumsq" });
    const norm = gradNorm(partials);
    gradClip(g1, norm, 1, 1e-6);
    gradClip(g2, norm, 1, 1e-6);
    return [norm];
  },
};

const stateCases: StateCase[] = [
  lossScaledStep,
  clippedStep,
  adamwCase("weight decay 0.01, count 3", { control: ctrl(1, 0), count: 3 }),
  adamwCase("no weight decay, 1/scale 0.25 in the control", {
    control: ctrl(0.25, 0),
    count: 1,
    attrs: { weightDecay: 0 },
  }),
  adamwCase("clip norm 0.5 against a global norm of 2 (clipped)", {
    control: ctrl(1, 0),
    count: 2,
    attrs: { clipNorm: 0.5 },
    norm: 2,
  }),
  adamwCase("clip norm 5 against a global norm of 2 (not clipped)", {
    control: ctrl(0.5, 0),
    count: 2,
    attrs: { clipNorm: 5, clipEps: 1e-3 },
    norm: 2,
  }),
  adamwCase("skip flag set, gradient with Inf and NaN: nothing changes", {
    control: ctrl(1, 1),
    count: 4,
    grad: overflowed([5, 7]),
  }),
  adamwCase("skip flag set on the first step (count 0, a first-step fp16 overflow)", {
    control: ctrl(1, 1),
    count: 0,
    grad: overflowed([5, 7]),
    attrs: { clipNorm: 1 },
    norm: Infinity,
  }),
  {
    op: "adamw",
    name: "control [2,2], count and norm [1,1] (slots count in flat order), skip not set",
    state: [values([3, 5]), values([3, 5], normal(0.1)), values([3, 5], (r) => r.uniform(0, 0.05))],
    args: [values([3, 5]), given([2, 2], [0.5, 0, 0, 0]), given([1, 1], [3]), given([1, 1], [4])],
    step: ([param, m, v], [grad, control, count, norm]) => {
      adamwUpdate(param, grad, m, v, control, count, { ...ADAMW, clipNorm: 1 }, norm);
      return undefined;
    },
  },
  {
    op: "adamw",
    name: "learning rate as a dynamic scalar, another on each call",
    state: [values([3, 5]), values([3, 5], normal(0.1)), values([3, 5], (r) => r.uniform(0, 0.05))],
    args: [values([3, 5]), ctrl(1, 0), given([1], [2])],
    dynamic: ["lr"],
    scalarsAt: (call) => ({ lr: [1e-2, 3e-3][call] }),
    step: ([param, m, v], [grad, control, count]) => {
      const lr = [1e-2, 3e-3][callIndex()];
      adamwUpdate(param, grad, m, v, control, count, { ...ADAMW, lr });
      return undefined;
    },
  },
  ...[0, 1].map(
    (skip): StateCase => ({
      op: "step_count",
      name: `skip flag ${skip}`,
      state: [given([1], [5])],
      args: [ctrl(1, skip)],
      step: ([count], [control]) => {
        stepCount(count, control);
        return undefined;
      },
    }),
  ),
  {
    op: "step_count",
    name: "count [1,1] and a [2,2] control tensor (skip flag set)",
    state: [given([1, 1], [5])],
    args: [given([2, 2], [1, 1, 0, 0])],
    step: ([count], [control]) => {
      stepCount(count, control);
      return undefined;
    },
  },
  ...(
    [
      ["sumsq", 1, [5, 7]],
      ["sumsq", 0, [3]],
      ["nonfinite", 2, [5, 7]],
      ["sumsq", 2, []],
    ] as const
  ).map(
    ([mode, slot, shape]): StateCase => ({
      op: "grad_stats",
      name: `${mode} of a [${shape}] gradient into slot ${slot} of 3 × 4 partials`,
      state: [values([3, 4], positive)],
      args: [mode === "nonfinite" ? overflowed([...shape]) : values([...shape])],
      step: ([partials], [g]) => {
        gradStats(partials, g, { slot, parts: 4, mode });
        return undefined;
      },
    }),
  ),
  {
    op: "grad_norm",
    name: "of [3,4] partials, times ctrl[0] = 0.5",
    state: [],
    args: [values([3, 4], positive), ctrl(0.5, 0)],
    step: (_, [partials, control]) => [gradNorm(partials, control)],
  },
  {
    op: "grad_norm",
    name: "with a [2,2] control tensor (ctrl[0] = 0.25)",
    state: [],
    args: [values([5], positive), given([2, 2], [0.25, 0, 0, 0])],
    step: (_, [partials, control]) => [gradNorm(partials, control)],
  },
  {
    op: "grad_norm",
    name: "of [7] partials, no control",
    state: [],
    args: [values([7], positive)],
    step: (_, [partials]) => [gradNorm(partials)],
  },
  ...[3, 0.5].map(
    (norm): StateCase => ({
      op: "grad_clip",
      name: `max norm 1 against ${norm} (${norm > 1 ? "clipped" : "unchanged"})`,
      state: [values([5, 7])],
      args: [given([1], [norm])],
      step: ([g], [n]) => {
        gradClip(g, n, 1, 1e-6);
        return undefined;
      },
    }),
  ),
  lossScaleCase("overflow counted (nonfinite stats): back off", 1024, ctrl(1, 0, 2), [0, 2, 0]),
  lossScaleCase("no overflow: good steps grow the scale after 3", 1024, ctrl(1, 0, 2), [0, 0, 0]),
  lossScaleCase("growth capped at maxScale", 2 ** 16, ctrl(1, 0, 2), [0, 0]),
  lossScaleCase("back-off floored at minScale", 1, ctrl(1, 0, 1), [1]),
  lossScaleCase("sumsq stats, finite: no overflow", 8, ctrl(1, 1, 0), [2.5, 1, 0], {
    stats: "sumsq",
  }),
  lossScaleCase("sumsq stats with an Inf: overflow", 8, ctrl(1, 0, 1), [2.5, Infinity], {
    stats: "sumsq",
  }),
  lossScaleCase(
    "a longer [6] control keeps its extra slots",
    64,
    given([6], [1, 0, 0, 7, 8, 9]),
    [0],
  ),
  {
    op: "loss_scale_update",
    name: "scale [1,1] and a [2,3] control tensor, growth due",
    state: [given([1, 1], [32]), given([2, 3], [1, 0, 2, 7, 8, 9])],
    args: [given([2], [0, 0])],
    step: ([scale, control], [partials]) => {
      lossScaleUpdate(scale, control, partials, LOSS_SCALE);
      return undefined;
    },
  },
  {
    op: "ema_update",
    name: "decay 0.9",
    state: [values([5, 7])],
    args: [values([5, 7])],
    step: ([ema], [param]) => {
      emaUpdate(ema, param, 0.9);
      return undefined;
    },
  },
  {
    op: "ema_update",
    name: "decay as a dynamic scalar (warm-up), another on each call",
    state: [values([3, 5])],
    args: [values([3, 5])],
    dynamic: ["ema_decay"],
    scalarsAt: (call) => ({ ema_decay: [0.5, 0.95][call] }),
    step: ([ema], [param]) => {
      emaUpdate(ema, param, [0.5, 0.95][callIndex()]);
      return undefined;
    },
  },
  {
    op: "assign",
    name: "f32 [3,5]",
    state: [values([3, 5])],
    args: [values([3, 5])],
    // The step also reads dst's old value: compile.ts declares a state input that no node reads
    // (assign never reads dst) but does not feed it, and ONNX Runtime refuses the run.
    step: ([dst], [src]) => {
      const before = copy(dst);
      assign(dst, src);
      return [before];
    },
  },
  {
    op: "assign",
    name: "i32 [7]",
    state: [given([7], [1, 2, 3, 4, 5, 6, 7], "i32")],
    args: [given([7], [-3, 0, 9, 4, 2, 8, 1], "i32")],
    // The step also reads dst's old value: compile.ts declares a state input that no node reads
    // (assign never reads dst) but does not feed it, and ONNX Runtime refuses the run.
    step: ([dst], [src]) => {
      const before = copy(dst);
      assign(dst, src);
      return [before];
    },
  },
];

/** Ops whose lowering runs only inside another case's backward pass. */
const REACHED_BY_BACKWARD: Record<string, string> = {
  layernorm_backward: "layernorm",
  rmsnorm_backward: "rmsnorm",
  groupnorm_backward: "groupnorm",
  modulate_backward: "modulate",
  softmax_backward: "softmax",
  attention_backward: "attention",
};

describe("every op has a lowering and a parity case", () => {
  it("every op of the op table has an ONNX lowering", () => {
    const missing = OP_TABLE.map((op) => op.name).filter((name) => !(name in LOWERINGS));
    assert.deepEqual(missing, [], `ops without an ONNX lowering: ${missing.join(", ")}`);
    const stale = Object.keys(LOWERINGS).filter((name) => !OP_TABLE.some((op) => op.name === name));
    assert.deepEqual(stale, [], `lowerings of ops not in the op table: ${stale.join(", ")}`);
  });

  it("every op of the op table is the subject of a parity case", () => {
    const covered = new Set([
      ...Object.values(GROUPS).flatMap((cases) => cases.map((c) => c.op)),
      ...stateCases.map((c) => c.op),
    ]);
    const untested = OP_TABLE.map((op) => op.name).filter((name) => {
      const via = REACHED_BY_BACKWARD[name];
      return !covered.has(name) && !(via && covered.has(via));
    });
    assert.deepEqual(untested, [], `ops without a parity case: ${untested.join(", ")}`);
  });

  it("a mismatch fails and names the op and the case", async () => {
    // A function that computes something else on the onnx device stands in for a wrong lowering.
    const wrong: Case = {
      op: "unary",
      name: "exp, off by 1e-3 when compiled",
      inputs: [f([3, 5])],
      fn: (x) => (x.device.kind === "onnx" ? affine(unary(x, "exp"), 1.001) : unary(x, "exp")),
    };
    await assert.rejects(checkCases([wrong]), /unary \[exp, off by 1e-3 when compiled\]: output 0/);
    const wrongGrad: Case = {
      ...wrong,
      name: "exp, gradient off when compiled",
      // 1.01·eˣ − 0.01·eˣ with the second term outside autograd: eˣ, with a gradient 1.01·eˣ.
      fn: (x) =>
        x.device.kind === "onnx"
          ? sub(
              affine(unary(x, "exp"), 1.01),
              noGrad(() => affine(unary(x, "exp"), 0.01)),
            )
          : unary(x, "exp"),
    };
    await assert.rejects(
      checkCases([wrongGrad]),
      /unary \[exp, gradient off when compiled\]: gradient of input 0/,
    );
  });

  it("non-finite values must match exactly", () => {
    assert.equal(parityError([1, Number.NaN, Infinity], [1, Number.NaN, Infinity]), 0);
    assert.equal(parityError([1, 2, Infinity], [1, Number.NaN, Infinity]), Infinity);
    assert.equal(parityError([1, Number.NaN], [1, 2]), Infinity);
    assert.equal(parityError([1, -Infinity], [1, Infinity]), Infinity);
  });
});

describe("ONNX lowerings match the f64 reference", () => {
  for (const [group, cases] of Object.entries(GROUPS)) {
    it(group, async () => {
      await checkCases(cases);
    });
  }
  for (const c of stateCases) {
    it(`${c.op}: ${c.name}`, async () => {
      await checkStateCase(c);
    });
  }
});
