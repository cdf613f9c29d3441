/**
 * One training step put together: forward in the policy's compute dtype, (scaled) backward,
 * overflow check, gradient clipping, AdamW, EMA. Everything is encoded on the device; the
 * returned loss and gradient norm are tensors to read asynchronously when wanted.
 */
import { backward } from "../tensor/autograd.ts";
import type { Device } from "../tensor/device.ts";
import { keep, noGrad, tidy } from "../tensor/engine.ts";
import { DeviceError } from "../tensor/errors.ts";
import { cast } from "../tensor/ops/elementwise.ts";
import { gradNorm as globalNorm } from "../tensor/ops/optim.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { checkMaxNorm, gradSquarePartials } from "./clip.ts";
import { Ema, type EmaOptions } from "./ema.ts";
import { DynamicLossScaler, type LossScalerOptions } from "./loss-scale.ts";
import { type ComputeDType, choosePrecision, type PrecisionPolicy } from "./mixed-precision.ts";
import { AdamW, type AdamWOptions } from "./optimizer.ts";
import { checkParams } from "./params.ts";

export interface TrainerOptions {
  /** Default: choosePrecision(device) (f16 where the device has it). */
  policy?: PrecisionPolicy;
  optimizer?: AdamWOptions;
  /** Clip gradients to this global norm (default: no clipping). */
  clipNorm?: number;
  lossScaler?: LossScalerOptions;
  /** Keep an EMA of the weights (default: none). */
  ema?: EmaOptions;
}

export interface StepResult {
  /** The unscaled loss, f32 scalar (owned by the caller: dispose it when read). */
  loss: Tensor;
  /** The global gradient norm before clipping (when clipping), owned by the caller. */
  gradNorm: Tensor | null;
}

export class Trainer {
  readonly device: Device;
  readonly policy: PrecisionPolicy;
  readonly optimizer: AdamW;
  readonly scaler: DynamicLossScaler | null;
  readonly ema: Ema | null;
  private readonly clipNorm: number | null;

  constructor(
    readonly params: readonly Tensor[],
    options: TrainerOptions = {},
  ) {
    this.device = checkParams("Trainer", params);
    this.policy = options.policy ?? choosePrecision(this.device);
    if (this.policy.compute === "f16" && !this.device.supportsF16)
      throw new DeviceError(
        `Trainer: f16 compute on ${this.device.kind}, which has no f16 support`,
      );
    this.optimizer = new AdamW(params, options.optimizer);
    this.scaler = this.policy.lossScaling
      ? new DynamicLossScaler(this.device, options.lossScaler)
      : null;
    this.ema = options.ema ? new Ema(params, options.ema) : null;
    this.clipNorm = options.clipNorm ?? null;
    if (this.clipNorm !== null) checkMaxNorm("Trainer", this.clipNorm);
  }

  /**
   * Runs one step. `lossFn(dtype)` runs the forward pass computing in `dtype` and returns a
   * one-element loss (cast to f32 here if it is not already). `lr` overrides the optimiser's
   * learning rate for this step (schedules).
   */
  step(lossFn: (dtype: ComputeDType) => Tensor, options: { lr?: number } = {}): StepResult {
    const loss = tidy(() => {
      const raw = lossFn(this.policy.compute);
      if (raw?.size !== 1)
        throw new DeviceError(
          `Trainer.step: the loss function must return a one-element tensor, got ${raw}`,
        );
      const l = cast(raw, "f32");
      if (this.scaler) this.scaler.backward(l);
      else backward(l);
      return l;
    });
    // The loss is a plain value from here on: drop its link to the freed graph.
    loss.node = null;
    loss.requiresGrad = false;
    keep(loss);
    const control = this.scaler?.control;
    let gradNorm: Tensor | null = null;
    if (this.clipNorm !== null) {
      // One pass over the gradients serves the overflow check, the norm and (fused into AdamW)
      // the clipping.
      const partials = gradSquarePartials(this.device, this.params);
      if (this.scaler) {
        if (partials) this.scaler.updateFromSquares(partials);
        else this.scaler.update(this.params);
      }
      gradNorm = keep(
        partials ? noGrad(() => globalNorm(partials, control)) : this.device.zeros([]),
      );
      partials?.dispose();
      this.optimizer.step({
        control,
        lr: options.lr,
        clip: { norm: gradNorm, maxNorm: this.clipNorm },
      });
    } else {
      this.scaler?.update(this.params);
      this.optimizer.step({ control, lr: options.lr });
    }
    this.ema?.update();
    this.optimizer.zeroGrad();
    return { loss, gradNorm };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.scaler?.dispose();
    this.ema?.dispose();
  }
}
