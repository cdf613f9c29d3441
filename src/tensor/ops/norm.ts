import type { OpDef } from "../op.ts";

export const normOps: readonly OpDef<never>[] = [];
