/** Gradient clipping by global norm, entirely on the device. */
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
 * Scales every gradient by min(1, maxNorm / (‖g‖ + eps)), where ‖g‖ is the L2 norm over all
 * parameters' gradients together. Returns that norm (before clipping) as an f32 scalar tensor,
 * to be read asynchronously if wanted. Parameters without a gradient are left out.
 */
export function clipGradNorm(
  params: readonly Tensor[],
  maxNorm: number,
  options: ClipOptions = {},
): Tensor {
  const device = checkParams("clipGradNorm", params);
  if (!(typeof maxNorm === "number" && maxNorm > 0 && Number.isFinite(maxNorm)))
    throw new RangeError(`clipGradNorm: maxNorm must be a positive number, got ${maxNorm}`);
  const eps = options.eps ?? 1e-6;
  return noGrad(() => {
    const grads = params.flatMap((p) => (p.grad ? [p.grad] : []));
    if (grads.length === 0) return device.zeros([]);
    const partials = device.empty([grads.length * GRAD_STAT_PARTS]);
    grads.forEach((g, slot) => {
      gradStats(partials, g, { slot, parts: GRAD_STAT_PARTS, mode: "sumsq" });
    });
    const norm = gradNorm(partials, options.control);
    for (const g of grads) gradClip(g, norm, maxNorm, eps);
    partials.dispose();
    return norm;
  });
}
