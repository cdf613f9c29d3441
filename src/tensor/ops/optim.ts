import type { OpDef } from "../op.ts";

export const optimOps: readonly OpDef<never>[] = [];
