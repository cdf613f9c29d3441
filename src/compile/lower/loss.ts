/** Lowerings of the fused softmax cross-entropy and its backward (ops/loss.ts). */
import type { GraphBuilder } from "../builder.ts";
import type { Lowering, LoweringTable } from "./lowering.ts";

const ONNX_INT64 = 7;

/** Targets as int64 column [..., 1] clamped into range, and 0/1 masks of ignored and out-of-range ones. */
function targetsOf(b: GraphBuilder, targets: string, vocab: number) {
  const ignored = b.op("Less", [targets, b.scalar(0, "int32")]);
  const outOfRange = b.op("GreaterOrEqual", [targets, b.scalar(vocab, "int32")]);
  const safe = b.op("Where", [b.op("Or", [ignored, outOfRange]), b.scalar(0, "int32"), targets]);
  return { safe: b.op("Cast", [safe], { to: ONNX_INT64 }), ignored, outOfRange };
}

/** −log softmax(logits)[t]; 0 where t < 0, NaN where t ≥ V (as the reference). */
const softmaxXent: Lowering<Record<string, never>> = ({ b, x: [logits, targets], in: [ml] }) => {
  const V = ml.shape[ml.shape.length - 1];
  const { safe, ignored, outOfRange } = targetsOf(b, targets, V);
  const lse = b.op("ReduceLogSumExp", [logits], { axes: [-1], keepdims: 0 });
  const picked = b.op("Squeeze", [
    b.op("GatherElements", [logits, b.op("Unsqueeze", [safe, b.ints([-1])])], { axis: -1 }),
    b.ints([-1]),
  ]);
  const loss = b.op("Where", [outOfRange, b.scalar(Number.NaN), b.op("Sub", [lse, picked])]);
  return [b.op("Where", [ignored, b.scalar(0), loss])];
};

const softmaxXentBackward: Lowering<Record<string, never>> = ({
  b,
  x: [logits, targets, g],
  in: [ml],
}) => {
  const V = ml.shape[ml.shape.length - 1];
  const { safe, ignored, outOfRange } = targetsOf(b, targets, V);
  // (target = class) per class; unlike OneHot this also takes rank-0 targets (logits [V]).
  const classes = b.constant([...Array(V).keys()], [V], "int64");
  const onehot = b.op("Cast", [b.op("Equal", [b.op("Unsqueeze", [safe, b.ints([-1])]), classes])], {
    to: 1,
  });
  const gr = b.op("Where", [
    ignored,
    b.scalar(0),
    b.op("Where", [outOfRange, b.scalar(Number.NaN), g]),
  ]);
  const p = b.op("Softmax", [logits], { axis: -1 });
  return [b.op("Mul", [b.op("Sub", [p, onehot]), b.op("Unsqueeze", [gr, b.ints([-1])])])];
};

export const lossLowerings: LoweringTable = {
  softmax_xent: softmaxXent,
  softmax_xent_backward: softmaxXentBackward,
} as LoweringTable;
