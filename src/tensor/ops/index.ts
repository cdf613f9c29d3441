/**
 * The op table: every op the engine runs, and the tensor functions that call them. The executor,
 * autograd and the graph recorder all read the definitions listed in OP_TABLE.
 */
import type { OpDef } from "../op.ts";
import { binaryOp, castOp, expandOp, fillOp, unaryOp } from "./elementwise.ts";
import { reduceOp, reshapeOp } from "./reduce.ts";

export * from "./elementwise.ts";
export * from "./reduce.ts";

export const OP_TABLE: readonly OpDef<never>[] = [
  unaryOp,
  binaryOp,
  fillOp,
  castOp,
  expandOp,
  reduceOp,
  reshapeOp,
];
