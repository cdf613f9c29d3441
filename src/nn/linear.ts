/** A dense layer in PyTorch layout, with an optional fused activation. */

import type { Device } from "../tensor/device.ts";
import { ShapeError } from "../tensor/errors.ts";
import { type Activation, linear } from "../tensor/ops/matmul.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import { Module } from "./module.ts";

export interface LinearOptions {
  /** Learn a bias (default true). */
  bias?: boolean;
  /** Activation fused into the matmul's epilogue (default "none"). */
  act?: Activation;
  /**
   * Standard deviation of a normal init; by default weights are uniform in ±1/√in (PyTorch's
   * default scale). Biases start at zero.
   */
  std?: number;
}

export class Linear extends Module {
  /** [out, in] */
  readonly weight: Tensor;
  /** [out], or null without bias. */
  readonly bias: Tensor | null;
  readonly act: Activation;

  constructor(
    device: Device,
    rng: Rng,
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super(device);
    for (const [what, n] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(n) || n < 1)
        throw new ShapeError(`Linear: ${what} must be a positive integer, got ${n}`);
    }
    const shape = [outFeatures, inFeatures];
    const w =
      options.std !== undefined
        ? device.randn(shape, rng, options.std)
        : device.rand(shape, rng, -1 / Math.sqrt(inFeatures), 1 / Math.sqrt(inFeatures));
    this.weight = this.param("weight", w);
    this.bias = options.bias === false ? null : this.param("bias", device.zeros([outFeatures]));
    this.act = options.act ?? "none";
  }

  /** x [..., in] → [..., out], in x's dtype. */
  forward(x: Tensor): Tensor {
    const w = this.weightAs(this.weight, x.dtype); // [out, in]
    const b = this.bias ? this.weightAs(this.bias, x.dtype) : undefined; // [out]
    return linear(x, w, b, this.act); // [..., out]
  }
}
