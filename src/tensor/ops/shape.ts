import type { OpDef } from "../op.ts";

export const shapeOps: readonly OpDef<never>[] = [];
