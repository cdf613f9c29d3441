/** Gradient clipping by global norm, entirely on the device. */
import type { Device } from "../tensor/device.ts";
import { noGrad } from "../tensor/engine.ts";
import { GRAD_STAT_PARTS, gradClip, gradNorm, gradStats } from "../tensor/ops/optim.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { checkParams } from "./params.ts";

export interface ClipOptions {
  /** Added to the norm before dividing (default 1e-6). */
  eps?: number;
  /**
   * The loss scaler's control tensor: gradients then carry the loss scale, and the norm is
   * measured after unscaling (ctrl[0] = 1/scale) so that maxNorm means the same with or without it.
   */
  control?: Tensor;
}

/**
 * Partial sums of squares of every gradient (GRAD_STAT_PARTS per gradient, one dispatch each);
 * null when no parameter has a gradient. Their sum is the squared global norm.
 */
export function gradSquarePartials(device: Device, params: readonly Tensor[]): Tensor | null {
  const grads = params.flatMap((p) => (p.grad ? [p.grad] : []));
  if (grads.length === 0) return null;
  return noGrad(() => {
    const partials = device.empty([grads.length * GRAD_STAT_PARTS]);
    grads.forEach((g, slot) => {
      gradStats(partials, g, { slot, parts: GRAD_STAT_PARTS, mode: "sumsq" });
    });
    return partials;
  });
}

/**
 * The L2 norm of all parameters' gradients together (unscaled by control[0] when given), as an
 * f32 scalar tensor computed on the device; 0 when no parameter has a gradient.
 */
export function globalGradNorm(params: readonly Tensor[], options: ClipOptions = {}): Tensor {
  const device = checkParams("globalGradNorm", params);
  const partials = gradSquarePartials(device, params);
  if (!partials) return device.zeros([]);
  const norm = noGrad(() => gradNorm(partials, options.control));
  partials.dispose();
  return norm;
}

/**
 * Scales every gradient by min(1, maxNorm / (‖g‖ + eps)), where ‖g‖ is the L2 norm over all
 * parameters' gradients together. Returns that norm (before clipping) as an f32 scalar tensor,
 * to be read asynchronously if wanted. Parameters without a gradient are left out.
 * (AdamW can apply the same clipping inside its update kernel: see StepOptions.clip.)
 */
export function clipGradNorm(
  params: readonly Tensor[],
  maxNorm: number,
  options: ClipOptions = {},
): Tensor {
  checkMaxNorm("clipGradNorm", maxNorm);
  const norm = globalGradNorm(params, options);
  const eps = options.eps ?? 1e-6;
  noGrad(() => {
    for (const p of params) if (p.grad) gradClip(p.grad, norm, maxNorm, eps);
  });
  return norm;
}

export function checkMaxNorm(who: string, maxNorm: number): void {
  if (!(typeof maxNorm === "number" && maxNorm > 0 && Number.isFinite(maxNorm)))
    throw new RangeError(`${who}: maxNorm must be a positive number, got ${maxNorm}`);
}
