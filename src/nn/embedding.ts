/** A learned lookup table from token ids to vectors. */

import type { Device } from "../tensor/device.ts";
import type { DType } from "../tensor/dtype.ts";
import { ShapeError } from "../tensor/errors.ts";
import { cast } from "../tensor/ops/elementwise.ts";
import { embedding } from "../tensor/ops/embedding.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import { Module } from "./module.ts";

export class Embedding extends Module {
  /** [V, D], N(0, std²). */
  readonly table: Tensor;

  constructor(
    device: Device,
    rng: Rng,
    readonly vocab: number,
    readonly dim: number,
    std = 1,
  ) {
    super(device);
    if (!Number.isInteger(vocab) || vocab < 1 || !Number.isInteger(dim) || dim < 1)
      throw new ShapeError(
        `Embedding: vocab and dim must be positive integers, got ${vocab}, ${dim}`,
      );
    this.table = this.param("table", device.randn([vocab, dim], rng, std));
  }

  /**
   * ids i32 [...] → [..., D] in `dtype`. Rows are gathered from the f32 table and then cast, so
   * a half-precision pass never converts the whole table.
   */
  forward(ids: Tensor, dtype: DType = "f32"): Tensor {
    const rows = embedding(this.table, ids); // [..., D] f32
    return cast(rows, dtype); // [..., D]
  }
}
