/**
 * Growing trained networks so that the grown one starts as exactly the trained one.
 *
 * A transformer deeper: when `train dit --transfer` starts a model with more blocks than the file
 * holds, the new blocks come fresh. Their adaLN-Zero modulation is zero, so the self-attention
 * and MLP branches are gated off, but the cross-attention branch is added ungated: a fresh block
 * would still change the output by a random projection of the caption. Zeroing that projection
 * makes every wholly new block the identity (the same velocities), and the new blocks learn from
 * there. Wider inputs: new patch-projection columns start at zero. A decoder deeper: new residual
 * blocks, whose last convolution starts at zero.
 */

import type { NamedArray } from "../io/safetensors.ts";
import type { Module } from "../nn/module.ts";
import type { VideoAutoencoder } from "./autoencoder.ts";
import { loadMatchingWeights } from "./weights.ts";

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

const PATCH_EMBED = "dit.patch_embed.weight";

/**
 * Gives a DiT that takes more input channels than the file's (a model grown to take a layout,
 * whose channels come last) the file's patch projection for the channels they share and zero
 * for the new ones, so that with the new inputs all zero it starts as exactly the file's model.
 * `fileTensors` are the file's weights; returns whether the projection was widened.
 */
export async function widenPatchEmbed(
  module: Module,
  fileTensors: Record<string, NamedArray>,
): Promise<boolean> {
  const old = fileTensors[PATCH_EMBED];
  const state = await module.stateDict();
  const now = state[PATCH_EMBED];
  const param = module.namedParameters().find(([name]) => name === PATCH_EMBED)?.[1];
  if (!old || !now || !param) return false;
  const [out, inNow] = param.shape; // [out, in]
  const [outOld, inOld] = old.shape;
  if (old.shape.length !== 2 || outOld !== out || inOld >= inNow) return false;
  now.fill(0);
  for (let o = 0; o < out; o++) now.set(old.data.subarray(o * inOld, (o + 1) * inOld), o * inNow);
  module.loadStateDict(state);
  return true;
}

/**
 * Loads a trained autoencoder `file` into `ae`, whose decoder has more residual blocks per level
 * than the file's (`train ae --decoder-only --decoder-blocks`): every parameter of the file must
 * land, so the encoder and the latent space are the file's, and only the decoder's new blocks
 * keep their initialisation. A ResBlock's last convolution starts at zero, so each new block is
 * the identity and the grown decoder starts as exactly the file's. Returns the new blocks.
 */
export async function loadIntoGrownDecoder(file: string, ae: VideoAutoencoder): Promise<string[]> {
  const blockIndex = (p: string) => Number(/^decoder\.block\d+_(\d+)\./.exec(p)?.[1] ?? -1);
  const got = await loadMatchingWeights(file, ae, "autoencoder");
  // The file's decoder blocks per level: one past the highest block index it gave.
  const from = 1 + Math.max(-1, ...got.loaded.map(blockIndex));
  const isNew = (p: string) => blockIndex(p) >= from;
  const wrong = [...got.unused, ...got.kept.filter((p) => !isNew(p))];
  if (wrong.length > 0)
    throw new Error(
      `${file}: does not load into a decoder grown from it (${wrong.slice(0, 3).join(", ")}${wrong.length > 3 ? ", …" : ""} ${got.unused.length ? "left over or " : ""}missing)`,
    );
  return [...new Set(got.kept.map((p) => p.split(".")[1]))];
}
