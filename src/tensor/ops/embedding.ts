import type { OpDef } from "../op.ts";

export const embeddingOps: readonly OpDef<never>[] = [];
