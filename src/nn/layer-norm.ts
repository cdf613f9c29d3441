/** Layer norm and RMS norm over the last axis, with learned per-channel affine parameters. */
import type { Device } from "../tensor/device.ts";
import { ShapeError } from "../tensor/errors.ts";
import { layerNorm, rmsNorm } from "../tensor/ops/norm.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Module } from "./module.ts";

function checkDim(what: string, dim: number): void {
  if (!Number.isInteger(dim) || dim < 1)
    throw new ShapeError(`${what}: dim must be a positive integer, got ${dim}`);
}

export class LayerNorm extends Module {
  /** [D], starts at 1. */
  readonly gamma: Tensor;
  /** [D], starts at 0. */
  readonly beta: Tensor;

  constructor(
    device: Device,
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super(device);
    checkDim("LayerNorm", dim);
    this.gamma = this.param("gamma", device.full([dim], 1));
    this.beta = this.param("beta", device.zeros([dim]));
  }

  /** x [..., D] → [..., D]: (x − mean)/√(var + eps)·gamma + beta, statistics in f32. */
  forward(x: Tensor): Tensor {
    const g = this.weightAs(this.gamma, x.dtype); // [D]
    const b = this.weightAs(this.beta, x.dtype); // [D]
    return layerNorm(x, g, b, this.eps); // [..., D]
  }
}

export class RMSNorm extends Module {
  /** [D], starts at 1. */
  readonly gamma: Tensor;

  constructor(
    device: Device,
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super(device);
    checkDim("RMSNorm", dim);
    this.gamma = this.param("gamma", device.full([dim], 1));
  }

  /** x [..., D] → [..., D]: x/√(mean(x²) + eps)·gamma. */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weightAs(this.gamma, x.dtype), this.eps); // [..., D]
  }
}
