/**
 * Lowerings of matmul (transposes as Transpose nodes, which ONNX Runtime folds into its fused
 * MatMul; the bias as Add; the activation as the elementwise nodes of the same function), conv3d
 * and its two gradients as Conv / ConvTranspose, nearest upsampling, and embedding lookups.
 */
import type {
  Conv3dAttrs,
  ConvBackwardInputAttrs,
  ConvBackwardWeightAttrs,
  UpsampleAttrs,
} from "../../tensor/ops/conv.ts";
import type { EmbeddingBackwardAttrs } from "../../tensor/ops/embedding.ts";
import type { MatmulAttrs } from "../../tensor/ops/matmul.ts";
import type { GraphBuilder } from "../builder.ts";
import { cast, reduceSum, reshape } from "./common.ts";
import { unaryNode } from "./elementwise.ts";
import type { Lowering, LoweringTable } from "./lowering.ts";

function swapLast(b: GraphBuilder, x: string, rank: number): string {
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return b.op("Transpose", [x], { perm });
}

const matmul: Lowering<MatmulAttrs> = ({ b, x, in: ins, attrs: a }) => {
  const [ma, mb] = ins;
  const A = a.transA ? swapLast(b, x[0], ma.shape.length) : x[0];
  const B = a.transB ? swapLast(b, x[1], mb.shape.length) : x[1];
  let z = b.op("MatMul", [A, B]);
  if (a.hasBias) z = b.op("Add", [z, x[2]]);
  if (a.act === "none") return [z];
  const y = unaryNode(b, a.act, z, ma.dtype);
  return a.savePre ? [y, z] : [y];
};

function convAttrs(g: { stride: number[]; padding: [number, number][] }) {
  return {
    strides: g.stride,
    pads: [...g.padding.map((p) => p[0]), ...g.padding.map((p) => p[1])],
  };
}

/**
 * One Conv; a stride-1 Conv padded in time (the causal convolutions, whose padding is kT − 1
 * blank frames in front) as several, so that the padding's zero taps are never multiplied:
 * see convSkippingTimePadding. (Stacking the time taps as channels of a 2-D Conv, for ONNX
 * Runtime's blocked 2-D kernels, measured 8 % faster on the autoencoder's training step for 27 %
 * more memory: not taken. bench/conv3d-lowering.ts compares the candidates.)
 */
const conv3d: Lowering<Conv3dAttrs> = ({ b, x, in: [mx, mw], attrs }) => {
  if (attrs.stride.every((s) => s === 1)) {
    const split = convSkippingTimePadding(b, x, mx.shape, mw.shape[2], attrs.padding);
    if (split) return [split];
  }
  return [b.op("Conv", x, convAttrs(attrs))];
};

/**
 * A stride-1 convolution padded by p0 frames in front and p1 behind, without the padding: the
 * output frames whose every tap is a real frame come from one Conv over x unpadded in time, and
 * each frame near an end from a Conv over the frames it sees with only the kernel's taps that
 * land on them; the parts are concatenated in time. On a 2-second clip (T = 5, kT = 3) a fifth
 * of the multiplications were by padding; on a one-frame image two thirds. Per layer this ran
 * 15–20 % faster at 32×32 and 16×16 but 10 % slower at 8×8, where the end frames' Convs are
 * too small to run well (bench/conv3d-lowering.ts, AMD EPYC, 2026-12-06): so it is used only
 * for frames of at least 256 positions, or when no frame is free of padding. `x` is [x, w] or
 * [x, w, bias]; returns null where one plain Conv is the better lowering.
 */
function convSkippingTimePadding(
  b: GraphBuilder,
  x: readonly string[],
  xShape: readonly number[],
  kT: number,
  padding: readonly [number, number][],
): string | null {
  const [, , T, H, W] = xShape;
  const [p0, p1] = padding[0];
  const To = T + p0 + p1 - kT + 1;
  const interior = Math.max(0, T - kT + 1);
  if ((p0 === 0 && p1 === 0) || To < 1 || (H * W < 256 && interior > 0)) return null;
  // Output frame o sees input frame o − p0 + dt through tap dt.
  const taps = (o: number): [number, number] => [
    Math.max(0, p0 - o),
    Math.min(kT - 1, T - 1 + p0 - o),
  ];
  for (let o = 0; o < To; o++) {
    const [lo, hi] = taps(o);
    if (lo > hi) return null; // a frame made of padding alone: the plain Conv gives its bias
  }
  const [xIn, w, bias] = x;
  const space = {
    strides: [1, 1, 1],
    pads: [0, padding[1][0], padding[2][0], 0, padding[1][1], padding[2][1]],
  };
  const withBias = (ins: string[]) => (bias ? [...ins, bias] : ins);
  const frame = (o: number): string => {
    const [lo, hi] = taps(o);
    const first = o - p0 + lo;
    const xs = b.op("Slice", [xIn, b.ints([first]), b.ints([first + hi - lo + 1]), b.ints([2])]);
    const ws =
      lo === 0 && hi === kT - 1
        ? w
        : b.op("Slice", [w, b.ints([lo]), b.ints([hi + 1]), b.ints([2])]); // [O, C, hi−lo+1, kH, kW]
    return b.op("Conv", withBias([xs, ws]), space); // [N, O, 1, H', W']
  };
  const parts: string[] = [];
  for (let o = 0; o < Math.min(p0, To); o++) parts.push(frame(o));
  if (interior > 0) parts.push(b.op("Conv", withBias([xIn, w]), space)); // [N, O, T − kT + 1, H', W']
  for (let o = Math.max(p0 + interior, Math.min(p0, To)); o < To; o++) parts.push(frame(o));
  return parts.length === 1 ? parts[0] : b.op("Concat", parts, { axis: 2 });
}

/**
 * dL/dx of a convolution. With stride 1 it is the convolution of the gradient with the kernel
 * flipped in every axis and its channels swapped, padded by k−1−p on each side (a causal
 * convolution's gradient is anti-causal): 1.1–1.9× faster than ConvTranspose on the
 * autoencoder's shapes (bench/conv3d-lowering.ts). Strided convolutions use ConvTranspose.
 */
const conv3dBackwardInput: Lowering<ConvBackwardInputAttrs> = ({
  b,
  x: [g, w],
  in: [mg, mw],
  attrs: a,
}) => {
  const k = mw.shape.slice(2);
  const flipPads = [0, 1].flatMap((side) => [0, 1, 2].map((i) => k[i] - 1 - a.padding[i][side]));
  if (a.stride.every((s) => s === 1) && flipPads.every((p) => p >= 0)) {
    let wf = b.op("Transpose", [w], { perm: [1, 0, 2, 3, 4] }); // [Cin, Cout, kT, kH, kW]
    for (const axis of [2, 3, 4]) {
      const n = k[axis - 2];
      if (n > 1)
        wf = b.op(
          "Gather",
          [
            wf,
            b.constant(
              Array.from({ length: n }, (_, i) => n - 1 - i),
              [n],
              "int64",
            ),
          ],
          { axis },
        );
    }
    const pads: [number, number][] = [0, 1, 2].map((i) => [flipPads[i], flipPads[i + 3]]);
    const split = convSkippingTimePadding(b, [g, wf], mg.shape, k[0], pads);
    return [split ?? b.op("Conv", [g, wf], { strides: [1, 1, 1], pads: flipPads })];
  }
  // ConvTranspose makes s·(o−1) + k − p0 − p1 positions; the forward's floor dropped the last
  // (size + p0 + p1 − k) mod s inputs, which output_padding restores as zeros.
  const outputPadding = a.inputSize.map((n, i) => {
    const natural = a.stride[i] * (mg.shape[i + 2] - 1) + k[i] - a.padding[i][0] - a.padding[i][1];
    return n - natural;
  });
  return [b.op("ConvTranspose", [g, w], { ...convAttrs(a), output_padding: outputPadding })];
};

/**
 * dL/dw[co, ci, k] = Σ_n,o g[n, co, o] · xpad[n, ci, o·s + k]: a convolution of x (channels and
 * batch swapped) with g as the kernel, dilated by the stride; the result has k + r positions per
 * axis where r is what the forward's floor dropped, so it is sliced to k.
 */
const conv3dBackwardWeight: Lowering<ConvBackwardWeightAttrs> = ({
  b,
  x: [x, g],
  in: [mx, mg],
  attrs: a,
}) => {
  if (a.stride.every((s) => s === 1)) return [weightByTaps(b, x, g, mx.shape, mg.shape, a)];
  const xt = b.op("Transpose", [x], { perm: [1, 0, 2, 3, 4] }); // [Cin, N, T, H, W]
  const gt = b.op("Transpose", [g], { perm: [1, 0, 2, 3, 4] }); // [Cout, N, To, Ho, Wo]
  const full = b.op("Conv", [xt, gt], {
    strides: [1, 1, 1],
    dilations: a.stride,
    pads: [...a.padding.map((p) => p[0]), ...a.padding.map((p) => p[1])],
  }); // [Cin, Cout, k + r]
  const sizes = [0, 1, 2].map(
    (i) =>
      mx.shape[i + 2] + a.padding[i][0] + a.padding[i][1] - (mg.shape[i + 2] - 1) * a.stride[i],
  );
  const cut = sizes.some((s, i) => s !== a.kernel[i])
    ? b.op("Slice", [full, b.ints([0, 0, 0]), b.ints(a.kernel), b.ints([2, 3, 4])])
    : full;
  return [b.op("Transpose", [cut], { perm: [1, 0, 2, 3, 4] })];
};

/**
 * dW of a stride-1 convolution, one GEMM per kernel tap over windows of the flattened grid:
 * x goes channels-last and padded in space, [N, T·Hp·Wp, C]; g is laid on the same padded grid,
 * zeros in the padding columns, [N, O, To·Hp·Wp]; then each tap (dt, dh, dw) reads the
 * contiguous window starting at its first real frame, dh·Wp + dw rows in, and
 * dW[:, :, tap] = Σ_n g[n] · window[n] over the output frames for which that tap lands on a real
 * frame (the time padding, a fifth of a 2-second clip's taps under a causal kernel, is never
 * multiplied; a tap that only ever lands on padding is zero). Every window is one block copy per
 * sample with no transpose; the padding columns cost (Hp·Wp)/(Ho·Wo) more GEMM FLOPs. On the
 * autoencoder's layers this ran 1.1–1.7× faster than shifted 3-D slices transposed into each GEMM
 * (bench/conv3d-lowering.ts, AMD EPYC, 2026-12-06); the batch-swapped, dilated Conv that strided
 * convolutions use took 110 ms for a 1×1×1 layer's 0.17 GFLOP.
 */
function weightByTaps(
  b: GraphBuilder,
  x: string,
  g: string,
  mx: readonly number[],
  mg: readonly number[],
  a: ConvBackwardWeightAttrs,
): string {
  const [N, C, T, H, W] = mx;
  const [, O, To, Ho, Wo] = mg;
  const [kT, kH, kW] = a.kernel;
  const [[t0], [h0, h1], [w0, w1]] = a.padding;
  const Hp = H + h0 + h1;
  const Wp = W + w0 + w1;
  const plane = Hp * Wp;
  // The last tap's window runs (kH−1)·Wp + kW−1 rows past its last frame: one spare frame.
  const spare = kH > 1 || kW > 1 ? 1 : 0;
  const rows = (T + spare) * plane;
  const xt = b.op("Transpose", [x], { perm: [0, 2, 3, 4, 1] }); // [N, T, H, W, C]
  const xPads = [0, 0, h0, w0, 0, 0, spare, h1, w1, 0];
  const xp = xPads.some((v) => v !== 0) ? b.op("Pad", [xt, b.ints(xPads)]) : xt; // [N, T+spare, Hp, Wp, C]
  const xf = reshape(b, xp, [N, rows, C]);
  const gp =
    Hp > Ho || Wp > Wo ? b.op("Pad", [g, b.ints([0, 0, 0, 0, 0, 0, 0, 0, Hp - Ho, Wp - Wo])]) : g; // [N, O, To, Hp, Wp]
  const gf = reshape(b, gp, [N, O, To * plane]);
  let zeros: string | null = null;
  const taps: string[] = [];
  for (let dt = 0; dt < kT; dt++) {
    // Output frames o ∈ [oa, ob] read input frame o − t0 + dt, which must be real.
    const oa = Math.max(0, t0 - dt);
    const ob = Math.min(To - 1, T - 1 + t0 - dt);
    if (oa > ob) {
      zeros ??= b.op("ConstantOfShape", [b.ints([O, C])], {
        value: { t: { dims: [1], type: "float", raw: new Uint8Array(4) } },
      });
      for (let i = 0; i < kH * kW; i++) taps.push(zeros);
      continue;
    }
    const L = (ob - oa + 1) * plane;
    const gt =
      oa === 0 && ob === To - 1
        ? gf
        : b.op("Slice", [gf, b.ints([oa * plane]), b.ints([oa * plane + L]), b.ints([2])]); // [N, O, L]
    const first = (oa - t0 + dt) * plane;
    for (let dh = 0; dh < kH; dh++)
      for (let dw = 0; dw < kW; dw++) {
        const off = first + dh * Wp + dw;
        const win =
          off === 0 && L === rows
            ? xf
            : b.op("Slice", [xf, b.ints([off]), b.ints([off + L]), b.ints([1])]); // [N, L, C]
        const per = b.op("MatMul", [gt, win]); // [N, O, C]
        taps.push(N === 1 ? reshape(b, per, [O, C]) : reduceSum(b, per, [0], false)); // [O, C]
      }
  }
  const k = kT * kH * kW;
  const stacked =
    k === 1
      ? taps[0]
      : b.op(
          "Concat",
          taps.map((t) => b.op("Unsqueeze", [t, b.ints([2])])),
          { axis: 2 },
        ); // [O, C, k]
  return reshape(b, stacked, [O, C, kT, kH, kW]);
}

const upsampleNearest: Lowering<UpsampleAttrs> = ({ b, x: [x], in: [m], attrs }) => {
  const [N, C, T, H, W] = m.shape;
  const [ft, fh, fw] = attrs.factors;
  const spread = reshape(b, x, [N, C, T, 1, H, 1, W, 1]);
  const big = b.op("Expand", [spread, b.ints([N, C, T, ft, H, fh, W, fw])]);
  return [reshape(b, big, [N, C, T * ft, H * fh, W * fw])];
};

/** Ids outside [0, V) as a 0/1 float mask [..., 1], and the ids clamped to 0 there. */
function validIds(b: GraphBuilder, ids: string, vocab: number): { safe: string; mask: string } {
  const ok = b.op("And", [
    b.op("GreaterOrEqual", [ids, b.scalar(0, "int32")]),
    b.op("Less", [ids, b.scalar(vocab, "int32")]),
  ]);
  const safe = b.op("Where", [ok, ids, b.scalar(0, "int32")]);
  const mask = b.op("Unsqueeze", [cast(b, ok, "f32"), b.ints([-1])]);
  return { safe, mask };
}

const embedding: Lowering<Record<string, never>> = ({ b, x: [table, ids], in: [mt] }) => {
  const { safe, mask } = validIds(b, ids, mt.shape[0]);
  return [b.op("Mul", [b.op("Gather", [table, safe], { axis: 0 }), mask])];
};

/** Scatter-add of the rows of g into a zero [V, D] table, in position order (ScatterND add). */
const embeddingBackward: Lowering<EmbeddingBackwardAttrs> = ({
  b,
  x: [g, ids],
  in: [mgrad],
  attrs,
}) => {
  const D = mgrad.shape[mgrad.shape.length - 1];
  const { safe, mask } = validIds(b, ids, attrs.vocab);
  const rows = reshape(b, b.op("Mul", [g, mask]), [-1, D]);
  const idx = reshape(b, b.op("Cast", [safe], { to: 7 }), [-1, 1]);
  const zeros = b.op("ConstantOfShape", [b.ints([attrs.vocab, D])], {
    value: { t: { dims: [1], type: "float", raw: new Uint8Array(4) } },
  });
  return [b.op("ScatterND", [zeros, idx, rows], { reduction: "add" })];
};

export const matmulLowerings: LoweringTable = {
  matmul,
  conv3d,
  conv3d_backward_input: conv3dBackwardInput,
  conv3d_backward_weight: conv3dBackwardWeight,
  upsample_nearest: upsampleNearest,
  embedding,
  embedding_backward: embeddingBackward,
} as LoweringTable;
