import type { OpDef } from "../op.ts";

export const convOps: readonly OpDef<never>[] = [];
