/** Every WGSL kernel, keyed by op name (each family file owns its ops' kernels). */
import { attentionGpu } from "./attention.ts";
import { convGpu } from "./conv.ts";
import { elementwiseGpu } from "./elementwise.ts";
import { embeddingGpu } from "./embedding.ts";
import { fusedGpu } from "./fused.ts";
import { lossGpu } from "./loss.ts";
import { matmulGpu } from "./matmul.ts";
import { normGpu } from "./norm.ts";
import { optimGpu } from "./optim.ts";
import { reduceGpu } from "./reduce.ts";
import { shapeGpu } from "./shape.ts";

export const gpuKernels = {
  ...elementwiseGpu,
  ...reduceGpu,
  ...shapeGpu,
  ...embeddingGpu,
  ...fusedGpu,
  ...matmulGpu,
  ...convGpu,
  ...normGpu,
  ...attentionGpu,
  ...optimGpu,
  ...lossGpu,
};
