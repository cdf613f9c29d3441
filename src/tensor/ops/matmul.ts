import type { OpDef } from "../op.ts";

export const matmulOps: readonly OpDef<never>[] = [];
