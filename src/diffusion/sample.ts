/**
 * Sampling a rectified flow: integrate dx/dt = v(x, t) from t = 1 (noise) down to t = 0 (data)
 * on a shifted time grid, by Euler (default) or Heun. Classifier-free guidance and known frames
 * live in the velocity function the caller passes (see `text-to-video.ts`); a start from a noised
 * input (SDEdit) begins part-way down the grid.
 */
import { noGrad, tidy } from "../tensor/engine.ts";
import { scale } from "../tensor/ops/elementwise.ts";
import { addScaled, lerp } from "../tensor/ops/fused.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import { timeShift } from "./rectified-flow.ts";

/**
 * v(x, t): the velocity at time t (a host number, the same for the whole batch), as a new tensor
 * the sampler owns. It may be asynchronous: on the onnx device it is a compiled program.
 */
export type Velocity = (x: Tensor, t: number) => Tensor | Promise<Tensor>;

export interface SampleOptions {
  steps: number;
  /** Timestep shift (see rectified-flow.ts); default 1. */
  shift?: number;
  method?: "euler" | "heun";
  /**
   * Stochastic Euler steps (DDIM's η, on the rectified-flow path): from t the step goes to
   * x_s = (1 − s)·x̂0 + s·(√(1 − η²)·ε̂ + η·z), with the model's estimates x̂0 = x_t − t·v and
   * ε̂ = x_t + (1 − t)·v and fresh noise z, so that each step puts back part of the noise its
   * estimate consumed and the path can leave a wrong start. 0 (the default) is the plain Euler
   * step exactly; 1 replaces the whole noise estimate. Euler only; needs `noiseRng`.
   */
  eta?: number;
  /**
   * With `eta`: the stochastic steps stop at this time, and the steps below it are plain Euler
   * (0, the default: stochastic all the way down).
   */
  etaUntil?: number;
  /** The seeded stream of the stochastic steps' fresh noise (with `eta` > 0). */
  noiseRng?: Rng;
  /**
   * Called after each step with its 1-based index and the time reached. `denoised()` makes the
   * model's current prediction of the clean sample, x̂0 = x_t − t·v from the step's start (on the
   * path x_t = (1 − t)·x0 + t·noise, v = noise − x0), as a new tensor the caller owns: only when
   * called (a preview), and only until the callback returns or the promise it returns settles:
   * the sampler waits for a returned promise.
   */
  onStep?: (step: number, steps: number, t: number, denoised: () => Tensor) => unknown;
  /**
   * SDEdit: start part-way down the schedule from `init` instead of pure noise. `strength` (in
   * (0, 1]) is the share of the schedule that is run again (as diffusers' img2img counts it):
   * the grid is the usual one from u = strength down to 0 before the shift, so the start time is
   * t₀ = timeShift(strength, shift) and the start (1 − t₀)·init + t₀·noise. Without a shift,
   * t₀ = strength. With one, a given strength reaches the same stage of a sampling run at any
   * size (at world-s's 3.2 for 2-s clips, 0.6 starts at t ≈ 0.83: the background is still
   * undecided there, so an edit can change it).
   */
  init?: { latent: Tensor; strength: number };
}

/** steps + 1 times, uniform in u from `from` down to 0, each shifted: t = timeShift(u, shift). */
export function timeGrid(steps: number, shift = 1, from = 1): number[] {
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`sample: steps must be a positive integer, got ${steps}`);
  if (!(from > 0 && from <= 1))
    throw new Error(`sample: start time must be in (0, 1], got ${from}`);
  return Array.from({ length: steps + 1 }, (_, i) => timeShift(from * (1 - i / steps), shift));
}

/** Integrates from `noise` (caller-owned, not freed) to t = 0; returns the sample. */
export async function sampleFlow(
  noise: Tensor,
  velocity: Velocity,
  opts: SampleOptions,
): Promise<Tensor> {
  const ts = timeGrid(opts.steps, opts.shift ?? 1, opts.init?.strength ?? 1);
  const eta = opts.eta ?? 0;
  if (!(eta >= 0 && eta <= 1)) throw new Error(`sample: eta must be in [0, 1], got ${eta}`);
  if (eta > 0 && opts.method === "heun")
    throw new Error("sample: eta (stochastic steps) is for the euler method, not heun");
  const etaUntil = opts.etaUntil ?? 0;
  if (!(etaUntil >= 0 && etaUntil < 1))
    throw new Error(`sample: etaUntil must be in [0, 1), got ${etaUntil}`);
  const noiseRng = opts.noiseRng;
  if (eta > 0 && !noiseRng)
    throw new Error("sample: eta > 0 needs noiseRng, the seeded stream of its fresh noise");
  const init = opts.init;
  let x = init ? noGrad(() => tidy(() => lerp(init.latent, noise, ts[0]))) : noise;
  for (let i = 0; i < opts.steps; i++) {
    const [t, next] = [ts[i], ts[i + 1]];
    const prev = x;
    const v = await velocity(prev, t);
    const euler =
      eta > 0 && noiseRng && next > 0 && next >= etaUntil
        ? stochasticStep(prev, v, t, next, eta, noiseRng)
        : noGrad(() => tidy(() => addScaled(prev, v, next - t))); // x + (t_next − t)·v
    if (opts.method !== "heun" || next === 0) x = euler;
    else {
      // Heun: average the slope here and at the Euler point.
      const v2 = await velocity(euler, next);
      x = noGrad(() =>
        tidy(() => addScaled(addScaled(prev, v, (next - t) / 2), v2, (next - t) / 2)),
      );
      euler.dispose();
      v2.dispose();
    }
    try {
      const denoised = () => noGrad(() => tidy(() => addScaled(prev, v, -t))); // x_t − t·v
      await opts.onStep?.(i + 1, opts.steps, next, denoised);
    } finally {
      v.dispose();
      if (prev !== noise) prev.dispose();
    }
  }
  return x;
}

/** x_s = (1 − s)·x̂0 + s·(√(1 − η²)·ε̂ + η·z) from x_t and its velocity v (see `eta`). */
function stochasticStep(x: Tensor, v: Tensor, t: number, s: number, eta: number, rng: Rng) {
  const z = x.device.randn(x.shape, rng);
  try {
    return noGrad(() =>
      tidy(() => {
        const x0 = addScaled(x, v, -t); // x_t − t·v
        const eps = addScaled(x, v, 1 - t); // x_t + (1 − t)·v
        const fresh = addScaled(scale(eps, Math.sqrt(1 - eta * eta)), z, eta);
        return addScaled(scale(x0, 1 - s), fresh, s);
      }),
    );
  } finally {
    z.dispose();
  }
}
