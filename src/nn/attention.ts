/** Multi-head self-attention: fused q,k,v projection, optional 3-D rotary embedding, output projection. */

import type { Device } from "../tensor/device.ts";
import { ShapeError } from "../tensor/errors.ts";
import { attention, rope3d } from "../tensor/ops/attention.ts";
import { permute, reshape, split } from "../tensor/ops/shape.ts";
import { fmt } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import { Linear } from "./linear.ts";
import { Module } from "./module.ts";

export interface RopeConfig {
  /** Channels of the head dimension rotated by t, h and w (even, summing to Dh). */
  sections?: [number, number, number];
  theta?: number;
}

export interface AttentionConfig {
  /** Causal mask (each token sees itself and earlier tokens). Default false. */
  causal?: boolean;
  /** Rotary position embedding of q and k; omit for none. */
  rope?: RopeConfig;
  /** Biases on the projections (default true). */
  bias?: boolean;
}

export interface AttentionCallOptions {
  /**
   * Token grid (t, h, w) with t·h·w = T, for the rotary embedding. Default [T, 1, 1]: a 1-D
   * sequence, with all rotated channels given to t unless the config names sections.
   */
  grid?: [number, number, number];
}

export class MultiHeadSelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;

  constructor(
    device: Device,
    rng: Rng,
    readonly dim: number,
    readonly heads: number,
    readonly config: AttentionConfig = {},
  ) {
    super(device);
    if (!Number.isInteger(heads) || heads < 1 || dim % heads !== 0)
      throw new ShapeError(`MultiHeadSelfAttention: dim ${dim} is not divisible by ${heads} heads`);
    this.headDim = dim / heads;
    if (config.rope && this.headDim % 2 !== 0)
      throw new ShapeError(
        `MultiHeadSelfAttention: rope needs an even head dim, got ${this.headDim}`,
      );
    const bias = config.bias ?? true;
    this.qkv = this.child("qkv", new Linear(device, rng, dim, 3 * dim, { bias }));
    this.proj = this.child("proj", new Linear(device, rng, dim, dim, { bias }));
  }

  /** x [B, T, D] → [B, T, D]. */
  forward(x: Tensor, options: AttentionCallOptions = {}): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.dim)
      throw new ShapeError(
        `MultiHeadSelfAttention: x must be [B, T, ${this.dim}], got ${fmt(x.shape)}`,
      );
    const [b, t] = x.shape;
    const h = this.heads;
    const dh = this.headDim;
    const qkv = this.qkv.forward(x); // [B, T, 3D]
    const split5 = reshape(qkv, [b, t, 3, h, dh]); // [B, T, 3, H, Dh]
    const heads = permute(split5, [2, 0, 3, 1, 4]); // [3, B, H, T, Dh]
    let [q, k, v] = split(heads, [1, 1, 1], 0).map((p) => reshape(p, [b, h, t, dh])); // 3 × [B, H, T, Dh]
    const rope = this.config.rope;
    if (rope) {
      const grid = options.grid ?? [t, 1, 1];
      const sections = rope.sections ?? (options.grid ? undefined : [dh, 0, 0]);
      q = rope3d(q, { grid, sections, theta: rope.theta }); // [B, H, T, Dh]
      k = rope3d(k, { grid, sections, theta: rope.theta }); // [B, H, T, Dh]
    }
    const o = attention(q, k, v, { causal: this.config.causal ?? false }); // [B, H, T, Dh]
    const merged = permute(o, [0, 2, 1, 3]); // [B, T, H, Dh]
    return this.proj.forward(reshape(merged, [b, t, this.dim])); // [B, T, D]
  }
}
