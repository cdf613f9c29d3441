/**
 * Pieces of the diffusion transformer: the sinusoidal timestep embedder, text cross-attention,
 * the adaLN-Zero block (DiT, Peebles & Xie 2023) with a cross-attention sub-layer between
 * self-attention and the MLP (as PixArt-α does), and the adaLN final layer.
 */
import { MultiHeadSelfAttention } from "../nn/attention.ts";
import { LayerNorm } from "../nn/layer-norm.ts";
import { Linear } from "../nn/linear.ts";
import { MLP } from "../nn/mlp.ts";
import { Module } from "../nn/module.ts";
import type { Device } from "../tensor/device.ts";
import { keep } from "../tensor/engine.ts";
import { ShapeError } from "../tensor/errors.ts";
import { attention } from "../tensor/ops/attention.ts";
import { add, cast, cos, mul, sin } from "../tensor/ops/elementwise.ts";
import { gatedResidual } from "../tensor/ops/fused.ts";
import { layerNorm, modulate } from "../tensor/ops/norm.ts";
import { concat, permute, reshape, split } from "../tensor/ops/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";

/** Frequencies of the timestep embedding (half cosines, half sines). */
export const TIME_FREQUENCIES = 128;

/**
 * t [B] in [0, 1] → [B, D]: 1000·t against 128 geometric frequencies (1 to 1/10000), cos and
 * sin, then Linear → SiLU → Linear. The frequency table is a constant tensor made once.
 */
export class TimestepEmbedder extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly freqs: Tensor;

  constructor(device: Device, rng: Rng, dim: number) {
    super(device);
    const f = new Float32Array(TIME_FREQUENCIES);
    for (let i = 0; i < f.length; i++) f[i] = 1000 * Math.exp((-Math.log(10000) * i) / f.length);
    this.freqs = keep(device.tensor(f, [1, TIME_FREQUENCIES]));
    this.fc1 = this.child(
      "fc1",
      new Linear(device, rng, 2 * TIME_FREQUENCIES, dim, { act: "silu", std: 0.02 }),
    );
    this.fc2 = this.child("fc2", new Linear(device, rng, dim, dim, { std: 0.02 }));
  }

  forward(t: Tensor): Tensor {
    const b = t.shape[0];
    const args = mul(reshape(t, [b, 1]), cast(this.freqs, t.dtype)); // [B, F]
    const emb = concat([cos(args), sin(args)], 1); // [B, 2F]
    return this.fc2.forward(this.fc1.forward(emb)); // [B, D]
  }

  override dispose(): void {
    super.dispose();
    this.freqs.dispose();
  }
}

/** Queries from the video tokens, keys and values from the text tokens; no positions. */
export class CrossAttention extends Module {
  readonly q: Linear;
  readonly kv: Linear;
  readonly proj: Linear;
  readonly headDim: number;

  constructor(
    device: Device,
    rng: Rng,
    readonly dim: number,
    readonly heads: number,
    textDim: number,
  ) {
    super(device);
    if (dim % heads !== 0)
      throw new ShapeError(`CrossAttention: dim ${dim} is not divisible by ${heads} heads`);
    this.headDim = dim / heads;
    this.q = this.child("q", new Linear(device, rng, dim, dim));
    // No bias on keys and values: a key bias shifts every score of a query equally (softmax
    // ignores it, so its gradient is zero) and a value bias only adds a constant that proj's
    // bias already can.
    this.kv = this.child("kv", new Linear(device, rng, textDim, 2 * dim, { bias: false }));
    this.proj = this.child("proj", new Linear(device, rng, dim, dim));
  }

  /** x [B, N, D], text [B, L, Dt] → [B, N, D]. */
  forward(x: Tensor, text: Tensor): Tensor {
    const [b, n] = x.shape;
    const l = text.shape[1];
    const [h, dh] = [this.heads, this.headDim];
    const q = permute(reshape(this.q.forward(x), [b, n, h, dh]), [0, 2, 1, 3]); // [B, H, N, Dh]
    const kv = reshape(this.kv.forward(text), [b, l, 2, h, dh]); // [B, L, 2, H, Dh]
    const [k, v] = split(permute(kv, [2, 0, 3, 1, 4]), [1, 1], 0).map((p) =>
      reshape(p, [b, h, l, dh]),
    ); // 2 × [B, H, L, Dh]
    const o = attention(q, k, v); // [B, H, N, Dh]
    return this.proj.forward(reshape(permute(o, [0, 2, 1, 3]), [b, n, this.dim])); // [B, N, D]
  }
}

/** Splits a [B, k·D] modulation into k tensors of [B, D]. */
function chunks(m: Tensor, k: number): Tensor[] {
  const d = m.shape[1] / k;
  return split(m, Array(k).fill(d), 1);
}

/** [B, D] → [B, 1, D], to broadcast a gate over the tokens. */
function perToken(g: Tensor): Tensor {
  return reshape(g, [g.shape[0], 1, g.shape[1]]);
}

export class DitBlock extends Module {
  readonly attn: MultiHeadSelfAttention;
  readonly crossNorm: LayerNorm;
  readonly cross: CrossAttention;
  readonly mlp: MLP;
  /** c → shift, scale, gate for attention and for the MLP; zero-init, so each block starts as the identity. */
  readonly ada: Linear;

  constructor(
    device: Device,
    rng: Rng,
    dim: number,
    heads: number,
    textDim: number,
    mlpRatio: number,
  ) {
    super(device);
    this.attn = this.child(
      "attn",
      new MultiHeadSelfAttention(device, rng, dim, heads, { rope: {} }),
    );
    this.crossNorm = this.child("cross_norm", new LayerNorm(device, dim, 1e-6));
    this.cross = this.child("cross", new CrossAttention(device, rng, dim, heads, textDim));
    this.mlp = this.child("mlp", new MLP(device, rng, dim, Math.round(dim * mlpRatio)));
    this.ada = this.child("ada", new Linear(device, rng, dim, 6 * dim, { std: 0 }));
  }

  /** x [B, N, D], c = silu(conditioning) [B, D], text [B, L, Dt], grid (t, h, w) of the N tokens. */
  forward(x: Tensor, c: Tensor, text: Tensor, grid: [number, number, number]): Tensor {
    const [shift1, scale1, gate1, shift2, scale2, gate2] = chunks(this.ada.forward(c), 6); // 6 × [B, D]
    const h1 = modulate(layerNorm(x, undefined, undefined, 1e-6), shift1, scale1); // [B, N, D]
    let y = gatedResidual(x, perToken(gate1), this.attn.forward(h1, { grid })); // [B, N, D]
    y = add(y, this.cross.forward(this.crossNorm.forward(y), text)); // [B, N, D]
    const h2 = modulate(layerNorm(y, undefined, undefined, 1e-6), shift2, scale2); // [B, N, D]
    return gatedResidual(y, perToken(gate2), this.mlp.forward(h2)); // [B, N, D]
  }
}

/** adaLN then a zero-init linear to patch values: [B, N, D] → [B, N, P·C]. */
export class FinalLayer extends Module {
  readonly ada: Linear;
  readonly out: Linear;

  constructor(device: Device, rng: Rng, dim: number, outFeatures: number) {
    super(device);
    this.ada = this.child("ada", new Linear(device, rng, dim, 2 * dim, { std: 0 }));
    this.out = this.child("out", new Linear(device, rng, dim, outFeatures, { std: 0 }));
  }

  forward(x: Tensor, c: Tensor): Tensor {
    const [shift, scale] = chunks(this.ada.forward(c), 2); // 2 × [B, D]
    const h = modulate(layerNorm(x, undefined, undefined, 1e-6), shift, scale); // [B, N, D]
    return this.out.forward(h); // [B, N, P·C]
  }
}
