/**
 * The DiT block that bench/cpu-step.ts times (and bench/cpu-step.py mirrors in PyTorch): adaLN
 * modulation from a conditioning vector, multi-head self-attention and a GELU MLP, each behind
 * a gated residual, as in facebookresearch/DiT's DiTBlock (layer norms without affine).
 */
import { Linear } from "../src/nn/linear.ts";
import { Module } from "../src/nn/module.ts";
import type { Device } from "../src/tensor/device.ts";
import { attention } from "../src/tensor/ops/attention.ts";
import { silu } from "../src/tensor/ops/elementwise.ts";
import { gatedResidual } from "../src/tensor/ops/fused.ts";
import { layerNorm, modulate } from "../src/tensor/ops/norm.ts";
import { permute, reshape, split } from "../src/tensor/ops/shape.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import type { Rng } from "../src/util/rng.ts";

export class DitBlock extends Module {
  readonly ada: Linear;
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(
    device: Device,
    rng: Rng,
    readonly dim: number,
    readonly heads: number,
  ) {
    super(device);
    this.ada = this.child("ada", new Linear(device, rng, dim, 6 * dim));
    this.qkv = this.child("qkv", new Linear(device, rng, dim, 3 * dim));
    this.proj = this.child("proj", new Linear(device, rng, dim, dim));
    this.fc1 = this.child("fc1", new Linear(device, rng, dim, 4 * dim, { act: "gelu" }));
    this.fc2 = this.child("fc2", new Linear(device, rng, 4 * dim, dim));
  }

  /** x [B, T, D], c [B, D] → [B, T, D]. */
  forward(x: Tensor, c: Tensor): Tensor {
    const [B, T, D] = x.shape;
    const H = this.heads;
    const mod = this.ada.forward(silu(c)); // [B, 6D]
    const [shift1, scale1, gate1, shift2, scale2, gate2] = split(mod, [D, D, D, D, D, D], -1); // 6 × [B, D]
    const h = modulate(layerNorm(x, undefined, undefined, 1e-6), shift1, scale1); // [B, T, D]
    const qkv = permute(reshape(this.qkv.forward(h), [B, T, 3, H, D / H]), [2, 0, 3, 1, 4]); // [3, B, H, T, Dh]
    const [q, k, v] = split(qkv, [1, 1, 1], 0).map((t) => reshape(t, [B, H, T, D / H])); // 3 × [B, H, T, Dh]
    const o = reshape(permute(attention(q, k, v), [0, 2, 1, 3]), [B, T, D]); // [B, T, D]
    const x1 = gatedResidual(x, reshape(gate1, [B, 1, D]), this.proj.forward(o)); // [B, T, D]
    const h2 = modulate(layerNorm(x1, undefined, undefined, 1e-6), shift2, scale2); // [B, T, D]
    return gatedResidual(x1, reshape(gate2, [B, 1, D]), this.fc2.forward(this.fc1.forward(h2))); // [B, T, D]
  }
}

/** Forward FLOPs of one block: the four linear layers, adaLN and attention's two matmuls. */
export function ditBlockFlops(B: number, T: number, D: number): number {
  const linear = 2 * B * T * (3 * D * D + D * D + 8 * D * D) + 2 * B * D * 6 * D;
  const attn = 2 * 2 * B * T * T * D;
  return linear + attn;
}
