/**
 * The video autoencoder: [B, 3, T, H, W] pixels in [-1, 1] ↔ a latent [B, Cz, 1 + (T−1)/r, H/8, W/8].
 *
 * Causal in time. The clip is padded in front with r − 1 blank frames and folded r frames at a
 * time into channels (pixel-unshuffle in time), so the first latent frame holds the first video
 * frame alone and each later latent frame the next r frames; every convolution after that is
 * causal in time and the norms are per position. So latent frame k depends on frames ≤ its own,
 * an image is a one-frame video (one latent frame), and a clip's first frame encodes exactly as
 * that frame would on its own.
 *
 * Downsampling: a 2×2 pixel-unshuffle in space (with the time fold) into the stem, then two more
 * pixel-unshuffles each followed by a 1×1×1 conv (8× in space in all). The decoder mirrors it
 * with nearest upsampling + causal conv (computed on the small grid, layers.ts), and a final
 * pixel-shuffle back to frames.
 *
 * Deterministic autoencoder with latent-noise augmentation, not a VAE. The latent is normalised
 * to unit RMS per position (a parameter-free channel RMS norm), which fixes its scale without a
 * KL term, so the encoder cannot shrink the added noise by inflating the latent; training adds
 * N(0, noiseAug²) to it so that the decoder is smooth around the latents the diffusion model
 * will approximately produce. A KL-regularised VAE does the same job but its weight needs
 * tuning against blur, and its sampled posterior makes encoding random; here encoding is a pure
 * function of the clip. `latentScale` (measured on data after training) maps the latent to unit
 * variance for the diffusion model.
 */
import { compile } from "../compile/compile.ts";
import { Module } from "../nn/module.ts";
import type { Device } from "../tensor/device.ts";
import { noGrad, tidy } from "../tensor/engine.ts";
import { ShapeError } from "../tensor/errors.ts";
import { add, scale, silu, sub } from "../tensor/ops/elementwise.ts";
import { l1Loss, mseLoss } from "../tensor/ops/loss.ts";
import { pad, sliceAxis } from "../tensor/ops/shape.ts";
import { fmt } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import type { AutoencoderConfig } from "./config.ts";
import {
  CausalConv3d,
  ChannelRMSNorm,
  channelRms,
  fromDepth,
  ResBlock,
  toDepth,
} from "./layers.ts";

/** Residual blocks at each of the decoder's resolutions. */
export function decoderBlocks(cfg: AutoencoderConfig): number {
  return cfg.decoderBlocks ?? cfg.blocks;
}

/** Spatial downsampling factor of every autoencoder here. */
export const SPATIAL_DOWN = 8;

/** Latent [t, h, w] of a clip of `frames` frames at width × height; errors say what fits. */
export function latentSize(
  cfg: AutoencoderConfig,
  frames: number,
  height: number,
  width: number,
): [number, number, number] {
  const r = cfg.temporalDown;
  const bad: string[] = [];
  if (!Number.isInteger(frames) || frames < 1 || (frames - 1) % r !== 0)
    bad.push(`${frames} frames (need 1 + ${r}·k: 1, ${1 + r}, ${1 + 2 * r}, ...)`);
  for (const [what, n] of [
    ["height", height],
    ["width", width],
  ] as const)
    if (!Number.isInteger(n) || n < SPATIAL_DOWN || n % SPATIAL_DOWN !== 0)
      bad.push(`${what} ${n} (need a multiple of ${SPATIAL_DOWN})`);
  if (bad.length) throw new ShapeError(`autoencoder: cannot encode ${bad.join(", ")}`);
  return [1 + (frames - 1) / r, height / SPATIAL_DOWN, width / SPATIAL_DOWN];
}

export class Encoder extends Module {
  readonly stem: CausalConv3d;
  readonly blocks: ResBlock[][] = [];
  readonly downs: CausalConv3d[] = [];
  readonly normOut: ChannelRMSNorm;
  readonly head: CausalConv3d;

  constructor(
    device: Device,
    rng: Rng,
    readonly cfg: AutoencoderConfig,
  ) {
    super(device);
    const [c0, c1, c2] = cfg.channels;
    const r = cfg.temporalDown;
    this.stem = this.child("stem", new CausalConv3d(device, rng, 3 * 4 * r, c0));
    cfg.channels.forEach((c, i) => {
      this.blocks.push(
        Array.from({ length: cfg.blocks }, (_, j) =>
          this.child(`block${i}_${j}`, new ResBlock(device, rng, c)),
        ),
      );
    });
    this.downs.push(this.child("down0", new CausalConv3d(device, rng, 4 * c0, c1, [1, 1, 1])));
    this.downs.push(this.child("down1", new CausalConv3d(device, rng, 4 * c1, c2, [1, 1, 1])));
    this.normOut = this.child("norm_out", new ChannelRMSNorm(device, c2));
    this.head = this.child("head", new CausalConv3d(device, rng, c2, cfg.latentChannels));
  }

  /** x [B, 3, T, H, W] in [-1, 1] → unit-RMS latent [B, Cz, t, H/8, W/8] (unscaled). */
  forward(x: Tensor): Tensor {
    if (x.rank !== 5 || x.shape[1] !== 3)
      throw new ShapeError(`Encoder: x must be [B, 3, T, H, W], got ${fmt(x.shape)}`);
    latentSize(this.cfg, x.shape[2], x.shape[3], x.shape[4]);
    const r = this.cfg.temporalDown;
    const padded = pad(x, [0, 0, r - 1, 0, 0], [0, 0, 0, 0, 0]); // [B, 3, r·t, H, W]
    let h = toDepth(padded, [r, 2, 2]); // [B, 12r, t, H/2, W/2]
    h = this.stem.forward(h); // [B, c0, t, H/2, W/2]
    for (let i = 0; i < 3; i++) {
      for (const block of this.blocks[i]) h = block.forward(h); // [B, ci, t, ·, ·]
      if (i < 2) h = this.downs[i].forward(toDepth(h, [1, 2, 2])); // [B, c(i+1), t, ·/2, ·/2]
    }
    const z = this.head.forward(silu(this.normOut.forward(h))); // [B, Cz, t, H/8, W/8]
    return channelRms(z); // [B, Cz, t, H/8, W/8], unit RMS over channels
  }
}

export class Decoder extends Module {
  readonly stem: CausalConv3d;
  readonly blocks: ResBlock[][] = [];
  readonly ups: CausalConv3d[] = [];
  readonly normOut: ChannelRMSNorm;
  readonly head: CausalConv3d;

  constructor(
    device: Device,
    rng: Rng,
    readonly cfg: AutoencoderConfig,
  ) {
    super(device);
    const [c0, c1, c2] = cfg.channels;
    const r = cfg.temporalDown;
    this.stem = this.child("stem", new CausalConv3d(device, rng, cfg.latentChannels, c2));
    [c2, c1, c0].forEach((c, i) => {
      this.blocks.push(
        Array.from({ length: decoderBlocks(cfg) }, (_, j) =>
          this.child(`block${i}_${j}`, new ResBlock(device, rng, c)),
        ),
      );
    });
    this.ups.push(this.child("up0", new CausalConv3d(device, rng, c2, c1)));
    this.ups.push(this.child("up1", new CausalConv3d(device, rng, c1, c0)));
    this.normOut = this.child("norm_out", new ChannelRMSNorm(device, c0));
    this.head = this.child("head", new CausalConv3d(device, rng, c0, 3 * 4 * r));
  }

  /** unit-RMS latent [B, Cz, t, h, w] → pixels [B, 3, 1 + r(t−1), 8h, 8w]. */
  forward(z: Tensor): Tensor {
    if (z.rank !== 5 || z.shape[1] !== this.cfg.latentChannels)
      throw new ShapeError(
        `Decoder: z must be [B, ${this.cfg.latentChannels}, t, h, w], got ${fmt(z.shape)}`,
      );
    const r = this.cfg.temporalDown;
    let h = this.stem.forward(z); // [B, c2, t, h, w]
    for (let i = 0; i < 3; i++) {
      for (const block of this.blocks[i]) h = block.forward(h); // [B, c, t, ·, ·]
      // Nearest 2× upsampling then a conv, computed on the small grid (see forwardUpsampled).
      if (i < 2) h = this.ups[i].forwardUpsampled(h); // [B, c', t, 2·, 2·]
    }
    const out = this.head.forward(silu(this.normOut.forward(h))); // [B, 12r, t, 4h, 4w]
    const frames = fromDepth(out, [r, 2, 2]); // [B, 3, r·t, 8h, 8w]
    return sliceAxis(frames, 2, r - 1); // [B, 3, 1 + r(t−1), 8h, 8w], the front padding dropped
  }
}

export interface AutoencoderLoss {
  loss: Tensor;
  /** [B, 3, T, H, W] */
  recon: Tensor;
}

export class VideoAutoencoder extends Module {
  readonly encoder: Encoder;
  readonly decoder: Decoder;

  constructor(
    device: Device,
    rng: Rng,
    readonly cfg: AutoencoderConfig,
  ) {
    super(device);
    this.encoder = this.child("encoder", new Encoder(device, rng, cfg));
    this.decoder = this.child("decoder", new Decoder(device, rng, cfg));
  }

  /** pixels [B, 3, T, H, W] → diffusion latent [B, Cz, t, h, w], unit variance on data. */
  encode(x: Tensor): Tensor {
    return scale(this.encoder.forward(x), this.cfg.latentScale);
  }

  /** diffusion latent [B, Cz, t, h, w] → pixels [B, 3, T, H, W] (not clamped). */
  decode(latent: Tensor): Tensor {
    return this.decoder.forward(scale(latent, 1 / this.cfg.latentScale));
  }

  /**
   * `encode` for inference, as a new tensor: one compiled ONNX Runtime program per shape on the
   * onnx device, eager elsewhere.
   */
  async encodeFrames(x: Tensor): Promise<Tensor> {
    if (this.device.kind === "onnx") return this.compiledEncode({ x });
    return noGrad(() => tidy(() => this.encode(x)));
  }

  /** `decode` for inference, compiled on the onnx device as `encodeFrames` is. */
  async decodeLatent(latent: Tensor): Promise<Tensor> {
    if (this.device.kind === "onnx") return this.compiledDecode({ z: latent });
    return noGrad(() => tidy(() => this.decode(latent)));
  }

  private readonly compiledEncode = compile((a: { x: Tensor }) => noGrad(() => this.encode(a.x)));
  private readonly compiledDecode = compile((a: { z: Tensor }) => noGrad(() => this.decode(a.z)));

  /**
   * Training loss on x [B, 3, T, H, W]: L1 + mseWeight · squared error (both weighted per pixel
   * by `weight` [B, 1, T, H, W] when given, e.g. heavier on objects; see objectWeights) +
   * edgeWeight · L1 of the horizontal and vertical image gradients (sharp edges are what an
   * L1/L2-only autoencoder blurs first). `noise` is N(0, 1) shaped like the latent, drawn on the
   * host; it is scaled by `noiseAug` here.
   */
  loss(x: Tensor, noise?: Tensor, weight?: Tensor): AutoencoderLoss {
    return this.reconstructionLoss(this.encoder.forward(x), x, noise, weight); // z [B, Cz, t, h, w]
  }

  /**
   * `loss` from the encoder's raw latent z [B, Cz, t, h, w] (before latentScale): what training
   * the decoder alone on a frozen encoder's latents minimises, so that a text-to-video model
   * trained on those latents stays valid.
   */
  reconstructionLoss(z: Tensor, x: Tensor, noise?: Tensor, weight?: Tensor): AutoencoderLoss {
    const zn = noise && this.cfg.noiseAug > 0 ? add(z, scale(noise, this.cfg.noiseAug)) : z;
    const recon = this.decoder.forward(zn); // [B, 3, T, H, W]
    let rec = l1Loss(recon, x, weight);
    const mse = this.cfg.mseWeight ?? 0;
    if (mse > 0) rec = add(rec, scale(mseLoss(recon, x, weight), mse));
    const edges = add(l1Loss(diff(recon, 3), diff(x, 3)), l1Loss(diff(recon, 4), diff(x, 4)));
    return { loss: add(rec, scale(edges, this.cfg.edgeWeight)), recon };
  }
}

/** Forward difference along `axis`: x[i+1] − x[i]. */
function diff(x: Tensor, axis: number): Tensor {
  return sub(sliceAxis(x, axis, 1), sliceAxis(x, axis, 0, x.shape[axis] - 1));
}

/**
 * The factor that gives the encoder's latents unit variance over `clips` [B, 3, T, H, W]
 * (1 / standard deviation of every latent value). Store it as `latentScale` in the config after
 * training; it is measured, not learned, so it reads the latents back to the host.
 */
export async function measureLatentScale(ae: VideoAutoencoder, clips: Tensor): Promise<number> {
  // Compiled on the onnx device. encodeFrames applies the current scale (baked into a compiled
  // program when it was first traced: change latentScale only on a fresh model), divided out here.
  const z = await ae.encodeFrames(clips);
  const v = await z.toArray();
  z.dispose();
  const current = ae.cfg.latentScale;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < v.length; i++) {
    sum += v[i];
    sq += v[i] * v[i];
  }
  const mean = sum / v.length;
  const std = Math.sqrt(Math.max(sq / v.length - mean * mean, 0));
  if (!(std > 1e-8))
    throw new Error(`measureLatentScale: the latents have no variance (std ${std})`);
  return current / std;
}
