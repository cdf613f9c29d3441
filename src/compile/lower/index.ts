/** Every op's ONNX lowering, keyed by op name; a test checks that the op table has no gaps. */
import { elementwiseLowerings } from "./elementwise.ts";
import { lossLowerings } from "./loss.ts";
import type { LoweringTable } from "./lowering.ts";
import { matmulLowerings } from "./matmul.ts";
import { normLowerings } from "./norm.ts";
import { optimLowerings } from "./optim.ts";
import { shapeLowerings } from "./shape.ts";

export const LOWERINGS: LoweringTable = {
  ...elementwiseLowerings,
  ...shapeLowerings,
  ...matmulLowerings,
  ...normLowerings,
  ...optimLowerings,
  ...lossLowerings,
};
