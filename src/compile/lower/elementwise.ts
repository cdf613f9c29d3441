/**
 * Lowerings of the elementwise family (unary, binary, fill, cast, expand) and of fused chains,
 * which are expanded back into the same unary and binary nodes (ONNX Runtime's CPU provider
 * fuses what it recognises; the rest runs as separate vectorised passes).
 */
import type { DType } from "../../tensor/dtype.ts";
import type {
  BinaryAttrs,
  BinaryFn,
  CastAttrs,
  ExpandAttrs,
  FillAttrs,
  UnaryAttrs,
  UnaryFn,
} from "../../tensor/ops/elementwise.ts";
import type { FusedAttrs, FusedOperand } from "../../tensor/ops/fused.ts";
import type { GraphBuilder } from "../builder.ts";
import { ONNX_TYPE } from "../proto.ts";
import { affine, cast } from "./common.ts";
import type { Lowering, LoweringTable } from "./lowering.ts";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** The tanh GELU as x·sigmoid(u), u = x·(A + B·x²): the same function as 0.5·x·(1 + tanh(z)) with u = 2z, in fewer nodes. */
const GELU_A = 2 * SQRT_2_OVER_PI;
const GELU_B = GELU_A * 0.044715;

/** u = x·(A + B·x²) and sigmoid(u), shared by gelu and gelu_grad (the builder makes each node once). */
function geluSigmoid(b: GraphBuilder, x: string): string {
  const x2 = b.op("Mul", [x, x]);
  const u = b.op("Mul", [x, affine(b, x2, GELU_B, GELU_A)]);
  return b.op("Sigmoid", [u]);
}

export function unaryNode(
  b: GraphBuilder,
  fn: UnaryFn,
  x: string,
  dtype: DType,
  alpha = 1,
  beta = 0,
): string {
  switch (fn) {
    case "neg":
      return b.op("Neg", [x]);
    case "exp":
      return b.op("Exp", [x]);
    case "log":
      return b.op("Log", [x]);
    case "sqrt":
      return b.op("Sqrt", [x]);
    case "rsqrt":
      return b.op("Reciprocal", [b.op("Sqrt", [x])]);
    case "abs":
      return b.op("Abs", [x]);
    case "sign":
      // (x > 0) − (x < 0), not Sign: the reference's sign of NaN is 0, Sign's is NaN.
      return b.op("Sub", [
        cast(b, b.op("Greater", [x, b.scalar(0)]), dtype),
        cast(b, b.op("Less", [x, b.scalar(0)]), dtype),
      ]);
    case "relu":
      return b.op("Relu", [x]);
    case "step":
      return cast(b, b.op("Greater", [x, b.scalar(0)]), dtype);
    case "gelu":
      return b.op("Mul", [x, geluSigmoid(b, x)]);
    case "gelu_grad": {
      // d/dx x·s(u) = s + x·s·(1−s)·(A + 3B·x²)
      const s = geluSigmoid(b, x);
      const du = affine(b, b.op("Mul", [x, x]), 3 * GELU_B, GELU_A);
      const oneMinusS = affine(b, s, -1, 1);
      const inner = b.op("Mul", [b.op("Mul", [x, oneMinusS]), du]);
      return b.op("Mul", [s, affine(b, inner, 1, 1)]);
    }
    case "silu":
      return b.op("Mul", [x, b.op("Sigmoid", [x])]);
    case "silu_grad": {
      const s = b.op("Sigmoid", [x]);
      return b.op("Mul", [s, affine(b, b.op("Mul", [x, affine(b, s, -1, 1)]), 1, 1)]);
    }
    case "tanh":
      return b.op("Tanh", [x]);
    case "sigmoid":
      return b.op("Sigmoid", [x]);
    case "square":
      return b.op("Mul", [x, x]);
    case "recip":
      return b.op("Reciprocal", [x]);
    case "sin":
      return b.op("Sin", [x]);
    case "cos":
      return b.op("Cos", [x]);
    case "affine":
      return affine(b, x, alpha, beta);
    case "notfinite":
      return cast(b, b.op("Or", [b.op("IsNaN", [x]), b.op("IsInf", [x])]), dtype);
  }
}

const BINARY_OP: Record<BinaryFn, string> = {
  add: "Add",
  sub: "Sub",
  mul: "Mul",
  div: "Div",
  max: "Max",
  min: "Min",
  gt: "Greater",
  ge: "GreaterOrEqual",
  lt: "Less",
  eq: "Equal",
};

export function binaryNode(
  b: GraphBuilder,
  fn: BinaryFn,
  x: string,
  y: string,
  dtype: DType,
): string {
  const out = b.op(BINARY_OP[fn], [x, y]);
  // Comparisons give booleans; the engine's give 1/0 in the operands' dtype.
  return fn === "gt" || fn === "ge" || fn === "lt" || fn === "eq" ? cast(b, out, dtype) : out;
}

const unary: Lowering<UnaryAttrs> = ({ b, x: [x], in: [m], attrs: a }) => [
  unaryNode(b, a.fn, x, m.dtype, a.alpha ?? 1, a.beta ?? 0),
];

const binary: Lowering<BinaryAttrs> = ({ b, x: [x, y], in: [m], attrs }) => [
  binaryNode(b, attrs.fn, x, y, m.dtype),
];

const fill: Lowering<FillAttrs> = ({ b, out: [o], attrs }) => {
  const type = o.dtype === "i32" ? "int32" : "float";
  const raw =
    type === "int32"
      ? new Uint8Array(Int32Array.of(attrs.value).buffer)
      : new Uint8Array(Float32Array.of(attrs.value).buffer);
  return [b.op("ConstantOfShape", [b.ints(o.shape)], { value: { t: { dims: [1], type, raw } } })];
};

const castLowering: Lowering<CastAttrs> = ({ b, x: [x], attrs }) => [
  b.op("Cast", [x], {
    to: ONNX_TYPE[attrs.dtype === "i32" ? "int32" : attrs.dtype === "f16" ? "float16" : "float"],
  }),
];

const expand: Lowering<ExpandAttrs> = ({ b, x: [x], attrs }) => [
  b.op("Expand", [x, b.ints(attrs.shape)]),
];

const fused: Lowering<FusedAttrs> = ({ b, x, in: ins, attrs }) => {
  const dtype = ins[0].dtype;
  const values: string[] = [];
  const shapes: (readonly number[])[] = [];
  const operand = (o: FusedOperand): string =>
    typeof o === "number" ? b.scalar(o) : "input" in o ? x[o.input] : values[o.step];
  const shapeOf = (o: FusedOperand): readonly number[] =>
    typeof o === "number" ? [] : "input" in o ? ins[o.input].shape : shapes[o.step];
  for (const s of attrs.steps) {
    if ("unary" in s) {
      values.push(unaryNode(b, s.unary, operand(s.x), dtype, s.alpha ?? 1, s.beta ?? 0));
      shapes.push(shapeOf(s.x));
    } else {
      values.push(binaryNode(b, s.binary, operand(s.a), operand(s.b), dtype));
      shapes.push(outShape([shapeOf(s.a), shapeOf(s.b)]));
    }
  }
  // The program's result has the broadcast shape of all inputs even when its last step does not
  // read every input (e.g. a constant times one input).
  const want = outShape(ins.map((m) => m.shape));
  const last = values[values.length - 1];
  const got = shapes[shapes.length - 1];
  const same = got.length === want.length && got.every((d, i) => d === want[i]);
  return [same ? last : b.op("Expand", [last, b.ints(want)])];
};

function outShape(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes)
    s.forEach((d, i) => {
      const j = rank - s.length + i;
      if (d !== 1) out[j] = d;
    });
  return out;
}

export const elementwiseLowerings: LoweringTable = {
  unary,
  binary,
  fill,
  cast: castLowering,
  expand,
  fused,
} as LoweringTable;
