/**
 * The text side and the diffusion transformer together: captions → tokens → text encoder →
 * DiT, with the rectified-flow training loss (caption dropout for classifier-free guidance,
 * random known frames) and latent sampling with guidance. The autoencoder stays separate: it is
 * trained first and frozen, and the DiT works on its (scaled) latents.
 */

import { compile } from "../compile/compile.ts";
import {
  drawFrameMasks,
  type KnownFrameTensors,
  knownFrameTensors,
} from "../diffusion/known-frames.ts";
import {
  drawFlow,
  type FlowDraws,
  flowLoss,
  flowPair,
  shiftForTokens,
} from "../diffusion/rectified-flow.ts";
import { type SampleOptions, sampleFlow } from "../diffusion/sample.ts";
import { Module } from "../nn/module.ts";
import type { Device } from "../tensor/device.ts";
import type { DType } from "../tensor/dtype.ts";
import { keep, noGrad, tidy } from "../tensor/engine.ts";
import { ShapeError } from "../tensor/errors.ts";
import { add, cast, div, fill, maximum, mul, scale, sub } from "../tensor/ops/elementwise.ts";
import { lerp } from "../tensor/ops/fused.ts";
import { mseLoss } from "../tensor/ops/loss.ts";
import { concat, reshape, sliceAxis, split } from "../tensor/ops/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { TextEncoder, type TextFeatures } from "../text/encoder.ts";
import { Tokenizer } from "../text/tokenizer.ts";
import { Rng } from "../util/rng.ts";
import type { StartLayout } from "../world/start-layout.ts";
import type { ModelConfig } from "./config.ts";
import { DiffusionTransformer, type KnownFrames } from "./dit.ts";
import { layoutChannelCount, layoutChannels } from "./layout-input.ts";
import { TRAJECTORY_CHANNELS } from "./trajectory-target.ts";

/** The tensors a velocity evaluation reads (see TextToVideo.velocity). */
export interface VelocityArgs {
  /**
   * The sampled state [B, S, T, H, W]: the noisy latent (S = C), and for a model with
   * trajectoryInput the noisy trajectory after it (S = C + 3; see `stateChannels`).
   */
  x: Tensor;
  t: Tensor;
  tokens: Tensor;
  pooled: Tensor;
  guidance?: Tensor;
  /**
   * Layout guidance s [1] (with `guidance` and a layout): a third B rows of the caption without
   * its layout, and v_c = v_t + s·(v_cl − v_t) before the caption's guidance.
   */
  layoutGuidance?: Tensor;
  mask?: Tensor;
  clean?: Tensor;
  /** First-frame layout [B (or 2B / 3B when guided), 4, 6 or 13, T, H, W], for a model with startLayout. */
  layout?: Tensor;
}

/** n copies of x, for the batches of guidance. */
const copies = <T>(n: number, x: T): T[] => new Array<T>(n).fill(x);

/** Probability that a training caption is replaced by the empty caption. */
export const CAPTION_DROPOUT = 0.1;

/**
 * Probability that a kept caption's layout is dropped (all zeros) all the same, so that the model
 * also works with a caption alone (a user's own footage, modes that plan no layout). A dropped
 * caption always drops its layout: the unconditional model of guidance has neither.
 */
export const LAYOUT_DROPOUT = 0.2;

/** Everything random about one training batch, drawn on the host and uploaded. */
export interface FlowBatch {
  /** Caption ids i32 [B, L] (dropped captions already replaced). */
  ids: Tensor;
  draws: FlowDraws;
  known: KnownFrameTensors | null;
  /** Layout channels [B, 4, T, H, W] (dropped ones zero), for a model with startLayout. */
  layout?: Tensor | null;
  /** The trajectory's own noise [B, 3, T, H, W], for a model with trajectoryInput. */
  trajectoryNoise?: Tensor | null;
  dispose(): void;
}

export class TextToVideo extends Module {
  readonly tokenizer: Tokenizer;
  readonly text: TextEncoder;
  readonly dit: DiffusionTransformer;

  constructor(
    device: Device,
    rng: Rng,
    readonly cfg: ModelConfig,
  ) {
    super(device);
    this.tokenizer = Tokenizer.world();
    if (this.tokenizer.vocabHash !== cfg.vocabHash || this.tokenizer.vocabSize !== cfg.text.vocab)
      throw new ShapeError(
        `TextToVideo: config "${cfg.name}" was built for vocabulary ${cfg.vocabHash} (${cfg.text.vocab} tokens), this tokenizer has ${this.tokenizer.vocabHash} (${this.tokenizer.vocabSize})`,
      );
    if (cfg.dit.textDim !== cfg.text.dim)
      throw new ShapeError(
        `TextToVideo: dit.textDim ${cfg.dit.textDim} differs from the text encoder's dim ${cfg.text.dim}`,
      );
    this.text = this.child("text", new TextEncoder(device, rng, cfg.text));
    this.dit = this.child("dit", new DiffusionTransformer(device, rng, cfg.dit));
  }

  /** Caption ids i32 [B, L]. */
  tokenize(captions: readonly string[]): Tensor {
    const l = this.cfg.text.maxTokens;
    const ids = new Int32Array(captions.length * l);
    captions.forEach((c, i) => {
      ids.set(this.tokenizer.encode(c, l).ids, i * l);
    });
    return this.device.tensor(ids, [captions.length, l], "i32");
  }

  /**
   * Channels of the state the sampler integrates: the latent's, and the trajectory's after them
   * for a model that denoises one beside the latent (dit.trajectoryInput).
   */
  get stateChannels(): number {
    const { latentChannels, trajectoryInput } = this.cfg.dit;
    return latentChannels + (trajectoryInput ? TRAJECTORY_CHANNELS : 0);
  }

  /** Patch tokens of a latent [C, T, H, W]. */
  tokenCount(t: number, h: number, w: number): number {
    const [gt, gh, gw] = this.dit.grid(t, h, w);
    return gt * gh * gw;
  }

  /**
   * The random part of a training batch for latents x0 [B, C, T, H, W]: captions dropped with
   * probability `captionDropout`, noise, logit-normal shifted timesteps, known-frame masks, and
   * for a model with startLayout the clips' first-frame `layouts` (dropped with their caption, or
   * alone with probability LAYOUT_DROPOUT; none given: all dropped).
   */
  drawBatch(
    rng: Rng,
    x0: Tensor,
    captions: readonly string[],
    options: {
      captionDropout?: number;
      knownFrames?: boolean;
      layouts?: readonly (StartLayout | null)[];
    } = {},
  ): FlowBatch {
    const [b, , t, h, w] = x0.shape;
    if (captions.length !== b)
      throw new ShapeError(`TextToVideo: ${captions.length} captions for a batch of ${b} latents`);
    if (options.layouts && options.layouts.length !== b)
      throw new ShapeError(
        `TextToVideo: ${options.layouts.length} layouts for a batch of ${b} latents`,
      );
    const p = options.captionDropout ?? CAPTION_DROPOUT;
    const dropped = captions.map(() => rng.chance(p));
    const kept = captions.map((c, i) => (dropped[i] ? "" : c));
    // Drawn only for a model that takes layouts, so that other models' batches are as before.
    const nl = layoutChannelCount(this.cfg.dit);
    const layout = this.cfg.dit.startLayout
      ? this.device.tensor(
          layoutChannels(
            captions.map((_, i) => {
              const keepLayout = !rng.chance(LAYOUT_DROPOUT) && !dropped[i];
              return keepLayout ? (options.layouts?.[i] ?? null) : null;
            }),
            t,
            h,
            w,
            this.cfg.dit,
          ),
          [b, nl, t, h, w],
        )
      : null;
    const ids = this.tokenize(kept);
    const { logitMean, logitStd, baseTokens } = this.cfg.flow;
    const shift = shiftForTokens(this.tokenCount(t, h, w), baseTokens);
    const draws = drawFlow(this.device, rng, x0.shape, { logitMean, logitStd, shift });
    const known =
      options.knownFrames === false
        ? null
        : knownFrameTensors(this.device, drawFrameMasks(rng, b, t), x0);
    // Drawn last, so that other models' batches are as before.
    const trajectoryNoise = this.cfg.dit.trajectoryInput
      ? this.device.randn([b, TRAJECTORY_CHANNELS, t, h, w], rng)
      : null;
    const all = [
      ids,
      draws.noise,
      draws.t,
      draws.tGrid,
      ...(known ? [known.mask, known.clean, known.weight] : []),
      ...(layout ? [layout] : []),
      ...(trajectoryNoise ? [trajectoryNoise] : []),
    ];
    for (const tensor of all) keep(tensor);
    return {
      ids,
      draws,
      known,
      layout,
      trajectoryNoise,
      dispose: () => {
        for (const x of all) x.dispose();
      },
    };
  }

  /**
   * The rectified-flow loss of latents x0 [B, C, T, H, W] under a drawn batch, computed in
   * `dtype`; `objectWeight` [B, 1, T, H, W] (latentObjectWeights) leans it toward the objects;
   * `trajectory` [B, 3, T, H, W] (trajectoryTargets) is the trajectory head's target, and for a
   * model with trajectoryInput also, noised to the clip's time with the batch's trajectory noise,
   * an input.
   */
  loss(
    x0: Tensor,
    batch: FlowBatch,
    dtype: DType = "f32",
    objectWeight?: Tensor,
    trajectory?: Tensor,
  ): Tensor {
    const cond = this.text.forward(batch.ids, dtype); // tokens [B, L, Dt], pooled [B, Dt]
    const { noise, tGrid, t } = batch.draws;
    const [x, n, tg] = [x0, noise, tGrid].map((z) => cast(z, dtype));
    const { xt, target } = flowPair(x, n, tg); // 2 × [B, C, T, H, W]
    const known: KnownFrames | undefined = batch.known ?? undefined;
    const layout = batch.layout ?? undefined; // [B, 4, T, H, W]
    const lambda = this.cfg.dit.trajectoryWeight ?? 0;
    if (lambda > 0 !== (trajectory !== undefined))
      throw new ShapeError(
        lambda > 0
          ? "TextToVideo.loss: this model's trajectory head needs its targets"
          : "TextToVideo.loss: trajectory targets given to a model without a trajectory head",
      );
    const trajectoryNoise = batch.trajectoryNoise;
    if (this.cfg.dit.trajectoryInput && !trajectoryNoise)
      throw new ShapeError(
        "TextToVideo.loss: this model's noisy trajectory needs the batch's trajectory noise",
      );
    // (1 − t)·trajectory + t·noise, as the latent's x_t.
    const noisy =
      trajectory && trajectoryNoise && this.cfg.dit.trajectoryInput
        ? lerp(cast(trajectory, dtype), cast(trajectoryNoise, dtype), tg)
        : undefined; // [B, 3, T, H, W]
    const out = trajectory
      ? this.dit.forwardWithTrajectory(xt, t, cond, known, layout, noisy)
      : { velocity: this.dit.forward(xt, t, cond, known, layout), trajectory: null }; // [B, C, T, H, W], in dtype
    const frameWeight = batch.known?.weight; // [B, 1, T, 1, 1]
    const weight =
      frameWeight && objectWeight ? mul(frameWeight, objectWeight) : (frameWeight ?? objectWeight);
    const flow = flowLoss(cast(out.velocity, "f32"), cast(target, "f32"), weight);
    if (!trajectory || !out.trajectory) return flow;
    // The trajectory's squared error over every cell and channel, beside the velocity's.
    const traj = mseLoss(cast(out.trajectory, "f32"), cast(trajectory, "f32")); // [B, 3, T, H, W] → []
    return add(flow, scale(traj, lambda));
  }

  /**
   * The velocity of a batch, from tensors only (so that the compiled sampler can trace it):
   * x [B, C, T, H, W]; t [B] (or [2B] / [3B] when guided); caption tokens and pooled vectors for
   * B (or the B conditional then the B empty captions when guided; with layout guidance the B
   * conditional, the same B again without their layout, then the B empty captions); `guidance`
   * [1] when guided: v = v_u + g·(v_c − v_u), where with `layoutGuidance` s [1]
   * v_c = v_t + s·(v_cl − v_t) (v_cl with the layout, v_t the caption alone: the two-condition
   * guidance of InstructPix2Pix, the layout nested inside the caption).
   */
  velocity(a: VelocityArgs): Tensor {
    const cond = { tokens: a.tokens, pooled: a.pooled };
    const known = a.mask && a.clean ? { mask: a.mask, clean: a.clean } : undefined;
    if (!a.guidance) return this.stateVelocity(a.x, a.t, cond, known, a.layout); // [B, S, T, H, W]
    const b = a.x.shape[0];
    const rows = a.layoutGuidance ? 3 : 2;
    const x = concat(copies(rows, a.x), 0); // [rows·B, S, T, H, W]
    const v = this.stateVelocity(x, a.t, cond, known, a.layout); // [rows·B, S, T, H, W]
    const parts = split(v, copies(rows, b), 0);
    const vu = parts[rows - 1];
    const vc = a.layoutGuidance ? lerp(parts[1], parts[0], a.layoutGuidance) : parts[0]; // v_t + s·(v_cl − v_t)
    return lerp(vu, vc, a.guidance); // v_u + g·(v_c − v_u)
  }

  /**
   * The velocity of states x [N, S, T, H, W] at times t [N]: the DiT's for the latent, and for a
   * model with trajectoryInput, after it, the trajectory's (x_traj − x̂_traj)/t from the head's
   * estimate of the clean trajectory (the velocity whose Euler step to t = 0 lands on it).
   */
  private stateVelocity(
    x: Tensor,
    t: Tensor,
    cond: { tokens: Tensor; pooled: Tensor },
    known?: KnownFrames,
    layout?: Tensor,
  ): Tensor {
    if (!this.cfg.dit.trajectoryInput) return this.dit.forward(x, t, cond, known, layout); // [N, C, T, H, W]
    const c = this.cfg.dit.latentChannels;
    if (x.shape[1] !== c + TRAJECTORY_CHANNELS)
      throw new ShapeError(
        `TextToVideo: the state must be [N, ${c + TRAJECTORY_CHANNELS}, T, H, W] (latent, then trajectory), got [${x.shape.join(", ")}]`,
      );
    const [latent, traj] = split(x, [c, TRAJECTORY_CHANNELS], 1); // [N, C, …], [N, 3, …]
    const out = this.dit.forwardWithTrajectory(latent, t, cond, known, layout, traj);
    const n = t.shape[0];
    // t is never 0 where the sampler asks (it steps from t > 0); the floor keeps any caller finite.
    const tt = reshape(maximum(cast(t, x.dtype), fill(x, 1e-3, [n])), [n, 1, 1, 1, 1]); // [N, 1, 1, 1, 1]
    const vTraj = div(sub(traj, out.trajectory), tt); // [N, 3, T, H, W]
    return concat([out.velocity, vTraj], 1); // [N, C + 3, T, H, W]
  }

  /**
   * Samples latents [B, C, T, H, W] for `captions` from seeded noise. `guidance` > 1 batches
   * each caption with the empty caption and moves the velocity away from the unconditional one:
   * v = v_u + g·(v_c − v_u). `known` gives frames to keep (mask + clean latents); `layout`
   * [B, layoutChannelCount, T, H, W] the first frame's planned layout (a model with startLayout;
   * the empty captions of guidance get none, as in training). `layoutGuidance` s ≠ 1 (guided, with a layout)
   * adds the captions without their layouts as a third batch and weighs the layout by s inside
   * the caption's guidance (see `velocity`); 1, the default, is plain guidance.
   * `guidanceInterval` [lo, hi] guides only the steps that start at a time t with lo ≤ t ≤ hi
   * and takes the conditional velocity elsewhere (guidance in a limited interval, Kynkäänniemi
   * et al. 2024); by default every step is guided. `shift` sets the time grid's shift (by
   * default the one training used at this token count: more of the steps at high noise). On the
   * onnx device each velocity is one compiled ONNX Runtime program (compiled once per shape).
   * A model with trajectoryInput samples its trajectory beside the latent (its noise drawn from
   * the seed after the latent's) and returns the latent alone; there an SDEdit start (`init`)
   * gives the trajectory no clean value (zeros: no object known), and a step's `denoised()` is
   * the latent's.
   */
  async sampleLatents(
    captions: readonly string[],
    shape: [number, number, number, number],
    options: Omit<SampleOptions, "noiseRng"> & {
      seed: number;
      guidance?: number;
      layoutGuidance?: number;
      guidanceInterval?: readonly [number, number];
      known?: KnownFrames;
      layout?: Tensor;
    },
  ): Promise<Tensor> {
    const b = captions.length;
    const [c, t, h, w] = shape;
    if (c !== this.cfg.dit.latentChannels)
      throw new ShapeError(
        `sampleLatents: the model makes ${this.cfg.dit.latentChannels}-channel latents, asked for ${c}`,
      );
    this.dit.grid(t, h, w);
    const g = options.guidance ?? 1;
    const guided = g !== 1;
    const s = options.layoutGuidance ?? 1;
    if (!(Number.isFinite(s) && s >= 0))
      throw new RangeError(`sampleLatents: layout guidance must be a number ≥ 0, got ${s}`);
    const [guideFrom, guideTo] = options.guidanceInterval ?? [0, 1];
    if (!(guideFrom >= 0 && guideFrom < guideTo && guideTo <= 1))
      throw new RangeError(
        `sampleLatents: guidance interval must be lo,hi with 0 ≤ lo < hi ≤ 1, got ${options.guidanceInterval?.join(",")}`,
      );
    // Only where there is a layout to weigh and a guided batch to nest it in.
    const layoutGuided = guided && s !== 1 && options.layout !== undefined;
    const rows = layoutGuided ? 3 : guided ? 2 : 1;
    const n = rows * b;
    // The time grid's shift: the one training used at this token count unless one is given.
    const shift =
      options.shift ?? shiftForTokens(this.tokenCount(t, h, w), this.cfg.flow.baseTokens);
    if (!(Number.isFinite(shift) && shift > 0))
      throw new RangeError(`sampleLatents: shift must be a number > 0, got ${shift}`);
    // The seed's stream gives the starting noise, then any stochastic steps' fresh noise.
    const seeded = new Rng(options.seed);
    const joint = this.cfg.dit.trajectoryInput === true;
    const noise = keep(
      joint
        ? noGrad(() =>
            tidy(() =>
              concat(
                [
                  this.device.randn([b, c, t, h, w], seeded),
                  this.device.randn([b, TRAJECTORY_CHANNELS, t, h, w], seeded),
                ],
                1,
              ),
            ),
          )
        : this.device.randn([b, c, t, h, w], seeded),
    ); // [B, S, T, H, W]
    // The latent's part of a state (the trajectory's channels, if any, come after it).
    const latentOf = (state: Tensor): Tensor => (joint ? sliceAxis(state, 1, 0, c) : state);
    const init = options.init;
    const initState =
      init && joint
        ? keep(
            noGrad(() =>
              tidy(() =>
                concat([init.latent, this.device.zeros([b, TRAJECTORY_CHANNELS, t, h, w])], 1),
              ),
            ),
          )
        : undefined;
    const onStep = options.onStep;
    const stepCallback: SampleOptions["onStep"] =
      onStep && joint
        ? (step, steps, time, denoised) =>
            onStep(step, steps, time, () => {
              const full = denoised();
              const part = noGrad(() => tidy(() => latentOf(full)));
              full.dispose();
              return part;
            })
        : onStep;
    const cond = noGrad(() =>
      tidy(() => {
        // The captions; again (without their layouts) for layout guidance; the empty captions.
        const ids = this.tokenize([
          ...captions,
          ...(layoutGuided ? captions : []),
          ...(guided ? captions.map(() => "") : []),
        ]);
        return this.text.forward(ids);
      }),
    );
    const known = options.known;
    const knownBoth =
      known && guided
        ? noGrad(() =>
            tidy(() => ({
              mask: concat(copies(rows, known.mask), 0),
              clean: concat(copies(rows, known.clean), 0),
            })),
          )
        : known;
    const given = options.layout;
    const nl = layoutChannelCount(this.cfg.dit);
    if (given && given.shape.join() !== [b, nl, t, h, w].join())
      throw new ShapeError(
        `sampleLatents: layout ${given.shape.join("×")} must be ${[b, nl, t, h, w].join("×")}`,
      );
    if (given && !this.cfg.dit.startLayout)
      throw new ShapeError(`sampleLatents: model "${this.cfg.name}" takes no layout`);
    // A model with startLayout always gets one (zeros where none was planned), so that the
    // compiled velocity has one signature.
    const none = (): Tensor => this.device.zeros([b, nl, t, h, w]);
    // Made here (and disposed at the end) unless it is the caller's own tensor.
    const ownLayout = !this.cfg.dit.startLayout
      ? undefined
      : guided
        ? keep(
            noGrad(() =>
              tidy(() => concat([given ?? none(), ...Array.from({ length: rows - 1 }, none)], 0)),
            ),
          )
        : given
          ? undefined
          : keep(none());
    const layout = ownLayout ?? given;
    const guidance = guided ? keep(this.device.tensor([g], [1])) : undefined;
    // Outside the guidance interval: weight 1, the conditional velocity (same batch and program).
    const unguided =
      guided && options.guidanceInterval ? keep(this.device.tensor([1], [1])) : undefined;
    const layoutGuidance = layoutGuided ? keep(this.device.tensor([s], [1])) : undefined;
    const velocity = async (x: Tensor, time: number): Promise<Tensor> => {
      const tt = this.device.tensor(new Float32Array(n).fill(time), [n]);
      // Unguided: no guidance key at all (a compiled step takes tensors only).
      const args: VelocityArgs = { x, t: tt, tokens: cond.tokens, pooled: cond.pooled };
      if (guidance)
        args.guidance = unguided && (time < guideFrom || time > guideTo) ? unguided : guidance;
      if (layoutGuidance) args.layoutGuidance = layoutGuidance;
      if (knownBoth) Object.assign(args, { mask: knownBoth.mask, clean: knownBoth.clean });
      if (layout) args.layout = layout;
      const v = await this.evaluateVelocity(args);
      tt.dispose();
      return v;
    };
    try {
      const opts: SampleOptions = { ...options, shift, noiseRng: seeded, onStep: stepCallback };
      if (init && initState) opts.init = { latent: initState, strength: init.strength };
      let x = await sampleFlow(noise, velocity, opts);
      if (joint) {
        const state = x;
        x = noGrad(() => tidy(() => latentOf(state))); // [B, C, T, H, W]
        state.dispose();
      }
      if (known) {
        const sampled = x;
        x = noGrad(() => tidy(() => lerp(sampled, known.clean, known.mask))); // known frames exactly as given
        sampled.dispose();
      }
      return x;
    } finally {
      // Also when a step callback stops the sampling (a canceled server job).
      for (const tensor of [
        noise,
        cond.tokens,
        cond.pooled,
        ...(guidance ? [guidance] : []),
        ...(unguided ? [unguided] : []),
        ...(layoutGuidance ? [layoutGuidance] : []),
        ...(ownLayout ? [ownLayout] : []),
        ...(initState ? [initState] : []),
        ...(knownBoth && knownBoth !== known ? [knownBoth.mask, knownBoth.clean] : []),
      ])
        tensor.dispose();
    }
  }

  /**
   * `velocity` without gradients: on the onnx device one compiled ONNX Runtime program per
   * argument shape (sampling, and the denoised latents a decoder trains on), elsewhere eager.
   */
  async evaluateVelocity(args: VelocityArgs): Promise<Tensor> {
    return this.device.kind === "onnx"
      ? await this.compiledVelocity(args as unknown as Record<string, Tensor>)
      : noGrad(() => tidy(() => this.velocity(args)));
  }

  /** `velocity` as one ONNX Runtime program per argument shape (made on first use). */
  private readonly compiledVelocity = compile((a: Record<string, Tensor>) =>
    noGrad(() => this.velocity(a as unknown as VelocityArgs)),
  );
}

export type { TextFeatures };
