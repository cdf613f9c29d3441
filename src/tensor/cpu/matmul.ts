/**
 * CPU reference matmul: plain loops with f64 accumulation, batch broadcasting by index math, the
 * same epilogue as the WGSL kernel (bias, then activation; the pre-activation saved on request).
 */
import { type MatmulAttrs, matmulDims } from "../ops/matmul.ts";
import { broadcastStrides, type Shape } from "../shape.ts";
import type { CpuView, FloatArray } from "./backend.ts";
import { geluScalar } from "./elementwise.ts";

/** Element offsets of each batch matrix of `shape` ([..., rows, cols]) over a broadcast batch. */
export function batchOffsets(shape: Shape, batchShape: Shape): number[] {
  const count = batchShape.reduce((p, d) => p * d, 1);
  const matrix = shape[shape.length - 1] * shape[shape.length - 2];
  const own = shape.slice(0, -2);
  const strides = broadcastStrides(own, batchShape);
  const out = new Array<number>(count);
  const idx = new Array<number>(batchShape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let off = 0;
    for (let d = 0; d < idx.length; d++) off += idx[d] * strides[d];
    out[i] = off * matrix;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < batchShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function activate(act: MatmulAttrs["act"], z: number): number {
  if (act === "gelu") return geluScalar(z);
  if (act === "silu") return z / (1 + Math.exp(-z));
  return z;
}

export const matmulCpu = {
  matmul(inputs: CpuView[], outputs: CpuView[], attrs: MatmulAttrs) {
    const [a, b, bias] = inputs;
    const [y, pre] = outputs;
    const { M, N, K, batchShape } = matmulDims("matmul", a, b, attrs.transA, attrs.transB);
    const offA = batchOffsets(a.shape, batchShape);
    const offB = batchOffsets(b.shape, batchShape);
    const as = a.storage;
    const bs = b.storage;
    const ys = y.storage as FloatArray;
    const zs = pre ? (pre.storage as FloatArray) : null;
    const biasS = bias ? bias.storage : null;
    // Element strides of op(a) [M, K].
    const aRow = attrs.transA ? 1 : K;
    const aCol = attrs.transA ? M : 1;
    const acc = new Float64Array(N);
    for (let batch = 0; batch < offA.length; batch++) {
      const a0 = offA[batch];
      const b0 = offB[batch];
      const y0 = batch * M * N;
      for (let i = 0; i < M; i++) {
        if (attrs.transB) {
          // b stored [N, K]: dot products along k walk both operands' rows.
          for (let j = 0; j < N; j++) {
            let dot = 0;
            for (let k = 0; k < K; k++) dot += as[a0 + i * aRow + k * aCol] * bs[b0 + j * K + k];
            acc[j] = dot;
          }
        } else {
          // b stored [K, N]: k outer, j inner walks b's rows.
          acc.fill(0);
          for (let k = 0; k < K; k++) {
            const av = as[a0 + i * aRow + k * aCol];
            const bk = b0 + k * N;
            for (let j = 0; j < N; j++) acc[j] += av * bs[bk + j];
          }
        }
        for (let j = 0; j < N; j++) {
          const z = acc[j] + (biasS ? biasS[j] : 0);
          ys[y0 + i * N + j] = activate(attrs.act, z);
          if (zs) zs[y0 + i * N + j] = z;
        }
      }
    }
  },
};
