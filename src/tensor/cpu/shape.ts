/** CPU kernels for the data-moving shape ops: the simplest index loops, any rank, any dtype. */
import type { ConcatAttrs, PadAttrs, PermuteAttrs, SliceAttrs } from "../ops/shape.ts";
import { stridesOf } from "../shape.ts";
import type { CpuView } from "./backend.ts";

/** Calls fn(outIndex, coords) for every element of `shape` in row-major order. */
function forEachIndex(shape: readonly number[], fn: (o: number, coords: number[]) => void): void {
  const n = shape.reduce((p, d) => p * d, 1);
  const coords = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < n; o++) {
    fn(o, coords);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++coords[d] < shape[d]) break;
      coords[d] = 0;
    }
  }
}

export const shapeCpu = {
  permute([x]: CpuView[], [y]: CpuView[], a: PermuteAttrs) {
    const xs = x.storage;
    const ys = y.storage;
    const sx = stridesOf(x.shape);
    const strides = a.perm.map((p) => sx[p]);
    forEachIndex(y.shape, (o, c) => {
      let i = 0;
      for (let d = 0; d < c.length; d++) i += c[d] * strides[d];
      ys[o] = xs[i];
    });
  },

  concat(xs: CpuView[], [y]: CpuView[], a: ConcatAttrs) {
    const ys = y.storage;
    const outer = y.shape.slice(0, a.axis).reduce((p, d) => p * d, 1);
    const inner = y.shape.slice(a.axis + 1).reduce((p, d) => p * d, 1);
    const outRow = y.shape[a.axis] * inner;
    let offset = 0;
    for (const x of xs) {
      const row = x.shape[a.axis] * inner;
      const src = x.storage;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < row; j++) ys[o * outRow + offset + j] = src[o * row + j];
      }
      offset += row;
    }
  },

  slice([x]: CpuView[], [y]: CpuView[], a: SliceAttrs) {
    const xs = x.storage;
    const ys = y.storage;
    const sx = stridesOf(x.shape);
    forEachIndex(y.shape, (o, c) => {
      let i = 0;
      for (let d = 0; d < c.length; d++) i += (c[d] + a.starts[d]) * sx[d];
      ys[o] = xs[i];
    });
  },

  pad([x]: CpuView[], [y]: CpuView[], a: PadAttrs) {
    const xs = x.storage;
    const ys = y.storage;
    const sx = stridesOf(x.shape);
    forEachIndex(y.shape, (o, c) => {
      let i = 0;
      for (let d = 0; d < c.length; d++) {
        const k = c[d] - a.before[d];
        if (k < 0 || k >= x.shape[d]) {
          ys[o] = a.value;
          return;
        }
        i += k * sx[d];
      }
      ys[o] = xs[i];
    });
  },

  assign([, src]: CpuView[], [dst]: CpuView[]) {
    const ds = dst.storage;
    const ss = src.storage;
    for (let i = 0; i < dst.size; i++) ds[i] = ss[i];
  },
};
