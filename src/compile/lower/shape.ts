/**
 * Lowerings of reductions (max with the reference's NaN rule) and of the ops that move data:
 * reshape, permute, concat, slice, pad.
 */
import type { ReduceAttrs } from "../../tensor/ops/reduce.ts";
import type {
  ConcatAttrs,
  PadAttrs,
  PermuteAttrs,
  ReshapeAttrs,
  SliceAttrs,
} from "../../tensor/ops/shape.ts";
import { ONNX_TYPE } from "../proto.ts";
import { cast, reduceMean, reduceSum, reshape as reshapeNode } from "./common.ts";
import type { Lowering, LoweringTable } from "./lowering.ts";

const reduce: Lowering<ReduceAttrs> = ({ b, x: [x], in: [m], out: [o], attrs: a }) => {
  if (a.axes.length === 0) return [b.op("Identity", [x])];
  const empty = a.axes.some((ax) => m.shape[ax] === 0);
  if (empty) {
    // Sums over nothing are 0 (and means NaN, as 0/0 in the reference).
    const v = a.fn === "mean" ? Number.NaN : 0;
    return [
      b.op("ConstantOfShape", [b.ints(o.shape)], {
        value: { t: { dims: [1], type: "float", raw: new Uint8Array(Float32Array.of(v).buffer) } },
      }),
    ];
  }
  const keep = a.keepDims;
  if (a.fn === "sum") return [reduceSum(b, x, a.axes, keep)];
  if (a.fn === "mean") return [reduceMean(b, x, a.axes, keep)];
  // ONNX Runtime's ReduceMax drops a NaN or keeps it depending on where it sits in the row; the
  // reference's max of a row holding NaN is NaN, so rows with a NaN are set apart.
  const attrs = { axes: a.axes, keepdims: keep ? 1 : 0 };
  const nanRow = b.op("ReduceMax", [cast(b, b.op("IsNaN", [x]), "f32")], attrs);
  return [
    b.op("Where", [
      b.op("Cast", [nanRow], { to: ONNX_TYPE.bool }),
      b.scalar(Number.NaN),
      b.op("ReduceMax", [x], attrs),
    ]),
  ];
};

const reshape: Lowering<ReshapeAttrs> = ({ b, x: [x], attrs }) => [reshapeNode(b, x, attrs.shape)];

const permute: Lowering<PermuteAttrs> = ({ b, x: [x], attrs }) => [
  b.op("Transpose", [x], { perm: attrs.perm }),
];

const concat: Lowering<ConcatAttrs> = ({ b, x, attrs }) => [
  x.length === 1 ? b.op("Identity", x) : b.op("Concat", x, { axis: attrs.axis }),
];

const slice: Lowering<SliceAttrs> = ({ b, x: [x], in: [m], attrs: a }) => {
  const axes = m.shape
    .map((_, i) => i)
    .filter((i) => a.starts[i] !== 0 || a.ends[i] !== m.shape[i]);
  // A full slice is the engine's copy: the values are immutable here, so no node is needed.
  if (axes.length === 0) return [b.op("Identity", [x])];
  return [
    b.op("Slice", [
      x,
      b.ints(axes.map((i) => a.starts[i])),
      b.ints(axes.map((i) => a.ends[i])),
      b.ints(axes),
    ]),
  ];
};

const pad: Lowering<PadAttrs> = ({ b, x: [x], in: [m], attrs: a }) => {
  const value = m.dtype === "i32" ? b.scalar(a.value, "int32") : b.scalar(a.value);
  return [b.op("Pad", [x, b.ints([...a.before, ...a.after]), value], { mode: "constant" })];
};

/** assign: the destination's new value is the source, cast to its dtype (the old value is not read). */
const assign: Lowering<Record<string, never>> = ({ b, x: [, src], in: [md, ms] }) => {
  const v =
    md.dtype === ms.dtype
      ? b.op("Identity", [src])
      : b.op("Cast", [src], { to: md.dtype === "i32" ? 6 : 1 });
  return [reshapeNode(b, v, md.shape)];
};

export const shapeLowerings: LoweringTable = {
  reduce,
  reshape,
  permute,
  concat,
  slice,
  pad,
  assign,
} as LoweringTable;
