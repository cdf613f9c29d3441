/**
 * Dynamic loss scaling for half-precision training: the loss is multiplied by a scale before the
 * backward pass so that small gradients survive in f16; overflowed gradients (NaN/Inf anywhere)
 * make the step a no-op and halve the scale, and after `growthInterval` clean steps the scale
 * doubles. All of it runs on the device: the optimiser and the clipper read 1/scale and the skip
 * flag from `control`, so no step waits for the host. Reading the scale is optional and async.
 */
import { backward } from "../tensor/autograd.ts";
import type { Device } from "../tensor/device.ts";
import { keep, noGrad, tidy } from "../tensor/engine.ts";
import { DeviceError } from "../tensor/errors.ts";
import { cast } from "../tensor/ops/elementwise.ts";
import {
  CTRL_SIZE,
  GRAD_STAT_PARTS,
  gradStats,
  type LossScaleAttrs,
  lossScaleUpdate,
} from "../tensor/ops/optim.ts";
import { reshape } from "../tensor/ops/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { checkParams } from "./params.ts";

export interface LossScalerOptions extends Partial<LossScaleAttrs> {
  /** Starting scale (default 2^16). */
  initScale?: number;
}

export class DynamicLossScaler {
  /** The current scale, f32 [1]. */
  readonly scale: Tensor;
  /** [1/scale of the latest gradients, skip flag, good steps, 0]: give it to AdamW and clipGradNorm. */
  readonly control: Tensor;
  private readonly attrs: LossScaleAttrs;

  constructor(
    readonly device: Device,
    options: LossScalerOptions = {},
  ) {
    const init = options.initScale ?? 2 ** 16;
    if (!(init > 0 && Number.isFinite(init)))
      throw new RangeError(`DynamicLossScaler: initScale must be a positive number, got ${init}`);
    this.attrs = {
      growthFactor: options.growthFactor ?? 2,
      backoffFactor: options.backoffFactor ?? 0.5,
      growthInterval: options.growthInterval ?? 2000,
      minScale: options.minScale ?? 1,
      maxScale: options.maxScale ?? 2 ** 24,
    };
    this.scale = keep(device.tensor([init], [1]));
    this.control = keep(device.tensor([1 / init, 0, 0, 0], [CTRL_SIZE]));
  }

  /**
   * Backpropagates loss·scale: the seed gradient is the scale tensor itself, so scaling costs no
   * extra op. The loss must be f32 (compute it from f32 logits) so the seed cannot overflow.
   */
  backward(loss: Tensor): void {
    if (loss.device !== this.device)
      throw new DeviceError("DynamicLossScaler.backward: the loss lives on another device");
    if (loss.size !== 1)
      throw new DeviceError(
        `DynamicLossScaler.backward: the loss must have one element, got ${loss}`,
      );
    tidy(() => {
      const seed = reshape(this.scale, loss.shape);
      backward(loss, loss.dtype === "f32" ? seed : cast(seed, loss.dtype));
    });
  }

  /**
   * Looks for non-finite values in the parameters' gradients and advances the state: sets
   * control = [1/scale, skip] for this step's consumers, then backs off or grows the scale.
   * Call once per step, after backward and before clipping and the optimiser step.
   */
  update(params: readonly Tensor[]): void {
    checkParams("DynamicLossScaler.update", params);
    noGrad(() => {
      const grads = params.flatMap((p) => (p.grad ? [p.grad] : []));
      // Every slot is written by its gradient's kernel; with no gradients at all, nothing overflowed.
      const partials = grads.length
        ? this.device.empty([grads.length * GRAD_STAT_PARTS])
        : this.device.zeros([GRAD_STAT_PARTS]);
      grads.forEach((g, slot) => {
        gradStats(partials, g, { slot, parts: GRAD_STAT_PARTS, mode: "nonfinite" });
      });
      lossScaleUpdate(this.scale, this.control, partials, this.attrs);
      partials.dispose();
    });
  }

  /**
   * The same as `update`, from partial sums of squares of the gradients that were computed anyway
   * for clipping (gradSquarePartials): overflow is a non-finite sum. Saves a pass over the gradients.
   */
  updateFromSquares(partials: Tensor): void {
    if (partials.device !== this.device)
      throw new DeviceError("DynamicLossScaler.updateFromSquares: partials live on another device");
    noGrad(() => {
      lossScaleUpdate(this.scale, this.control, partials, { ...this.attrs, stats: "sumsq" });
    });
  }

  /** The scale for the next step, read asynchronously. */
  async currentScale(): Promise<number> {
    return this.scale.item();
  }

  /** Whether the latest update skipped its step (gradients overflowed), read asynchronously. */
  async skipped(): Promise<boolean> {
    return (await this.control.toArray())[1] > 0.5;
  }

  dispose(): void {
    this.scale.dispose();
    this.control.dispose();
  }
}
