/** The transformer feed-forward block: Linear → GELU → Linear. */

import type { Device } from "../tensor/device.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import { Linear } from "./linear.ts";
import { Module } from "./module.ts";

export class MLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(device: Device, rng: Rng, dim: number, hidden = 4 * dim) {
    super(device);
    this.fc1 = this.child("fc1", new Linear(device, rng, dim, hidden, { act: "gelu" }));
    this.fc2 = this.child("fc2", new Linear(device, rng, hidden, dim));
  }

  /** x [..., D] → [..., D]. */
  forward(x: Tensor): Tensor {
    const h = this.fc1.forward(x); // [..., hidden], GELU fused into the matmul
    return this.fc2.forward(h); // [..., D]
  }
}
