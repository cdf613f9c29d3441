/**
 * Int8 weights for sampling programs: every MatMul whose right operand is a 2-D weight (a state
 * input of the step, possibly through the Transpose that `linear` lowers to) becomes ONNX
 * Runtime's DynamicQuantizeMatMul, with the weight quantised per output column (symmetric,
 * int8) at compile time and the activations quantised per call. The weights are read when the
 * program is built: a program compiled this way must not be used after the weights change.
 */
import type { GraphBuilder } from "./builder.ts";
import type { StateSlot } from "./trace.ts";

/** Replaces weight MatMuls in `b`; returns how many it replaced. */
export function quantizeWeightMatMuls(b: GraphBuilder, state: readonly StateSlot[]): number {
  const byName = new Map(state.map((s) => [s.name, s]));
  const producer = new Map<string, (typeof b.nodes)[number]>();
  for (const n of b.nodes) for (const o of n.outputs) producer.set(o, n);
  let count = 0;
  for (const n of b.nodes) {
    if (n.opType !== "MatMul" || n.domain) continue;
    const src = n.inputs[1];
    let weight = byName.get(src);
    let transposed = false;
    const t = producer.get(src);
    if (!weight && t?.opType === "Transpose") {
      const perm = t.attrs.perm;
      weight = byName.get(t.inputs[0]);
      transposed = !!perm && "ints" in perm && perm.ints.join(",") === "1,0";
      if (!transposed) weight = undefined;
    }
    if (weight?.shape.length !== 2 || weight.dtype !== "f32" || !weight.box.data) continue;
    // B as used: [K, N] (the stored weight is [N, K] when transposed, as linear's is).
    const [r, c] = weight.shape;
    const K = transposed ? c : r;
    const N = transposed ? r : c;
    const w = weight.box.data as Float32Array;
    const at = (k: number, j: number) => (transposed ? w[j * c + k] : w[k * c + j]);
    const scales = new Float32Array(N);
    const q = new Int8Array(K * N);
    for (let j = 0; j < N; j++) {
      let m = 0;
      for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(at(k, j)));
      const s = m > 0 ? m / 127 : 1;
      scales[j] = s;
      for (let k = 0; k < K; k++) q[k * N + j] = Math.round(at(k, j) / s);
    }
    n.opType = "DynamicQuantizeMatMul";
    n.domain = "com.microsoft";
    n.inputs = [n.inputs[0], b.constant(q, [K, N], "int8"), b.constant(scales, [N])];
    b.domains["com.microsoft"] = 1;
    count++;
  }
  return count;
}
