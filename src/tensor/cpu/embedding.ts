/** CPU kernels for embedding lookup and its scatter-add gradient. */
import type { EmbeddingAttrs, EmbeddingBackwardAttrs } from "../ops/embedding.ts";
import type { CpuView } from "./backend.ts";

export const embeddingCpu = {
  embedding([table, ids]: CpuView[], [y]: CpuView[], _a: EmbeddingAttrs) {
    const [vocab, dim] = table.shape;
    const ts = table.storage;
    const is = ids.storage;
    const ys = y.storage;
    for (let n = 0; n < ids.size; n++) {
      const v = is[n];
      const inRange = v >= 0 && v < vocab;
      for (let d = 0; d < dim; d++) ys[n * dim + d] = inRange ? ts[v * dim + d] : 0;
    }
  },

  embedding_backward([g, ids]: CpuView[], [out]: CpuView[], a: EmbeddingBackwardAttrs) {
    const dim = out.shape[1];
    const gs = g.storage;
    const is = ids.storage;
    const os = out.storage;
    os.fill(0);
    // Positions in increasing order, the same summation order as the WGSL kernel.
    for (let n = 0; n < ids.size; n++) {
      const v = is[n];
      if (v < 0 || v >= a.vocab) continue;
      for (let d = 0; d < dim; d++) os[v * dim + d] += gs[n * dim + d];
    }
  },
};
