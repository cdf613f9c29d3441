/**
 * Lowerings of the training ops. Each in-place op becomes a function of its inputs that returns
 * the new values of the tensors it writes (see lowering.ts). Per-step scalars (bias corrections,
 * the skip flag, the clip factor) are computed once and shared by every parameter's update.
 */

import type { Meta } from "../../tensor/op.ts";
import type {
  AdamWAttrs,
  EmaAttrs,
  GradClipAttrs,
  GradStatsAttrs,
  LossScaleAttrs,
} from "../../tensor/ops/optim.ts";
import type { GraphBuilder } from "../builder.ts";
import { affine, flag, reduceSum, reshape, scalarOf, select } from "./common.ts";
import type { Lowering, LoweringTable } from "./lowering.ts";

/**
 * The control tensor's skip flag (1 when this step must change nothing) as a float scalar. The
 * control tensor may have any shape with enough elements: its slots count in flat order.
 */
function skipOf(b: GraphBuilder, ctrl: string, ctrlMeta: Meta): string {
  return flag(b, scalarOf(b, ctrl, ctrlMeta.shape.length, 1));
}

/**
 * g = grad·ctrl[0]·clip, zeroed when skipping (an overflowed gradient holds Inf/NaN). Under skip
 * the moments' betas become 1 and the learning rate 0, so every state keeps its value; that
 * costs one per-element Where instead of one per written tensor. The bias corrections then use
 * t ≥ 1: a skipped first step has t = 0, whose 1 − β^0 = 0 would turn lr / bc1 into 0/0 = NaN.
 */
const adamw: Lowering<AdamWAttrs> = ({ b, x, in: ins, attrs: a, dynamic }) => {
  const [param, grad, m, v, ctrl, count, norm] = x;
  const skip = skipOf(b, ctrl, ins[4]);
  let gscale = scalarOf(b, ctrl, ins[4].shape.length, 0);
  if (norm) {
    const n = scalarOf(b, norm, ins[6].shape.length);
    const clip = b.op("Min", [
      b.scalar(1),
      b.op("Div", [b.scalar(a.clipNorm!), affine(b, n, 1, a.clipEps!)]),
    ]);
    gscale = b.op("Mul", [gscale, clip]);
  }
  const g = select(b, skip, b.scalar(0), b.op("Mul", [grad, gscale]));
  const keepOr = (beta: number) => select(b, skip, b.scalar(1), b.scalar(beta));
  const b1 = keepOr(a.beta1);
  const b2 = keepOr(a.beta2);
  const oneMinus = (beta: string) => b.op("Sub", [b.scalar(1), beta]);
  const m2 = b.op("Add", [b.op("Mul", [m, b1]), b.op("Mul", [g, oneMinus(b1)])]);
  const v2 = b.op("Add", [b.op("Mul", [v, b2]), b.op("Mul", [b.op("Mul", [g, g]), oneMinus(b2)])]);
  const t = b.op("Max", [scalarOf(b, count, ins[5].shape.length), skip]);
  const bc1 = oneMinus(b.op("Pow", [b.scalar(a.beta1), t]));
  const bc2 = oneMinus(b.op("Pow", [b.scalar(a.beta2), t]));
  const lr = b.op("Mul", [dynamic("lr", a.lr), oneMinus(skip)]);
  const denom = affine(b, b.op("Sqrt", [b.op("Div", [v2, bc2])]), 1, a.eps);
  const step = b.op("Div", [b.op("Mul", [m2, b.op("Div", [lr, bc1])]), denom]);
  const decay = oneMinus(b.op("Mul", [lr, b.scalar(a.weightDecay)]));
  const p2 = b.op("Sub", [a.weightDecay === 0 ? param : b.op("Mul", [param, decay]), step]);
  return [p2, m2, v2];
};

const stepCount: Lowering<Record<string, never>> = ({ b, x: [count, ctrl], in: [, mc] }) => [
  b.op("Add", [count, b.op("Sub", [b.scalar(1), skipOf(b, ctrl, mc)])]),
];

/** Writes the whole statistic into the slot's first part and zeros into its other parts. */
const gradStats: Lowering<GradStatsAttrs> = ({ b, x: [partials, g], in: [mp, mg], attrs: a }) => {
  const every = mg.shape.map((_, i) => i);
  const value =
    a.mode === "sumsq"
      ? reduceSum(b, b.op("Mul", [g, g]), every, false)
      : reduceSum(
          b,
          b.op("Cast", [b.op("Or", [b.op("IsNaN", [g]), b.op("IsInf", [g])])], { to: 1 }),
          every,
          false,
        );
  const total = mp.shape.reduce((p, d) => p * d, 1);
  const base = a.slot * a.parts;
  const flat = reshape(b, partials, [-1]);
  const pieces: string[] = [];
  if (base > 0) pieces.push(b.op("Slice", [flat, b.ints([0]), b.ints([base]), b.ints([0])]));
  pieces.push(reshape(b, value, [1]));
  if (a.parts > 1) pieces.push(b.constant(new Float32Array(a.parts - 1), [a.parts - 1]));
  if (base + a.parts < total)
    pieces.push(b.op("Slice", [flat, b.ints([base + a.parts]), b.ints([total]), b.ints([0])]));
  return [reshape(b, b.op("Concat", pieces, { axis: 0 }), mp.shape)];
};

const gradNorm: Lowering<Record<string, never>> = ({ b, x: [partials, ctrl], in: [mp, mc] }) => {
  const norm = b.op("Sqrt", [
    reduceSum(
      b,
      partials,
      mp.shape.map((_, i) => i),
      false,
    ),
  ]);
  return [ctrl ? b.op("Mul", [norm, scalarOf(b, ctrl, mc.shape.length, 0)]) : norm];
};

const gradClip: Lowering<GradClipAttrs> = ({ b, x: [g, norm], in: [, mn], attrs: a }) => {
  const n = scalarOf(b, norm, mn.shape.length);
  const factor = b.op("Min", [
    b.scalar(1),
    b.op("Div", [b.scalar(a.maxNorm), affine(b, n, 1, a.eps)]),
  ]);
  return [b.op("Mul", [g, factor])];
};

const lossScaleUpdate: Lowering<LossScaleAttrs> = ({
  b,
  x: [scale, ctrl, partials],
  in: [ms, mc, mp],
  attrs: a,
}) => {
  const total = reduceSum(
    b,
    partials,
    mp.shape.map((_, i) => i),
    false,
  );
  const foundB =
    a.stats === "sumsq"
      ? b.op("Or", [b.op("IsNaN", [total]), b.op("IsInf", [total])])
      : b.op("Not", [b.op("Equal", [total, b.scalar(0)])]);
  const s = scalarOf(b, scale, ms.shape.length);
  const good = affine(b, scalarOf(b, ctrl, mc.shape.length, 2), 1, 1);
  const growB = b.op("GreaterOrEqual", [good, b.scalar(a.growthInterval)]);
  const grown = b.op("Where", [
    growB,
    b.op("Min", [b.scalar(a.maxScale), affine(b, s, a.growthFactor)]),
    s,
  ]);
  const shrunk = b.op("Max", [b.scalar(a.minScale), affine(b, s, a.backoffFactor)]);
  const s2 = b.op("Where", [foundB, shrunk, grown]);
  const good2 = b.op("Where", [foundB, b.scalar(0), b.op("Where", [growB, b.scalar(0), good])]);
  const found = b.op("Cast", [foundB], { to: 1 });
  const head = [b.op("Reciprocal", [s]), found, good2].map((v) => reshape(b, v, [1]));
  const n = mc.shape.reduce((p, d) => p * d, 1);
  const rest = b.op("Slice", [reshape(b, ctrl, [-1]), b.ints([3]), b.ints([n]), b.ints([0])]);
  return [
    reshape(b, s2, ms.shape),
    reshape(b, b.op("Concat", [...head, rest], { axis: 0 }), mc.shape),
  ];
};

/** The decay may change every step (EMA warm-up): declare "ema_decay" dynamic to feed it. */
const emaUpdate: Lowering<EmaAttrs> = ({ b, x: [ema, param], attrs: a, dynamic }) => {
  const d = dynamic("ema_decay", a.decay);
  return [
    b.op("Add", [ema, b.op("Mul", [b.op("Sub", [param, ema]), b.op("Sub", [b.scalar(1), d])])]),
  ];
};

export const optimLowerings: LoweringTable = {
  adamw,
  step_count: stepCount,
  grad_stats: gradStats,
  grad_norm: gradNorm,
  grad_clip: gradClip,
  loss_scale_update: lossScaleUpdate,
  ema_update: emaUpdate,
} as LoweringTable;
