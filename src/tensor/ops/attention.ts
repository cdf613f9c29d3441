import type { OpDef } from "../op.ts";

export const attentionOps: readonly OpDef<never>[] = [];
