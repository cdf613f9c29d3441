/**
 * Growing a trained transformer deeper. When `train dit --transfer` starts a model with more
 * blocks than the file holds, the new blocks come fresh. Their adaLN-Zero modulation is zero, so
 * the self-attention and MLP branches are gated off, but the cross-attention branch is added
 * ungated: a fresh block would still change the output by a random projection of the caption.
 * Zeroing that projection makes every wholly new block the identity, so the grown model starts
 * as exactly the trained one (the same velocities) and the new blocks learn from there.
 */
import type { Module } from "../nn/module.ts";

const BLOCK = /^dit\.block(\d+)\./;

/** Indices of the DiT blocks all of whose parameters are in `fresh` (none came from the file). */
export function freshBlocks(module: Module, fresh: readonly string[]): number[] {
  const isFresh = new Set(fresh);
  const all = new Map<number, boolean>();
  for (const [name] of module.namedParameters()) {
    const m = BLOCK.exec(name);
    if (!m) continue;
    const i = Number(m[1]);
    all.set(i, (all.get(i) ?? true) && isFresh.has(name));
  }
  return [...all].filter(([, whole]) => whole).map(([i]) => i);
}

/**
 * Zeroes the cross-attention output projection of each wholly fresh block (see the module
 * comment); returns the blocks changed. Blocks with any transferred parameter are left alone.
 */
export async function startFreshBlocksAsIdentity(
  module: Module,
  fresh: readonly string[],
): Promise<number[]> {
  const blocks = freshBlocks(module, fresh);
  if (blocks.length === 0) return blocks;
  const state = await module.stateDict();
  for (const i of blocks) {
    for (const part of ["weight", "bias"]) {
      const key = `dit.block${i}.cross.proj.${part}`;
      if (!state[key]) throw new Error(`startFreshBlocksAsIdentity: the model has no ${key}`);
      state[key].fill(0);
    }
  }
  module.loadStateDict(state);
  return blocks;
}
