/**
 * The transformer's own latents, for a decoder to learn from (`train ae --decoder-only
 * --denoiser`). The decoder was trained on the encoder's exact latents, but at generation it
 * reads what the sampler's last steps leave: latents that are close to a clip's but not
 * exactly it, and whose small errors it decodes as soft blob shapes and faint ghost copies.
 * Here a clip's clean latents are noised to a time t and denoised again by the frozen
 * transformer in one guided step, x̂0 = x_t − t·v, with the clip's caption and layout: latents
 * with the transformer's own errors whose right decoding is still the clip itself (the idea of
 * LTX-Video's denoising decoder, reached by fine-tuning on the transformer's estimates).
 */
import { compile } from "../compile/compile.ts";
import { keep, noGrad, tidy } from "../tensor/engine.ts";
import { ShapeError } from "../tensor/errors.ts";
import { mul, sub } from "../tensor/ops/elementwise.ts";
import { lerp } from "../tensor/ops/fused.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import type { StartLayout } from "../world/start-layout.ts";
import { layoutChannelCount, layoutChannels } from "./layout-input.ts";
import type { TextToVideo } from "./text-to-video.ts";

export interface DenoiserOptions {
  /** The frozen text-to-video model, trained on the latent space of the decoder's encoder. */
  model: TextToVideo;
  /** Share of the clips that get denoised latents (the rest keep the encoder's exact ones). */
  share: number;
  /** Noise times are drawn uniformly in (0, maxT]: the sampler's last stretch. */
  maxT: number;
  /** Classifier-free guidance of the one step, as generation uses. */
  guidance: number;
}

/**
 * Latents [B, C, T, H, W] (diffusion units) for clean latents `x0` of that shape: a `share` of
 * the clips (drawn with `rng`) noised to t ~ U(0, maxT] and denoised in one step by the frozen
 * model with their captions and first-frame layouts; the others exactly `x0` (t = 0). A new
 * tensor; `x0` is left as it is.
 */
export async function denoisedLatents(
  x0: Tensor,
  captions: readonly string[],
  layouts: readonly (StartLayout | null)[] | undefined,
  rng: Rng,
  opts: DenoiserOptions,
): Promise<Tensor> {
  const times = captions.map(() => (rng.chance(opts.share) ? opts.maxT * (1 - rng.next()) : 0));
  const noise = x0.device.randn(x0.shape, rng);
  try {
    return await denoiseAt(opts.model, x0, noise, times, captions, layouts, opts.guidance);
  } finally {
    noise.dispose();
  }
}

/**
 * x̂0 = x_t − t·v for clean latents `x0` [B, C, T, H, W] noised with `noise` (same shape) to
 * `times` (one per clip, in [0, 1]): the model's one-step estimate, guided by `guidance` with the
 * empty caption (1: unguided), the layouts given to the captioned rows only, as in sampling.
 */
export async function denoiseAt(
  t2v: TextToVideo,
  x0: Tensor,
  noise: Tensor,
  times: readonly number[],
  captions: readonly string[],
  layouts: readonly (StartLayout | null)[] | undefined,
  guidance: number,
): Promise<Tensor> {
  const device = x0.device;
  const [b, c, t, h, w] = x0.shape;
  if (captions.length !== b || times.length !== b)
    throw new ShapeError(
      `denoiseAt: ${captions.length} captions and ${times.length} times for ${b} latents`,
    );
  if (c !== t2v.cfg.dit.latentChannels)
    throw new ShapeError(
      `denoiseAt: the denoiser takes ${t2v.cfg.dit.latentChannels}-channel latents, these have ${c}`,
    );
  if (t2v.cfg.dit.trajectoryInput)
    throw new ShapeError(
      `denoiseAt: model "${t2v.cfg.name}" denoises a trajectory beside the latent (trajectoryInput), which clean latents alone do not give; use a denoiser without one`,
    );
  const guided = guidance !== 1;
  const rows = guided ? 2 : 1;
  const owned: Tensor[] = [];
  const own = (x: Tensor) => {
    owned.push(keep(x));
    return x;
  };
  try {
    const tGrid = own(device.tensor(Float32Array.from(times), [b, 1, 1, 1, 1]));
    const args: EstimateArgs = {
      x: own(noGrad(() => lerp(x0, noise, tGrid))), // x_t [B, C, T, H, W]
      tGrid,
      // The captions, then as many empty captions for guidance (whose rows get no layout).
      ids: own(t2v.tokenize([...captions, ...(guided ? captions.map(() => "") : [])])),
      t: own(device.tensor(Float32Array.from([...times, ...(guided ? times : [])]), [rows * b])),
    };
    if (guided) args.guidance = own(device.tensor([guidance], [1]));
    if (t2v.cfg.dit.startLayout) {
      const nl = layoutChannelCount(t2v.cfg.dit);
      const given = [...(layouts ?? captions.map(() => null))];
      if (given.length !== b)
        throw new ShapeError(`denoiseAt: ${given.length} layouts for ${b} latents`);
      const all = [...given, ...(guided ? captions.map(() => null) : [])];
      args.layout = own(
        device.tensor(layoutChannels(all, t, h, w, t2v.cfg.dit), [rows * b, nl, t, h, w]),
      );
    }
    return device.kind === "onnx"
      ? await compiledEstimate(t2v)(args as unknown as Record<string, Tensor>)
      : noGrad(() => tidy(() => estimate(t2v, args)));
  } finally {
    for (const x of owned) x.dispose();
  }
}

/** What one denoising estimate reads: tensors only, so that it compiles into one program. */
interface EstimateArgs {
  /** Noised latents x_t [B, C, T, H, W]. */
  x: Tensor;
  /** Their times [B, 1, 1, 1, 1]. */
  tGrid: Tensor;
  /** Caption ids [B or 2B, L] (the conditional captions, then the empty ones when guided). */
  ids: Tensor;
  /** Times per batch row [B or 2B]. */
  t: Tensor;
  guidance?: Tensor;
  layout?: Tensor;
}

/** x̂0 = x_t − t·v, the text encoder and the guided velocity in one graph. */
function estimate(t2v: TextToVideo, a: EstimateArgs): Tensor {
  const cond = t2v.text.forward(a.ids); // tokens [B or 2B, L, Dt], pooled [B or 2B, Dt]
  const v = t2v.velocity({ ...a, tokens: cond.tokens, pooled: cond.pooled }); // [B, C, T, H, W]
  return sub(a.x, mul(a.tGrid, v));
}

/** One compiled ONNX Runtime program per model (and per argument shape inside it). */
const programs = new WeakMap<TextToVideo, (a: Record<string, Tensor>) => Promise<Tensor>>();
function compiledEstimate(t2v: TextToVideo) {
  let program = programs.get(t2v);
  if (!program) {
    program = compile((a: Record<string, Tensor>) =>
      noGrad(() => estimate(t2v, a as unknown as EstimateArgs)),
    );
    programs.set(t2v, program);
  }
  return program;
}
