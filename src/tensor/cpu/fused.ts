/** CPU kernel for fused elementwise programs: the program interpreted once per output element. */
import type { FusedAttrs, FusedOperand } from "../ops/fused.ts";
import { broadcastStrides } from "../shape.ts";
import type { CpuView } from "./backend.ts";
import { binaryScalar, unaryScalar } from "./elementwise.ts";

export const fusedCpu = {
  fused(inputs: CpuView[], [out]: CpuView[], { steps }: FusedAttrs) {
    const shape = out.shape;
    const rank = shape.length;
    const strides = inputs.map((x) => broadcastStrides(x.shape, shape));
    const offsets = new Array<number>(inputs.length).fill(0);
    const coords = new Array<number>(rank).fill(0);
    const regs = new Float64Array(steps.length);
    const os = out.storage;
    const read = (o: FusedOperand): number => {
      if (typeof o === "number") return o;
      return "input" in o ? inputs[o.input].storage[offsets[o.input]] : regs[o.step];
    };
    for (let i = 0; i < out.size; i++) {
      steps.forEach((s, k) => {
        regs[k] =
          "unary" in s
            ? unaryScalar(s.unary, read(s.x), s.alpha ?? 1, s.beta ?? 0)
            : binaryScalar(s.binary, read(s.a), read(s.b));
      });
      os[i] = regs[steps.length - 1];
      for (let d = rank - 1; d >= 0; d--) {
        coords[d]++;
        for (let j = 0; j < inputs.length; j++) offsets[j] += strides[j][d];
        if (coords[d] < shape[d]) break;
        for (let j = 0; j < inputs.length; j++) offsets[j] -= strides[j][d] * shape[d];
        coords[d] = 0;
      }
    }
  },
};
