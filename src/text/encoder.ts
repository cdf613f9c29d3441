/**
 * The text encoder: a small bidirectional transformer over caption tokens, trained together with
 * the diffusion model (no pretrained language model: the world's captions are a closed grammar).
 * It returns every token's vector (the diffusion transformer cross-attends to them) and a pooled
 * vector read at the BOS position (it joins the timestep in adaLN).
 *
 * Padding is attended like any token: the engine's attention has no key mask, and a fixed
 * length with a learned PAD embedding is deterministic and costs little at these lengths.
 */
import { Embedding } from "../nn/embedding.ts";
import { LayerNorm } from "../nn/layer-norm.ts";
import { Module } from "../nn/module.ts";
import { TransformerBlock } from "../nn/transformer.ts";
import type { Device } from "../tensor/device.ts";
import type { DType } from "../tensor/dtype.ts";
import { ShapeError } from "../tensor/errors.ts";
import { reshape, sliceAxis } from "../tensor/ops/shape.ts";
import { fmt } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";

export interface TextEncoderConfig {
  /** Token vocabulary size (the tokenizer's `vocabSize`). */
  vocab: number;
  /** Sequence length every caption is padded or cut to. */
  maxTokens: number;
  dim: number;
  heads: number;
  layers: number;
}

export interface TextFeatures {
  /** [B, L, D] */
  tokens: Tensor;
  /** [B, D], the BOS position. */
  pooled: Tensor;
}

export class TextEncoder extends Module {
  readonly embed: Embedding;
  readonly blocks: TransformerBlock[] = [];
  readonly norm: LayerNorm;

  constructor(
    device: Device,
    rng: Rng,
    readonly config: TextEncoderConfig,
  ) {
    super(device);
    const { vocab, dim, heads, layers, maxTokens } = config;
    if (!Number.isInteger(maxTokens) || maxTokens < 2)
      throw new ShapeError(`TextEncoder: maxTokens must be an integer ≥ 2, got ${maxTokens}`);
    if (!Number.isInteger(layers) || layers < 0)
      throw new ShapeError(`TextEncoder: layers must be a non-negative integer, got ${layers}`);
    this.embed = this.child("embed", new Embedding(device, rng, vocab, dim, 1 / Math.sqrt(dim)));
    for (let i = 0; i < layers; i++)
      this.blocks.push(
        this.child(`block${i}`, new TransformerBlock(device, rng, dim, heads, { rope: {} })),
      );
    this.norm = this.child("norm", new LayerNorm(device, dim));
  }

  /** ids i32 [B, L] → tokens [B, L, D] and pooled [B, D], computed in `dtype`. */
  forward(ids: Tensor, dtype: DType = "f32"): TextFeatures {
    const { maxTokens, dim } = this.config;
    if (ids.rank !== 2 || ids.shape[1] !== maxTokens || ids.dtype !== "i32")
      throw new ShapeError(
        `TextEncoder: ids must be i32 [B, ${maxTokens}], got ${ids.dtype} ${fmt(ids.shape)}`,
      );
    const b = ids.shape[0];
    let x = this.embed.forward(ids, dtype); // [B, L, D]
    for (const block of this.blocks) x = block.forward(x); // [B, L, D], rotary positions 0..L-1
    const tokens = this.norm.forward(x); // [B, L, D]
    const pooled = reshape(sliceAxis(tokens, 1, 0, 1), [b, dim]); // [B, D]
    return { tokens, pooled };
  }
}
