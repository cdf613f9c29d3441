/**
 * Which ONNX lowering of a causal 3×3×3 video convolution (stride 1) runs fastest in ONNX
 * Runtime on this CPU: measured, on the autoencoder's shapes, for the forward and both
 * gradients. Candidates:
 *   conv3d        one Conv over [N, C, T, H, W] (ONNX Runtime's generic N-d im2col path)
 *   causal split  the frames free of time padding as one Conv, each end frame as its own Conv
 *                 with only its real taps (what the compiler does for grids of ≥ 256 positions)
 *   conv2d-taps   the kT time taps stacked as channels of one 2-D Conv over [N·T, kT·C, H, W]
 *                 (ONNX Runtime's NCHWc 2-D convolution kernels), with transposes around it
 *   im2col        the kT·kH·kW shifted copies of x stacked, then one MatMul
 * and, for the weight gradient, the compiler's lowering today (one GEMM per tap over windows of
 * the flattened padded grid, channels-last, over the frames where each tap is real) beside the
 * same with the batch folded into each GEMM, with the column taps stacked as channels, im2col,
 * and shifted 3-D slices transposed into each GEMM.
 *
 *   node --import tsx bench/conv3d-lowering.ts [--reps 5] [--weight-only | --forward-only]
 */
import { execSync } from "node:child_process";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../src/compile/builder.ts";
import { sessionOptions } from "../src/compile/compile.ts";
import { reshape } from "../src/compile/lower/common.ts";
import { matmulLowerings } from "../src/compile/lower/matmul.ts";

type Conv = { N: number; C: number; O: number; T: number; H: number; W: number; k: number };
const SHAPES: Conv[] = [
  { N: 8, C: 32, O: 32, T: 5, H: 32, W: 32, k: 3 },
  { N: 8, C: 64, O: 64, T: 5, H: 16, W: 16, k: 3 },
  { N: 8, C: 128, O: 128, T: 5, H: 8, W: 8, k: 3 },
];
const REPS = Number(process.argv[process.argv.indexOf("--reps") + 1]) || 5;

/** Causal padding: kT−1 frames in front, (k−1)/2 around in space. */
function pads(s: Conv): number[] {
  const p = (s.k - 1) / 2;
  return [s.k - 1, p, p, 0, p, p];
}

function conv3d(b: GraphBuilder, x: string, w: string, s: Conv): string {
  return b.op("Conv", [x, w], { pads: pads(s), strides: [1, 1, 1] });
}

/**
 * Causal padding skipped: the frames whose every tap is real as one Conv over x unpadded in time,
 * and each of the first kT−1 frames as a Conv over the frames it sees with only its real taps;
 * the front padding's zero taps (a fifth of the FLOPs at T = 5) are never multiplied.
 */
function conv3dCausalSplit(b: GraphBuilder, x: string, w: string, s: Conv): string {
  const p = (s.k - 1) / 2;
  const space = { pads: [0, p, p, 0, p, p], strides: [1, 1, 1] };
  const parts: string[] = [];
  for (let j = 0; j < Math.min(s.k - 1, s.T); j++) {
    const xs = b.op("Slice", [x, b.ints([0]), b.ints([j + 1]), b.ints([2])]); // [N, C, j+1, H, W]
    const ws = b.op("Slice", [w, b.ints([s.k - 1 - j]), b.ints([s.k]), b.ints([2])]); // [O, C, j+1, k, k]
    parts.push(b.op("Conv", [xs, ws], space)); // [N, O, 1, H, W]
  }
  if (s.T >= s.k) parts.push(b.op("Conv", [x, w], space)); // [N, O, T−k+1, H, W]
  return parts.length === 1 ? parts[0] : b.op("Concat", parts, { axis: 2 });
}

/** Time taps folded into channels: one 2-D convolution. */
function conv2dTaps(b: GraphBuilder, x: string, w: string, s: Conv): string {
  const p = (s.k - 1) / 2;
  const xp = b.op("Pad", [x, b.ints([0, 0, s.k - 1, 0, 0, 0, 0, 0, 0, 0])]); // [N, C, T+k−1, H, W]
  const xt = b.op("Transpose", [xp], { perm: [0, 2, 1, 3, 4] }); // [N, T+k−1, C, H, W]
  const taps = Array.from({ length: s.k }, (_, dt) =>
    b.op("Slice", [xt, b.ints([dt]), b.ints([dt + s.T]), b.ints([1])]),
  ); // k × [N, T, C, H, W]
  const stacked = reshape(b, b.op("Concat", taps, { axis: 2 }), [s.N * s.T, s.k * s.C, s.H, s.W]);
  const w2 = reshape(b, b.op("Transpose", [w], { perm: [0, 2, 1, 3, 4] }), [
    s.O,
    s.k * s.C,
    s.k,
    s.k,
  ]);
  const y = b.op("Conv", [stacked, w2], { pads: [p, p, p, p] }); // [N·T, O, H, W]
  return b.op("Transpose", [reshape(b, y, [s.N, s.T, s.O, s.H, s.W])], { perm: [0, 2, 1, 3, 4] });
}

/** Explicit im2col: [N, C·k³, T·H·W] then MatMul with [O, C·k³]. */
function im2col(b: GraphBuilder, x: string, w: string, s: Conv): string {
  const p = (s.k - 1) / 2;
  const xp = b.op("Pad", [x, b.ints([0, 0, s.k - 1, p, p, 0, 0, 0, p, p])]);
  const cols: string[] = [];
  for (let dt = 0; dt < s.k; dt++)
    for (let dh = 0; dh < s.k; dh++)
      for (let dw = 0; dw < s.k; dw++)
        cols.push(
          b.op("Unsqueeze", [
            b.op("Slice", [
              xp,
              b.ints([dt, dh, dw]),
              b.ints([dt + s.T, dh + s.H, dw + s.W]),
              b.ints([2, 3, 4]),
            ]),
            b.ints([2]),
          ]),
        ); // [N, C, 1, T, H, W]
  const c = reshape(b, b.op("Concat", cols, { axis: 2 }), [s.N, s.C * s.k ** 3, s.T * s.H * s.W]);
  const y = b.op("MatMul", [reshape(b, w, [s.O, s.C * s.k ** 3]), c]); // [N, O, THW]
  return reshape(b, y, [s.N, s.O, s.T, s.H, s.W]);
}

/** The lowerings the compiler uses today, for the gradients. */
function viaLowering(name: "conv3d_backward_input" | "conv3d_backward_weight") {
  return (b: GraphBuilder, x: string, w: string, s: Conv): string => {
    const p = (s.k - 1) / 2;
    const geo = {
      stride: [1, 1, 1],
      padding: [
        [s.k - 1, 0],
        [p, p],
        [p, p],
      ],
    };
    const y = [s.N, s.O, s.T, s.H, s.W];
    // For the weight gradient, "w" carries g (shaped like y); for the input gradient, "x" does.
    const lower = matmulLowerings[name] as never as (a: unknown) => string[];
    return name === "conv3d_backward_weight"
      ? lower({
          b,
          x: [x, w],
          in: [
            { shape: [s.N, s.C, s.T, s.H, s.W], dtype: "f32" },
            { shape: y, dtype: "f32" },
          ],
          out: [],
          attrs: { ...geo, kernel: [s.k, s.k, s.k] },
          dynamic: () => "",
        })[0]
      : lower({
          b,
          x: [x, w],
          in: [
            { shape: y, dtype: "f32" },
            { shape: [s.O, s.C, s.k, s.k, s.k], dtype: "f32" },
          ],
          out: [],
          attrs: { ...geo, inputSize: [s.T, s.H, s.W] },
          dynamic: () => "",
        })[0];
  };
}

/** dW by im2col: per sample g [O, THW] · colsᵀ [THW, C·k³], summed over the batch. */
function weightIm2col(b: GraphBuilder, x: string, g: string, s: Conv): string {
  const p = (s.k - 1) / 2;
  const xp = b.op("Pad", [x, b.ints([0, 0, s.k - 1, p, p, 0, 0, 0, p, p])]);
  const cols: string[] = [];
  for (let dt = 0; dt < s.k; dt++)
    for (let dh = 0; dh < s.k; dh++)
      for (let dw = 0; dw < s.k; dw++)
        cols.push(
          b.op("Unsqueeze", [
            b.op("Slice", [
              xp,
              b.ints([dt, dh, dw]),
              b.ints([dt + s.T, dh + s.H, dw + s.W]),
              b.ints([2, 3, 4]),
            ]),
            b.ints([2]),
          ]),
        );
  const c = reshape(b, b.op("Concat", cols, { axis: 2 }), [s.N, s.C * s.k ** 3, s.T * s.H * s.W]);
  const gr = reshape(b, g, [s.N, s.O, s.T * s.H * s.W]);
  const per = b.op("MatMul", [gr, b.op("Transpose", [c], { perm: [0, 2, 1] })]); // [N, O, C·k³]
  return reshape(b, b.op("ReduceSum", [per, b.ints([0])], { keepdims: 0 }), [
    s.O,
    s.C,
    s.k,
    s.k,
    s.k,
  ]);
}

/**
 * The weight gradient candidates' layout: x channels-last, padded in space and by one spare frame,
 * flattened to [N, rows, C]; g padded to the same grid and flattened to [N, O, T·plane].
 */
function flatGrids(b: GraphBuilder, x: string, g: string, s: Conv) {
  const p = (s.k - 1) / 2;
  const Wp = s.W + 2 * p;
  const plane = (s.H + 2 * p) * Wp;
  const rows = (s.T + 1) * plane;
  const xt = b.op("Transpose", [x], { perm: [0, 2, 3, 4, 1] }); // [N, T, H, W, C]
  const xp = b.op("Pad", [xt, b.ints([0, 0, p, p, 0, 0, 1, p, p, 0])]); // [N, T+1, Hp, Wp, C]
  const gp = b.op("Pad", [g, b.ints([0, 0, 0, 0, 0, 0, 0, 0, 2 * p, 2 * p])]); // [N, O, T, Hp, Wp]
  return {
    Wp,
    plane,
    rows,
    xf: reshape(b, xp, [s.N, rows, s.C]),
    gf: reshape(b, gp, [s.N, s.O, s.T * plane]),
  };
}

/**
 * dW as today's flat windows, but with the batch folded into each GEMM's inner dimension: g is
 * transposed once to [O, N, To·Hp·Wp], so each tap is one [O, N·L]·[N·L, C] GEMM and no
 * ReduceSum over the batch follows.
 */
function weightFoldedBatch(b: GraphBuilder, x: string, g: string, s: Conv): string {
  const { Wp, plane, xf, gf } = flatGrids(b, x, g, s);
  const gt = b.op("Transpose", [gf], { perm: [1, 0, 2] }); // [O, N, T·plane]
  const taps: string[] = [];
  const t0 = s.k - 1;
  for (let dt = 0; dt < s.k; dt++) {
    const oa = Math.max(0, t0 - dt);
    const L = (s.T - oa) * plane;
    const gs =
      oa === 0 ? gt : b.op("Slice", [gt, b.ints([oa * plane]), b.ints([s.T * plane]), b.ints([2])]);
    const g2 = reshape(b, gs, [s.O, s.N * L]);
    const first = (oa - t0 + dt) * plane;
    for (let dh = 0; dh < s.k; dh++)
      for (let dw = 0; dw < s.k; dw++) {
        const off = first + dh * Wp + dw;
        const win = b.op("Slice", [xf, b.ints([off]), b.ints([off + L]), b.ints([1])]); // [N, L, C]
        const per = b.op("MatMul", [g2, reshape(b, win, [s.N * L, s.C])]); // [O, C]
        taps.push(b.op("Unsqueeze", [per, b.ints([2])]));
      }
  }
  return reshape(b, b.op("Concat", taps, { axis: 2 }), [s.O, s.C, s.k, s.k, s.k]);
}

/**
 * dW as today's flat windows, with the kW column taps stacked as channels first: x3 [N, rows, kW·C]
 * holds x shifted by 0..kW−1 rows side by side, so each (dt, dh) is one [O, L]·[L, kW·C] GEMM
 * (kT·kH GEMMs per layer instead of kT·kH·kW, each kW times wider).
 */
function weightStackedColumns(b: GraphBuilder, x: string, g: string, s: Conv): string {
  const { Wp, plane, rows, xf, gf } = flatGrids(b, x, g, s);
  const shifted = Array.from({ length: s.k }, (_, dw) =>
    b.op("Slice", [xf, b.ints([dw]), b.ints([rows - s.k + 1 + dw]), b.ints([1])]),
  );
  const x3 = b.op("Concat", shifted, { axis: 2 }); // [N, rows − k + 1, k·C]
  const t0 = s.k - 1;
  const taps: string[] = [];
  for (let dt = 0; dt < s.k; dt++) {
    const oa = Math.max(0, t0 - dt);
    const L = (s.T - oa) * plane;
    const gs =
      oa === 0 ? gf : b.op("Slice", [gf, b.ints([oa * plane]), b.ints([s.T * plane]), b.ints([2])]);
    const first = (oa - t0 + dt) * plane;
    for (let dh = 0; dh < s.k; dh++) {
      const off = first + dh * Wp;
      const win = b.op("Slice", [x3, b.ints([off]), b.ints([off + L]), b.ints([1])]); // [N, L, k·C]
      const per = b.op("ReduceSum", [b.op("MatMul", [gs, win]), b.ints([0])], { keepdims: 0 }); // [O, k·C]
      taps.push(reshape(b, per, [s.O, 1, s.k, s.C])); // [O, 1, kW, C]
    }
  }
  const all = b.op("Concat", taps, { axis: 1 }); // [O, kT·kH, kW, C]
  return reshape(b, b.op("Transpose", [all], { perm: [0, 3, 1, 2] }), [s.O, s.C, s.k, s.k, s.k]);
}

/** dW as one GEMM per tap over shifted 3-D slices of x, each transposed into the GEMM (until 2026-12-06). */
function weightShiftedSlices(b: GraphBuilder, x: string, g: string, s: Conv): string {
  const p = (s.k - 1) / 2;
  const xp = b.op("Pad", [x, b.ints([0, 0, s.k - 1, p, p, 0, 0, 0, p, p])]);
  const g3 = reshape(b, g, [s.N, s.O, s.T * s.H * s.W]);
  const taps: string[] = [];
  for (let dt = 0; dt < s.k; dt++)
    for (let dh = 0; dh < s.k; dh++)
      for (let dw = 0; dw < s.k; dw++) {
        const shifted = b.op("Slice", [
          xp,
          b.ints([dt, dh, dw]),
          b.ints([dt + s.T, dh + s.H, dw + s.W]),
          b.ints([2, 3, 4]),
        ]); // [N, C, T, H, W]
        const xs = b.op("Transpose", [reshape(b, shifted, [s.N, s.C, s.T * s.H * s.W])], {
          perm: [0, 2, 1],
        });
        const per = b.op("MatMul", [g3, xs]); // [N, O, C]
        taps.push(
          b.op("Unsqueeze", [b.op("ReduceSum", [per, b.ints([0])], { keepdims: 0 }), b.ints([2])]),
        );
      }
  return reshape(b, b.op("Concat", taps, { axis: 2 }), [s.O, s.C, s.k, s.k, s.k]);
}

/** dx of a stride-1 convolution: the convolution of g with the flipped, transposed kernel. */
function inputAsConv(conv: (b: GraphBuilder, x: string, w: string, s: Conv) => string) {
  return (b: GraphBuilder, g: string, w: string, s: Conv): string => {
    const flipIdx = b.constant(
      Array.from({ length: s.k }, (_, i) => s.k - 1 - i),
      [s.k],
      "int64",
    );
    let wf = b.op("Transpose", [w], { perm: [1, 0, 2, 3, 4] }); // [C, O, k, k, k]
    for (const axis of [2, 3, 4]) wf = b.op("Gather", [wf, flipIdx], { axis });
    // Causal in time forwards means anti-causal backwards: reverse time around the convolution.
    const rev = b.constant(
      Array.from({ length: s.T }, (_, i) => s.T - 1 - i),
      [s.T],
      "int64",
    );
    const gr = b.op("Gather", [g, rev], { axis: 2 });
    const y = conv(b, gr, wf, { ...s, C: s.O, O: s.C });
    return b.op("Gather", [y, rev], { axis: 2 });
  };
}

async function time(
  build: (b: GraphBuilder, x: string, w: string, s: Conv) => string,
  s: Conv,
  kind: "forward" | "input" | "weight",
) {
  const b = new GraphBuilder();
  const xShape = [s.N, s.C, s.T, s.H, s.W];
  const yShape = [s.N, s.O, s.T, s.H, s.W];
  const wShape = [s.O, s.C, s.k, s.k, s.k];
  const [aShape, bShape, outShape] =
    kind === "forward"
      ? [xShape, wShape, yShape]
      : kind === "input"
        ? [yShape, wShape, xShape]
        : [xShape, yShape, wShape];
  const x = b.input("x", "f32", aShape);
  const w = b.input("w", "f32", bShape);
  b.output(build(b, x, w, s), "y", "f32", outShape);
  const session = await ort.InferenceSession.create(b.encode(), sessionOptions());
  const n = (sh: number[]) => sh.reduce((p, d) => p * d, 1);
  const xs = new Float32Array(n(aShape)).map((_, i) => Math.sin(i));
  const ws = new Float32Array(n(bShape)).map((_, i) => Math.cos(i) * 0.1);
  const feeds = {
    x: new ort.Tensor("float32", xs, aShape),
    w: new ort.Tensor("float32", ws, bShape),
  };
  let out: Float32Array | null = null;
  for (let i = 0; i < 2; i++) out = (await session.run(feeds)).y.data as Float32Array;
  const ms: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { ms: ms[Math.floor(ms.length / 2)], out: out as Float32Array };
}

const lscpu = execSync("lscpu", { encoding: "utf8" });
console.log(`CPU: ${lscpu.match(/^Model name:\s*(.*)$/m)?.[1]}`);
const row = async (
  title: string,
  kind: "forward" | "input" | "weight",
  cands: [string, (b: GraphBuilder, x: string, w: string, s: Conv) => string][],
) => {
  console.log(
    `\n${title}\n\n| shape [N, C→O, T, H, W] | GFLOP | ${cands.map(([n]) => `${n} ms (GFLOP/s)`).join(" | ")} | max |Δ| |`,
  );
  console.log(`| --- | --- | ${cands.map(() => "---").join(" | ")} | --- |`);
  for (const s of SHAPES) {
    const gflop = (2 * s.N * s.O * s.C * s.k ** 3 * s.T * s.H * s.W) / 1e9;
    const res = [];
    for (const [, f] of cands) res.push(await time(f, s, kind));
    let diff = 0;
    for (const r of res.slice(1))
      for (let i = 0; i < r.out.length; i++)
        diff = Math.max(diff, Math.abs(r.out[i] - res[0].out[i]) / (1 + Math.abs(res[0].out[i])));
    console.log(
      `| [${s.N}, ${s.C}→${s.O}, ${s.T}, ${s.H}, ${s.W}] | ${gflop.toFixed(2)} | ${res.map((r) => `${r.ms.toFixed(1)} (${(gflop / (r.ms / 1000)).toFixed(0)})`).join(" | ")} | ${diff.toExponential(1)} |`,
    );
  }
};
const only = process.argv.includes("--weight-only");
const fwdOnly = process.argv.includes("--forward-only");
if (!only)
  await row("Forward", "forward", [
    ["conv3d", conv3d],
    ["conv3d causal split", conv3dCausalSplit],
    ["conv2d-taps", conv2dTaps],
    ["im2col", im2col],
  ]);
if (!only && !fwdOnly)
  await row("Input gradient", "input", [
    ["ConvTranspose (today)", viaLowering("conv3d_backward_input")],
    ["conv3d of flipped kernel", inputAsConv(conv3d)],
    ["causal split of flipped kernel", inputAsConv(conv3dCausalSplit)],
    ["conv2d-taps of flipped kernel", inputAsConv(conv2dTaps)],
  ]);
if (!fwdOnly)
  await row("Weight gradient", "weight", [
    ["flat windows (today)", viaLowering("conv3d_backward_weight")],
    ["flat windows, batch folded into K", weightFoldedBatch],
    ["flat windows, column taps stacked", weightStackedColumns],
    ["im2col MatMul", weightIm2col],
    ["shifted 3-D slices (before)", weightShiftedSlices],
  ]);
