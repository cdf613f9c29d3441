/**
 * The op table: every op the engine runs, and the tensor functions that call them. The executor,
 * autograd and the graph recorder all read the definitions listed in OP_TABLE; each family file
 * exports its own list.
 */
import type { OpDef } from "../op.ts";
import { attentionOps } from "./attention.ts";
import { convOps } from "./conv.ts";
import { binaryOp, castOp, expandOp, fillOp, unaryOp } from "./elementwise.ts";
import { embeddingOps } from "./embedding.ts";
import { fusedOps } from "./fused.ts";
import { lossOps } from "./loss.ts";
import { matmulOps } from "./matmul.ts";
import { normOps } from "./norm.ts";
import { optimOps } from "./optim.ts";
import { reduceOp } from "./reduce.ts";
import { shapeOps } from "./shape.ts";

export * from "./attention.ts";
export * from "./conv.ts";
export * from "./elementwise.ts";
export * from "./embedding.ts";
export * from "./fused.ts";
export * from "./loss.ts";
export * from "./matmul.ts";
export * from "./norm.ts";
export * from "./optim.ts";
export * from "./reduce.ts";
export * from "./shape.ts";

export const OP_TABLE: readonly OpDef<never>[] = [
  unaryOp,
  binaryOp,
  fillOp,
  castOp,
  expandOp,
  reduceOp,
  ...shapeOps,
  ...embeddingOps,
  ...fusedOps,
  ...lossOps,
  ...matmulOps,
  ...convOps,
  ...normOps,
  ...attentionOps,
  ...optimOps,
];
