/** Every CPU kernel, keyed by op name (each family file owns its ops' kernels). */
import { attentionCpu } from "./attention.ts";
import { convCpu } from "./conv.ts";
import { elementwiseCpu } from "./elementwise.ts";
import { embeddingCpu } from "./embedding.ts";
import { fusedCpu } from "./fused.ts";
import { lossCpu } from "./loss.ts";
import { matmulCpu } from "./matmul.ts";
import { normCpu } from "./norm.ts";
import { optimCpu } from "./optim.ts";
import { reduceCpu } from "./reduce.ts";
import { shapeCpu } from "./shape.ts";

export const cpuKernels = {
  ...elementwiseCpu,
  ...reduceCpu,
  ...shapeCpu,
  ...embeddingCpu,
  ...fusedCpu,
  ...matmulCpu,
  ...convCpu,
  ...normCpu,
  ...attentionCpu,
  ...optimCpu,
  ...lossCpu,
};
