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
 *   time-major    (--time-major) the network's activations kept [N, T, C, H, W]: one 2-D Conv over
 *                 [N·T, C, H, W] with kT·O outputs (every time tap's kernel at once), then each
 *                 frame sums its taps' outputs from the frames it sees (shifted Slices and a Sum)
 * and, for the weight gradient, the compiler's lowering today (one GEMM per tap over windows of
 * the flattened padded grid, channels-last, over the frames where each tap is real) beside the
 * same with the batch folded into each GEMM, with the column taps stacked as channels, im2col,
 * and shifted 3-D slices transposed into each GEMM.
 *
 *   node --import tsx bench/conv3d-lowering.ts [--reps 5] [--frames 5]
 *     [--weight-only | --forward-only | --time-major]
 *
 * --frames sets the latent-rate frames T of every shape (5: world-s-t4, the default for the
 * figures in bench/NOTES.md before session 9; 9: world-s).
 */
import { execSync } from "node:child_process";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../src/compile/builder.ts";
import { sessionOptions } from "../src/compile/compile.ts";
import { reshape } from "../src/compile/lower/common.ts";
import { matmulLowerings } from "../src/compile/lower/matmul.ts";

type Conv = { N: number; C: number; O: number; T: number; H: number; W: number; k: number };
const option = (name: string) =>
  process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : undefined;
const FRAMES = option("--frames") ?? 5;
const REPS = option("--reps") ?? 5;
for (const [name, v] of [
  ["--frames", FRAMES],
  ["--reps", REPS],
] as const)
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${name} must be a whole number ≥ 1, got ${v}`);
const SHAPES: Conv[] = [
  { N: 8, C: 32, O: 32, T: FRAMES, H: 32, W: 32, k: 3 },
  { N: 8, C: 64, O: 64, T: FRAMES, H: 16, W: 16, k: 3 },
  { N: 8, C: 128, O: 128, T: FRAMES, H: 8, W: 8, k: 3 },
];

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

/**
 * Time-major: x [N, T, C, H, W] (as a network kept in that layout would hold it) → y [N, T, O, H,
 * W]. One 2-D Conv computes every time tap's outputs for every frame, Z [N, T, kT·O, H, W]; frame
 * t then sums tap dt's outputs of frame t − (kT − 1) + dt, where that frame exists (causal). No
 * padded frame is multiplied; the last kT − 1 frames' early taps are computed and unused.
 */
function timeMajor(b: GraphBuilder, x: string, w: string, s: Conv): string {
  const x2 = reshape(b, x, [s.N * s.T, s.C, s.H, s.W]);
  const w2 = reshape(b, b.op("Transpose", [w], { perm: [2, 0, 1, 3, 4] }), [
    s.k * s.O,
    s.C,
    s.k,
    s.k,
  ]); // [kT·O, C, kH, kW], tap-major
  const p = (s.k - 1) / 2;
  const z = reshape(b, b.op("Conv", [x2, w2], { pads: [p, p, p, p] }), [
    s.N,
    s.T,
    s.k * s.O,
    s.H,
    s.W,
  ]); // Z
  const tap = (dt: number, t0: number, t1: number) =>
    b.op("Slice", [z, b.ints([t0, dt * s.O]), b.ints([t1, (dt + 1) * s.O]), b.ints([1, 2])]);
  const frames: string[] = [];
  // Frame t < kT − 1 sees only frames 0..t: taps kT−1−t..kT−1.
  for (let t = 0; t < Math.min(s.k - 1, s.T); t++) {
    const seen = Array.from({ length: t + 1 }, (_, j) => tap(s.k - 1 - t + j, j, j + 1));
    frames.push(seen.length === 1 ? seen[0] : b.op("Sum", seen)); // [N, 1, O, H, W]
  }
  if (s.T >= s.k)
    frames.push(
      b.op(
        "Sum",
        Array.from({ length: s.k }, (_, dt) => tap(dt, dt, s.T - s.k + 1 + dt)),
      ),
    ); // [N, T − kT + 1, O, H, W]
  return frames.length === 1 ? frames[0] : b.op("Concat", frames, { axis: 1 });
}

/**
 * Winograd F(2×2, 3×3) in space (Lavin & Gray 2015), the time taps left direct: each 4×4 input
 * tile (stride 2) becomes 16 transformed values Bᵀ d B, each 3×3 kernel 16 values G g Gᵀ; the
 * convolution is then 16 channel-mixing GEMMs (one per transformed position, K = kT·C) whose
 * results Aᵀ m A give 2×2 outputs: 16 multiplies per 4 outputs per tap row instead of 36.
 */
const WINO_BT = [
  [1, 0, -1, 0],
  [0, 1, 1, 0],
  [0, -1, 1, 0],
  [0, 1, 0, -1],
];
const WINO_G = [
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
];
const WINO_AT = [
  [1, 1, 1, 0],
  [0, 1, -1, -1],
];
/** kron(P, P) for a small matrix P [r, c]: [r·r, c·c], row (a, b), column (i, j) = P[a][i]·P[b][j]. */
function kron2(P: number[][]): number[] {
  const r = P.length;
  const c = P[0].length;
  const out: number[] = [];
  for (let a = 0; a < r; a++)
    for (let b2 = 0; b2 < r; b2++)
      for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) out.push(P[a][i] * P[b2][j]);
  return out;
}

/** The transformed kernel U [16, O, kT·C] (columns ordered dt-major, as the stacked taps). */
function winogradKernel(b: GraphBuilder, w: string, s: Conv): string {
  const gg = b.constant(kron2(WINO_G), [16, 9]); // [16, 9]
  const w9 = reshape(b, w, [s.O * s.C * s.k, 9]); // [O·C·kT, 9]
  const u = b.op("MatMul", [w9, b.op("Transpose", [gg], { perm: [1, 0] })]); // [O·C·kT, 16]
  const u4 = reshape(b, u, [s.O, s.C, s.k, 16]);
  return reshape(b, b.op("Transpose", [u4], { perm: [3, 0, 2, 1] }), [16, s.O, s.k * s.C]); // [16, O, kT·C]
}

/** Input tiles transformed by a 1-channel strided Conv: xp [N, C, Tp, H+2, W+2] → [N, C, 16, Tp, h, w]. */
function winogradInput(b: GraphBuilder, xp: string, s: Conv, Tp: number): string {
  const bk = b.constant(kron2(WINO_BT), [16, 1, 1, 4, 4]);
  const x1 = reshape(b, xp, [s.N * s.C, 1, Tp, s.H + 2, s.W + 2]);
  const v = b.op("Conv", [x1, bk], { strides: [1, 2, 2] }); // [N·C, 16, Tp, h, w]
  return reshape(b, v, [s.N, s.C, 16, Tp, s.H / 2, s.W / 2]);
}

/** Winograd with the 16 GEMMs as one batched MatMul over all tiles of all samples. */
function winogradMatMul(b: GraphBuilder, x: string, w: string, s: Conv): string {
  const h = s.H / 2;
  const wd = s.W / 2;
  const Tp = s.T + s.k - 1;
  const xp = b.op("Pad", [x, b.ints([0, 0, s.k - 1, 1, 1, 0, 0, 0, 1, 1])]); // [N, C, Tp, H+2, W+2]
  const v = winogradInput(b, xp, s, Tp); // [N, C, 16, Tp, h, w]
  const vt = b.op("Transpose", [v], { perm: [2, 1, 3, 0, 4, 5] }); // [16, C, Tp, N, h, w]
  const taps = Array.from({ length: s.k }, (_, dt) =>
    b.op("Slice", [vt, b.ints([dt]), b.ints([dt + s.T]), b.ints([2])]),
  ); // kT × [16, C, T, N, h, w]
  const P = s.T * s.N * h * wd;
  const vs = reshape(b, b.op("Concat", taps, { axis: 1 }), [16, s.k * s.C, P]); // [16, kT·C, P]
  const m = b.op("MatMul", [winogradKernel(b, w, s), vs]); // [16, O, P]
  const at = b.constant(kron2(WINO_AT), [4, 16]);
  const y4 = b.op("MatMul", [at, reshape(b, m, [16, s.O * P])]); // [4, O·P]
  const y7 = reshape(b, y4, [2, 2, s.O, s.T, s.N, h, wd]);
  return reshape(b, b.op("Transpose", [y7], { perm: [4, 2, 3, 5, 0, 6, 1] }), [
    s.N,
    s.O,
    s.T,
    s.H,
    s.W,
  ]);
}

/** Winograd with the 16 GEMMs as one grouped Conv (group per transformed position, kernel kT×1×1). */
function winogradGroupedConv(b: GraphBuilder, x: string, w: string, s: Conv): string {
  const h = s.H / 2;
  const wd = s.W / 2;
  const Tp = s.T + s.k - 1;
  const xp = b.op("Pad", [x, b.ints([0, 0, s.k - 1, 1, 1, 0, 0, 0, 1, 1])]);
  const v = winogradInput(b, xp, s, Tp); // [N, C, 16, Tp, h, w]
  const vg = reshape(b, b.op("Transpose", [v], { perm: [0, 2, 1, 3, 4, 5] }), [
    s.N,
    16 * s.C,
    Tp,
    h,
    wd,
  ]); // [N, 16·C, Tp, h, w]
  const u = reshape(b, winogradKernel(b, w, s), [16, s.O, s.k, s.C]);
  const ug = reshape(b, b.op("Transpose", [u], { perm: [0, 1, 3, 2] }), [16 * s.O, s.C, s.k, 1, 1]);
  const m = b.op("Conv", [vg, ug], { group: 16 }); // [N, 16·O, T, h, w]
  const at = b.constant(kron2(WINO_AT), [4, 16]);
  const y4 = b.op("MatMul", [at, reshape(b, m, [s.N, 16, s.O * s.T * h * wd])]); // [N, 4, O·T·h·w]
  const y7 = reshape(b, y4, [s.N, 2, 2, s.O, s.T, h, wd]);
  return reshape(b, b.op("Transpose", [y7], { perm: [0, 3, 4, 5, 1, 6, 2] }), [
    s.N,
    s.O,
    s.T,
    s.H,
    s.W,
  ]);
}

/** The causally padded input's k³ shifted copies, stacked: [N, C·k³, T·H·W] (C-major, then taps). */
function im2colColumns(b: GraphBuilder, x: string, s: Conv): string {
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
  return reshape(b, b.op("Concat", cols, { axis: 2 }), [s.N, s.C * s.k ** 3, s.T * s.H * s.W]);
}

/** Explicit im2col: [N, C·k³, T·H·W] then MatMul with [O, C·k³]. */
function im2col(b: GraphBuilder, x: string, w: string, s: Conv): string {
  const c = im2colColumns(b, x, s); // [N, C·k³, T·H·W]
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
  const c = im2colColumns(b, x, s); // [N, C·k³, T·H·W]
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
    if (oa >= s.T) {
      // No output frame sees a real input frame through this tap (a short clip): its gradient is 0.
      const zero = b.constant(new Array(s.O * s.C).fill(0), [s.O, s.C, 1]);
      for (let i = 0; i < s.k * s.k; i++) taps.push(zero);
      continue;
    }
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
    if (oa >= s.T) {
      // No output frame sees a real input frame through this tap (a short clip): its gradient is 0.
      const zero = b.constant(new Array(s.O * s.k * s.C).fill(0), [s.O, 1, s.k, s.C]);
      for (let dh = 0; dh < s.k; dh++) taps.push(zero);
      continue;
    }
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

/** dx of a stride-1 convolution: the convolution of g (time reversed) with the transposed kernel flipped in space. */
function inputAsConv(conv: (b: GraphBuilder, x: string, w: string, s: Conv) => string) {
  return (b: GraphBuilder, g: string, w: string, s: Conv): string => {
    const flipIdx = b.constant(
      Array.from({ length: s.k }, (_, i) => s.k - 1 - i),
      [s.k],
      "int64",
    );
    let wf = b.op("Transpose", [w], { perm: [1, 0, 2, 3, 4] }); // [C, O, k, k, k]
    for (const axis of [3, 4]) wf = b.op("Gather", [wf, flipIdx], { axis });
    // Causal in time forwards means anti-causal backwards: reverse time around the convolution
    // (so the time taps keep their order; only the spatial taps are flipped).
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

/** [N, A, B, P] ↔ [N, B, A, P]: channels-first video ↔ time-major, as flat data. */
function swapMiddle(v: Float32Array, N: number, A: number, B: number): Float32Array {
  const P = v.length / (N * A * B);
  const out = new Float32Array(v.length);
  for (let n = 0; n < N; n++)
    for (let a = 0; a < A; a++)
      for (let c = 0; c < B; c++)
        out.set(
          v.subarray(((n * A + a) * B + c) * P, ((n * A + a) * B + c + 1) * P),
          ((n * B + c) * A + a) * P,
        );
  return out;
}

async function time(
  build: (b: GraphBuilder, x: string, w: string, s: Conv) => string,
  s: Conv,
  kind: "forward" | "input" | "weight",
  layout: "channels-first" | "time-major" = "channels-first",
) {
  const b = new GraphBuilder();
  // A time-major candidate gets x and gives y as [N, T, C, H, W]; the data are moved outside the
  // timed graph, so its output compares with the others'.
  const tm = layout === "time-major";
  if (tm && kind !== "forward") throw new Error("time-major: forward only");
  const xShape = tm ? [s.N, s.T, s.C, s.H, s.W] : [s.N, s.C, s.T, s.H, s.W];
  const yShape = tm ? [s.N, s.T, s.O, s.H, s.W] : [s.N, s.O, s.T, s.H, s.W];
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
  const x0 = new Float32Array(n(aShape)).map((_, i) => Math.sin(i));
  const xs = tm ? swapMiddle(x0, s.N, s.C, s.T) : x0;
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
  const y = out as Float32Array;
  return { ms: ms[Math.floor(ms.length / 2)], out: tm ? swapMiddle(y, s.N, s.T, s.O) : y };
}

const lscpu = execSync("lscpu", { encoding: "utf8" });
console.log(`CPU: ${lscpu.match(/^Model name:\s*(.*)$/m)?.[1]}`);
const row = async (
  title: string,
  kind: "forward" | "input" | "weight",
  cands: [
    string,
    (b: GraphBuilder, x: string, w: string, s: Conv) => string,
    ("channels-first" | "time-major")?,
  ][],
) => {
  console.log(
    `\n${title}\n\n| shape [N, C→O, T, H, W] | GFLOP | ${cands.map(([n]) => `${n} ms (GFLOP/s)`).join(" | ")} | max |Δ| |`,
  );
  console.log(`| --- | --- | ${cands.map(() => "---").join(" | ")} | --- |`);
  for (const s of SHAPES) {
    const gflop = (2 * s.N * s.O * s.C * s.k ** 3 * s.T * s.H * s.W) / 1e9;
    const res = [];
    for (const [, f, layout] of cands) res.push(await time(f, s, kind, layout));
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
if (process.argv.includes("--time-major")) {
  // Today's lowering timed before and after the candidate: the machine's drift shows as their gap.
  await row("Forward, time-major layout", "forward", [
    ["causal split (today)", conv3dCausalSplit],
    ["time-major", timeMajor, "time-major"],
    ["causal split, again", conv3dCausalSplit],
  ]);
  process.exit(0);
}
if (!only)
  await row("Forward", "forward", [
    ["conv3d", conv3d],
    ["conv3d causal split", conv3dCausalSplit],
    ["conv2d-taps", conv2dTaps],
    ["im2col", im2col],
    ["winograd MatMul", winogradMatMul],
    ["winograd grouped Conv", winogradGroupedConv],
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
