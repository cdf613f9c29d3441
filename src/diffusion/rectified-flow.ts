/**
 * Rectified flow (Liu et al. 2022; as trained in SD3 and Flux): the straight path
 * x_t = (1 − t)·x0 + t·noise from data (t = 0) to noise (t = 1); the model predicts its constant
 * velocity v = noise − x0. Timesteps are logit-normal (t = sigmoid(N(m, s²)), which puts the
 * training signal in the middle of the path), then shifted towards noise by a factor that
 * grows with the token count: bigger latents keep more of their structure at a given t, so
 * they need more noise (SD3 §5.3.2, shift = √(tokens / baseTokens)).
 *
 * Random draws happen here on the host with the seeded Rng; the tensors they fill are uploaded
 * before the step, so the loss itself is a pure function of tensors on any device.
 */
import type { Device } from "../tensor/device.ts";
import { div, sub } from "../tensor/ops/elementwise.ts";
import { lerp } from "../tensor/ops/fused.ts";
import { mseLoss } from "../tensor/ops/loss.ts";
import { mean } from "../tensor/ops/reduce.ts";
import { reshape } from "../tensor/ops/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";

export interface TimestepOptions {
  logitMean: number;
  logitStd: number;
  /** Multiplies the odds t/(1 − t); 1 leaves t unchanged. */
  shift: number;
}

/** The shifted time: shift·t / (1 + (shift − 1)·t). Maps 0 → 0 and 1 → 1; shift > 1 moves towards noise. */
export function timeShift(t: number, shift: number): number {
  if (!(shift > 0)) throw new Error(`timeShift: shift must be > 0, got ${shift}`);
  return (shift * t) / (1 + (shift - 1) * t);
}

/** √(tokens / baseTokens): 1 at the base size, larger for larger latents. */
export function shiftForTokens(tokens: number, baseTokens: number): number {
  if (!(tokens > 0) || !(baseTokens > 0))
    throw new Error(
      `shiftForTokens: tokens and baseTokens must be > 0, got ${tokens}, ${baseTokens}`,
    );
  return Math.sqrt(tokens / baseTokens);
}

/** n timesteps in (0, 1): logit-normal, then shifted. */
export function sampleTimesteps(rng: Rng, n: number, opts: TimestepOptions): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 / (1 + Math.exp(-(opts.logitMean + opts.logitStd * rng.normal())));
    out[i] = timeShift(u, opts.shift);
  }
  return out;
}

/** One batch's random draws, uploaded: noise like x0, and t as [B] and as [B, 1, 1, 1, 1]. */
export interface FlowDraws {
  noise: Tensor;
  t: Tensor;
  tGrid: Tensor;
}

export function drawFlow(
  device: Device,
  rng: Rng,
  shape: readonly number[],
  opts: TimestepOptions,
): FlowDraws {
  const b = shape[0];
  const times = sampleTimesteps(rng, b, opts);
  const noise = device.randn([...shape], rng);
  const t = device.tensor(times, [b]);
  const tGrid = reshape(t, [b, ...shape.slice(1).map(() => 1)]);
  return { noise, t, tGrid };
}

/** x_t = (1 − t)·x0 + t·noise and the velocity target noise − x0 (t broadcast per sample). */
export function flowPair(x0: Tensor, noise: Tensor, tGrid: Tensor): { xt: Tensor; target: Tensor } {
  return { xt: lerp(x0, noise, tGrid), target: sub(noise, x0) };
}

/**
 * Mean squared velocity error; with `weight` (e.g. 1 − known-frame mask, broadcastable to
 * pred), the mean over the weighted elements: mean(weight·err²) / mean(weight), computed on the
 * device so that a compiled step reads each batch's mask rather than a traced constant. Every
 * sample keeps at least one frame to generate, so mean(weight) > 0.
 */
export function flowLoss(pred: Tensor, target: Tensor, weight?: Tensor): Tensor {
  if (!weight) return mseLoss(pred, target);
  return div(mseLoss(pred, target, weight), mean(weight));
}
