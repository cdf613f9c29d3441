/** CPU kernels for reductions: sum, mean and max over any set of axes. */
import type { ReduceAttrs } from "../ops/reduce.ts";
import { stridesOf } from "../shape.ts";
import type { CpuView } from "./backend.ts";

export const reduceCpu = {
  reduce([x]: CpuView[], [y]: CpuView[], a: ReduceAttrs) {
    const xs = x.storage;
    const ys = y.storage;
    const shape = x.shape;
    const strides = stridesOf(shape);
    const keptAxes = shape.map((_, i) => i).filter((i) => !a.axes.includes(i));
    const redAxes = a.axes;
    const redShape = redAxes.map((i) => shape[i]);
    const redCount = redShape.reduce((p, d) => p * d, 1);
    const keptShape = keptAxes.map((i) => shape[i]);
    const keptIdx = new Array<number>(keptAxes.length).fill(0);
    const redIdx = new Array<number>(redAxes.length).fill(0);
    for (let o = 0; o < y.size; o++) {
      let base = 0;
      for (let k = 0; k < keptAxes.length; k++) base += keptIdx[k] * strides[keptAxes[k]];
      let acc = a.fn === "max" ? Number.NEGATIVE_INFINITY : 0;
      redIdx.fill(0);
      let off = 0;
      for (let r = 0; r < redCount; r++) {
        const v = xs[base + off];
        if (a.fn === "max") acc = v > acc || Number.isNaN(v) ? v : acc;
        else acc += v;
        for (let d = redAxes.length - 1; d >= 0; d--) {
          redIdx[d]++;
          off += strides[redAxes[d]];
          if (redIdx[d] < redShape[d]) break;
          off -= strides[redAxes[d]] * redShape[d];
          redIdx[d] = 0;
        }
      }
      ys[o] = a.fn === "mean" ? acc / redCount : acc;
      for (let d = keptAxes.length - 1; d >= 0; d--) {
        if (++keptIdx[d] < keptShape[d]) break;
        keptIdx[d] = 0;
      }
    }
  },
};
