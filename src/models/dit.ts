/**
 * The diffusion transformer over spacetime patches. A noisy latent [B, C, T, H, W] (plus the
 * known-frame mask and the clean latents of known frames, as extra input channels) is cut into
 * pt×ph×pw patches, one token each; 3-D rotary positions over the (t, h, w) patch grid let one
 * model serve any duration, size and aspect ratio the latent allows; adaLN-Zero blocks are
 * conditioned on the timestep plus the pooled caption, and cross-attend to the caption tokens.
 * The output is the rectified-flow velocity, shaped like the latent.
 *
 * Known frames: mask [B, 1, T, H, W] is 1 where the clean latent is given (`clean` holds it,
 * zeros elsewhere). With no mask (pure text-to-video) both channels are zero. Later issues use
 * this to animate an image (first frame known), extend a clip either way, loop and connect.
 */
import { Linear } from "../nn/linear.ts";
import { Module } from "../nn/module.ts";
import type { Device } from "../tensor/device.ts";
import { ShapeError } from "../tensor/errors.ts";
import { add, cast, fill, silu } from "../tensor/ops/elementwise.ts";
import { concat, permute, reshape } from "../tensor/ops/shape.ts";
import { fmt } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import type { DitConfig } from "./config.ts";
import { DitBlock, FinalLayer, TimestepEmbedder } from "./dit-layers.ts";
import { layoutChannelCount } from "./layout-input.ts";
import { TRAJECTORY_CHANNELS } from "./trajectory-target.ts";

export interface DitConditioning {
  /** Caption tokens [B, L, Dt]. */
  tokens: Tensor;
  /** Pooled caption [B, Dt]. */
  pooled: Tensor;
}

export interface KnownFrames {
  /** [B, 1, T, H, W], 1 where the latent is given. */
  mask: Tensor;
  /** [B, C, T, H, W], the given latent where mask is 1 (anything elsewhere is ignored as 0·x is added). */
  clean: Tensor;
}

/** The first frame's planned layout [B, layoutChannelCount(cfg), T, H, W] (see layout-input.ts). */
export type LayoutInput = Tensor;

export class DiffusionTransformer extends Module {
  readonly patchEmbed: Linear;
  readonly timeEmbed: TimestepEmbedder;
  readonly textEmbed: Linear;
  readonly blocks: DitBlock[] = [];
  readonly final: FinalLayer;
  /** Frame-position features → model width, zero-initialised (cfg.framePositions). */
  readonly framePos: Linear | null = null;
  /**
   * The trajectory head (cfg.trajectoryWeight > 0): each latent cell's object occupancy and
   * screen velocity, from the same features as the velocity (src/models/trajectory-target.ts).
   * Trained beside the velocity; sampling never runs it.
   */
  readonly trajectory: FinalLayer | null = null;

  constructor(
    device: Device,
    rng: Rng,
    readonly cfg: DitConfig,
  ) {
    super(device);
    const { dim, heads, layers, latentChannels: c, patch } = cfg;
    const p = patch[0] * patch[1] * patch[2];
    if (!Number.isInteger(layers) || layers < 1)
      throw new ShapeError(
        `DiffusionTransformer: layers must be a positive integer, got ${layers}`,
      );
    if (cfg.trajectoryInput && !((cfg.trajectoryWeight ?? 0) > 0))
      throw new ShapeError(
        "DiffusionTransformer: trajectoryInput needs the trajectory head (trajectoryWeight > 0)",
      );
    this.patchEmbed = this.child(
      "patch_embed",
      new Linear(device, rng, ditInputChannels(cfg) * p, dim),
    );
    this.timeEmbed = this.child("time_embed", new TimestepEmbedder(device, rng, dim));
    this.textEmbed = this.child("text_embed", new Linear(device, rng, cfg.textDim, dim));
    for (let i = 0; i < layers; i++)
      this.blocks.push(
        this.child(`block${i}`, new DitBlock(device, rng, dim, heads, cfg.textDim, cfg.mlpRatio)),
      );
    this.final = this.child("final", new FinalLayer(device, rng, dim, p * c));
    // Last, so that models without it draw the same initial values as before. Zero: a model
    // grown from weights without it starts as exactly that model.
    if (cfg.framePositions)
      this.framePos = this.child(
        "frame_pos",
        new Linear(device, rng, FRAME_POSITION_FEATURES, dim, { std: 0 }),
      );
    // After frame_pos, for the same reason; its output starts at zero (FinalLayer's is).
    if ((cfg.trajectoryWeight ?? 0) > 0)
      this.trajectory = this.child(
        "trajectory",
        new FinalLayer(device, rng, dim, p * TRAJECTORY_CHANNELS),
      );
  }

  /** Patch grid (t, h, w) of a latent [T, H, W]; the error says which sizes fit. */
  grid(t: number, h: number, w: number): [number, number, number] {
    const [pt, ph, pw] = this.cfg.patch;
    const bad = (
      [
        ["frames", t, pt],
        ["height", h, ph],
        ["width", w, pw],
      ] as const
    ).filter(([, n, p]) => n % p !== 0 || n < p);
    if (bad.length)
      throw new ShapeError(
        `DiffusionTransformer: latent ${bad.map(([what, n, p]) => `${what} ${n} is not a multiple of the patch's ${p}`).join(", ")}`,
      );
    return [t / pt, h / ph, w / pw];
  }

  /**
   * x [B, C, T, H, W] (noisy latent), t [B] (flow time in [0, 1], 1 = noise), cond (caption),
   * known (optional known frames), layout (optional first-frame layout, for a model whose config
   * has startLayout; zeros when absent), trajectory (the noisy trajectory [B, 3, T, H, W] at
   * time t, for a model with trajectoryInput, which needs it) → velocity [B, C, T, H, W].
   * Computes in x's dtype.
   */
  forward(
    x: Tensor,
    t: Tensor,
    cond: DitConditioning,
    known?: KnownFrames,
    layout?: LayoutInput,
    trajectory?: Tensor,
  ): Tensor {
    const { latentChannels: c, patch } = this.cfg;
    const { h, cvec, grid } = this.trunk(x, t, cond, known, layout, trajectory); // [B, N, D], [B, D]
    const out = this.final.forward(h, cvec); // [B, N, C·P]
    return unpatchify(out, c, grid, patch); // [B, C, T, H, W]
  }

  /**
   * The velocity as `forward` computes it, and beside it the trajectory head's prediction of the
   * clean trajectory [B, TRAJECTORY_CHANNELS, T, H, W] from the same features (a model with
   * cfg.trajectoryWeight: in training, and in sampling where the trajectory is an input too).
   */
  forwardWithTrajectory(
    x: Tensor,
    t: Tensor,
    cond: DitConditioning,
    known?: KnownFrames,
    layout?: LayoutInput,
    trajectory?: Tensor,
  ): { velocity: Tensor; trajectory: Tensor } {
    if (!this.trajectory)
      throw new ShapeError("DiffusionTransformer: this model has no trajectory head");
    const { latentChannels: c, patch } = this.cfg;
    const { h, cvec, grid } = this.trunk(x, t, cond, known, layout, trajectory); // [B, N, D], [B, D]
    const velocity = unpatchify(this.final.forward(h, cvec), c, grid, patch); // [B, C, T, H, W]
    const traj = this.trajectory.forward(h, cvec); // [B, N, 3·P]
    return { velocity, trajectory: unpatchify(traj, TRAJECTORY_CHANNELS, grid, patch) }; // [B, 3, T, H, W]
  }

  /** The blocks' output tokens [B, N, D] and the adaLN conditioning [B, D], checked inputs. */
  private trunk(
    x: Tensor,
    t: Tensor,
    cond: DitConditioning,
    known?: KnownFrames,
    layout?: LayoutInput,
    trajectory?: Tensor,
  ): { h: Tensor; cvec: Tensor; grid: [number, number, number] } {
    const { latentChannels: c, patch } = this.cfg;
    if (x.rank !== 5 || x.shape[1] !== c)
      throw new ShapeError(
        `DiffusionTransformer: x must be [B, ${c}, T, H, W], got ${fmt(x.shape)}`,
      );
    const [b, , T, H, W] = x.shape;
    if (t.rank !== 1 || t.shape[0] !== b)
      throw new ShapeError(`DiffusionTransformer: t must be [${b}], got ${fmt(t.shape)}`);
    if (cond.tokens.shape[0] !== b || cond.pooled.shape[0] !== b)
      throw new ShapeError(
        `DiffusionTransformer: caption batch ${fmt(cond.tokens.shape)} does not match x ${fmt(x.shape)}`,
      );
    if (
      known &&
      (known.mask.shape.join() !== [b, 1, T, H, W].join() ||
        known.clean.shape.join() !== x.shape.join())
    )
      throw new ShapeError(
        `DiffusionTransformer: known mask ${fmt(known.mask.shape)} / clean ${fmt(known.clean.shape)} must be [${b}, 1, ${T}, ${H}, ${W}] / ${fmt(x.shape)}`,
      );
    if (layout && !this.cfg.startLayout)
      throw new ShapeError("DiffusionTransformer: this model takes no layout input");
    const nl = layoutChannelCount(this.cfg);
    if (layout && layout.shape.join() !== [b, nl, T, H, W].join())
      throw new ShapeError(
        `DiffusionTransformer: layout ${fmt(layout.shape)} must be [${b}, ${nl}, ${T}, ${H}, ${W}]`,
      );
    if (!this.cfg.trajectoryInput !== !trajectory)
      throw new ShapeError(
        this.cfg.trajectoryInput
          ? "DiffusionTransformer: this model denoises a trajectory beside the latent: give its noisy trajectory"
          : "DiffusionTransformer: this model takes no trajectory input",
      );
    if (trajectory && trajectory.shape.join() !== [b, TRAJECTORY_CHANNELS, T, H, W].join())
      throw new ShapeError(
        `DiffusionTransformer: trajectory ${fmt(trajectory.shape)} must be [${b}, ${TRAJECTORY_CHANNELS}, ${T}, ${H}, ${W}]`,
      );
    const [gt, gh, gw] = this.grid(T, H, W);
    const dt = x.dtype;

    // Inputs as channels.
    const mask = known ? cast(known.mask, dt) : fill(x, 0, [b, 1, T, H, W]); // [B, 1, T, H, W]
    const clean = known ? cast(known.clean, dt) : fill(x, 0, x.shape); // [B, C, T, H, W]
    const parts = [x, clean, mask];
    if (this.cfg.startLayout) parts.push(layout ? cast(layout, dt) : fill(x, 0, [b, nl, T, H, W])); // [B, nl, T, H, W] (layoutChannelCount)
    if (trajectory) parts.push(cast(trajectory, dt)); // [B, 3, T, H, W]
    const inp = concat(parts, 1); // [B, Ci, T, H, W], Ci = 2C + 1 (+ nl with a layout, + 3 with a trajectory)

    const patches = patchify(inp, patch); // [B, N, Ci·P], N = gt·gh·gw in row-major (t, h, w)
    let h = this.patchEmbed.forward(patches); // [B, N, D]
    if (this.framePos) {
      const feats = this.device.tensor(framePositionFeatures(gt, gh, gw), [
        1,
        gt * gh * gw,
        FRAME_POSITION_FEATURES,
      ]); // [1, N, F], a constant of a compiled step
      h = add(h, this.framePos.forward(cast(feats, dt))); // [B, N, D]
    }

    // Conditioning: timestep + pooled caption, through SiLU once for every adaLN.
    const temb = this.timeEmbed.forward(cast(t, dt)); // [B, D]
    const pooled = this.textEmbed.forward(cast(cond.pooled, dt)); // [B, D]
    const cvec = silu(add(temb, pooled)); // [B, D]
    const text = cast(cond.tokens, dt); // [B, L, Dt]

    for (const block of this.blocks) h = block.forward(h, cvec, text, [gt, gh, gw]); // [B, N, D]
    return { h, cvec, grid: [gt, gh, gw] };
  }
}

/**
 * Input channels per latent cell: the noisy latent, the known frames' clean latent and mask, the
 * layout channels where the config asks for them, then the noisy trajectory (trajectoryInput);
 * new inputs come last, so that a model grown to take them keeps its trained patch projection in
 * the leading rows.
 */
export function ditInputChannels(cfg: DitConfig): number {
  const trajectory = cfg.trajectoryInput ? TRAJECTORY_CHANNELS : 0;
  return 2 * cfg.latentChannels + 1 + layoutChannelCount(cfg) + trajectory;
}

/** Frequencies per axis of the frame-position features: sin and cos of π·k·u, k = 1..4. */
const FRAME_POSITION_FREQUENCIES = 4;
/** Features per token: sin and cos for each frequency, across and down. */
export const FRAME_POSITION_FEATURES = 4 * FRAME_POSITION_FREQUENCIES;

/**
 * Where each token of a (gt, gh, gw) grid sits in its frame, row-major (t, h, w) like the
 * tokens: u = (j + ½)/gw across, v = (i + ½)/gh down, each as sin(π·k·u), cos(π·k·u) for
 * k = 1..4. Fractions of the frame, not token indices, so "the left third" is the same
 * features at every size and aspect ratio; the same for every frame (time has its rotary
 * positions).
 */
export function framePositionFeatures(gt: number, gh: number, gw: number): Float32Array {
  const out = new Float32Array(gt * gh * gw * FRAME_POSITION_FEATURES);
  let o = 0;
  for (let t = 0; t < gt; t++)
    for (let i = 0; i < gh; i++)
      for (let j = 0; j < gw; j++)
        for (const u of [(j + 0.5) / gw, (i + 0.5) / gh])
          for (let k = 1; k <= FRAME_POSITION_FREQUENCIES; k++) {
            out[o++] = Math.sin(Math.PI * k * u);
            out[o++] = Math.cos(Math.PI * k * u);
          }
  return out;
}

/**
 * [B, C, T, H, W] → [B, N, C·pt·ph·pw]: one token per patch, tokens in row-major (t, h, w)
 * order, each token's features in (c, dt, dy, dx) order.
 */
export function patchify(x: Tensor, [pt, ph, pw]: [number, number, number]): Tensor {
  const [b, c, T, H, W] = x.shape;
  const [gt, gh, gw] = [T / pt, H / ph, W / pw];
  const rows = reshape(x, [b, c, gt, pt, gh, ph * gw * pw]); // [B, C, gt, pt, gh, ph·gw·pw]
  const moved = permute(rows, [0, 2, 4, 1, 3, 5]); // [B, gt, gh, C, pt, ph·gw·pw]
  // ph·gw·pw still holds gw inside the patch: split it off and bring it forward.
  const sep = reshape(moved, [b * gt * gh, c * pt, ph, gw, pw]); // [B·gt·gh, C·pt, ph, gw, pw]
  const tok = permute(sep, [0, 3, 1, 2, 4]); // [B·gt·gh, gw, C·pt, ph, pw]
  return reshape(tok, [b, gt * gh * gw, c * pt * ph * pw]); // [B, N, C·P]
}

/** The inverse of `patchify`: [B, N, C·pt·ph·pw] on grid (gt, gh, gw) → [B, C, T, H, W]. */
export function unpatchify(
  tokens: Tensor,
  c: number,
  [gt, gh, gw]: [number, number, number],
  [pt, ph, pw]: [number, number, number],
): Tensor {
  const b = tokens.shape[0];
  const tok = reshape(tokens, [b * gt * gh, gw, c * pt, ph, pw]); // [B·gt·gh, gw, C·pt, ph, pw]
  const sep = permute(tok, [0, 2, 3, 1, 4]); // [B·gt·gh, C·pt, ph, gw, pw]
  const moved = reshape(sep, [b, gt, gh, c, pt, ph * gw * pw]); // [B, gt, gh, C, pt, ph·gw·pw]
  const rows = permute(moved, [0, 3, 1, 4, 2, 5]); // [B, C, gt, pt, gh, ph·gw·pw]
  return reshape(rows, [b, c, gt * pt, gh * ph, gw * pw]); // [B, C, T, H, W]
}
