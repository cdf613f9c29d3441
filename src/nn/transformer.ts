/** Pre-norm transformer blocks and a small token transformer built from them. */

import type { Device } from "../tensor/device.ts";
import type { DType } from "../tensor/dtype.ts";
import { ShapeError } from "../tensor/errors.ts";
import { add } from "../tensor/ops/elementwise.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import {
  type AttentionCallOptions,
  type AttentionConfig,
  MultiHeadSelfAttention,
} from "./attention.ts";
import { Embedding } from "./embedding.ts";
import { LayerNorm, RMSNorm } from "./layer-norm.ts";
import { Linear } from "./linear.ts";
import { MLP } from "./mlp.ts";
import { Module } from "./module.ts";

export interface TransformerBlockConfig extends AttentionConfig {
  /** Hidden width of the MLP as a multiple of D (default 4). */
  mlpRatio?: number;
  /** "layer" (default) or "rms". */
  norm?: "layer" | "rms";
}

export class TransformerBlock extends Module {
  readonly norm1: LayerNorm | RMSNorm;
  readonly attn: MultiHeadSelfAttention;
  readonly norm2: LayerNorm | RMSNorm;
  readonly mlp: MLP;

  constructor(
    device: Device,
    rng: Rng,
    dim: number,
    heads: number,
    config: TransformerBlockConfig = {},
  ) {
    super(device);
    const norm = () =>
      config.norm === "rms" ? new RMSNorm(device, dim) : new LayerNorm(device, dim);
    this.norm1 = this.child("norm1", norm());
    this.attn = this.child("attn", new MultiHeadSelfAttention(device, rng, dim, heads, config));
    this.norm2 = this.child("norm2", norm());
    const hidden = Math.round(dim * (config.mlpRatio ?? 4));
    this.mlp = this.child("mlp", new MLP(device, rng, dim, hidden));
  }

  /** x [B, T, D] → [B, T, D]: x + attn(norm1(x)), then + mlp(norm2(·)). */
  forward(x: Tensor, options: AttentionCallOptions = {}): Tensor {
    const a = this.attn.forward(this.norm1.forward(x), options); // [B, T, D]
    const h = add(x, a); // [B, T, D]
    const m = this.mlp.forward(this.norm2.forward(h)); // [B, T, D]
    return add(h, m); // [B, T, D]
  }
}

export interface TokenTransformerConfig extends TransformerBlockConfig {
  vocab: number;
  dim: number;
  heads: number;
  layers: number;
}

/**
 * Token embedding → `layers` transformer blocks → final norm → linear head over the vocabulary.
 * Positions come from the rotary embedding (config.rope), so there is no position table.
 */
export class TokenTransformer extends Module {
  readonly embed: Embedding;
  readonly blocks: TransformerBlock[] = [];
  readonly norm: LayerNorm | RMSNorm;
  readonly head: Linear;

  constructor(
    device: Device,
    rng: Rng,
    readonly config: TokenTransformerConfig,
  ) {
    super(device);
    const { vocab, dim, heads, layers } = config;
    if (!Number.isInteger(layers) || layers < 0)
      throw new ShapeError(
        `TokenTransformer: layers must be a non-negative integer, got ${layers}`,
      );
    this.embed = this.child("embed", new Embedding(device, rng, vocab, dim));
    for (let i = 0; i < layers; i++)
      this.blocks.push(
        this.child(`block${i}`, new TransformerBlock(device, rng, dim, heads, config)),
      );
    this.norm = this.child(
      "norm",
      config.norm === "rms" ? new RMSNorm(device, dim) : new LayerNorm(device, dim),
    );
    this.head = this.child("head", new Linear(device, rng, dim, vocab));
  }

  /** ids i32 [B, T] → logits [B, T, V], computed in `dtype` (f32 master weights are cast). */
  forward(ids: Tensor, dtype: DType = "f32"): Tensor {
    let x = this.embed.forward(ids, dtype); // [B, T, D]
    for (const block of this.blocks) x = block.forward(x); // [B, T, D]
    return this.head.forward(this.norm.forward(x)); // [B, T, V]
  }
}
