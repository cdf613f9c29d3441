/**
 * Prompt → video frames with a trained autoencoder and text-to-video model: the prompt goes
 * through the world's prompt expansion, the detailed caption is what the model sees, a latent
 * is sampled for the requested size and duration and decoded to 8-bit frames. The CLI's
 * `zoetrope generate` and the library's `generate` sit on this.
 */
import { createRequire } from "node:module";
import type { Video } from "../media/video.ts";
import { keep, noGrad, tidy } from "../tensor/engine.ts";
import { fill } from "../tensor/ops/elementwise.ts";
import { concat } from "../tensor/ops/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { expandPrompt } from "../world/expand.ts";
import type { SceneSpec } from "../world/scene.ts";
import { type StartLayout, startLayout } from "../world/start-layout.ts";
import { SPATIAL_DOWN, type VideoAutoencoder } from "./autoencoder.ts";
import type { KnownFrames } from "./dit.ts";
import { type StepCallback, withPreviews } from "./latent-preview.ts";
import { layoutChannelCount, layoutChannels } from "./layout-input.ts";
import type { TextToVideo } from "./text-to-video.ts";
import { arrayToVideos } from "./video-tensor.ts";

export interface GenerateOptions {
  prompt: string;
  width: number;
  height: number;
  /** Frames to make: 1 + temporalDown·k (1 is an image). */
  frames: number;
  fps: number;
  steps: number;
  guidance: number;
  seed: number;
  method?: "euler" | "heun";
  /** Stochastic sampling steps' η (`SampleOptions.eta`); 0, plain Euler steps, by default. */
  eta?: number;
  /** Where the stochastic steps stop (`SampleOptions.etaUntil`); 0 by default. */
  etaUntil?: number;
  /**
   * Sample the first frame alone as an image, then the clip with that frame given (the trained
   * known-first-frame task, as `animate` does with a picture): the layout is settled on the
   * image's 16 tokens before any motion is drawn. Off by default.
   */
  imageFirst?: boolean;
  /**
   * How strongly the planned first-frame layout steers the sample, inside the caption's guidance
   * (`TextToVideo.sampleLatents`): 1 (the default) is plain guidance; above 1 the layout is
   * weighed more, at the cost of a third batch per step.
   */
  layoutGuidance?: number;
  /**
   * Guide only the steps starting at a time in [lo, hi] (`TextToVideo.sampleLatents`); every
   * step by default.
   */
  guidanceInterval?: readonly [number, number];
  /** The sampling time grid's shift (`SampleOptions.shift`); by default the trained one. */
  shift?: number;
  /** Called after each denoising step; `preview()` pictures the current prediction. */
  onStep?: StepCallback;
}

export interface Generated {
  video: Video;
  /** The expanded, detailed caption the model was given. */
  caption: string;
  /** Prompt words the world's parser did not understand. */
  unknownWords: string[];
}

/** What sizes and frame counts a model pair can make, for error messages. */
export function describeSizes(ae: VideoAutoencoder, t2v: TextToVideo): string {
  const r = ae.cfg.temporalDown;
  const [pt, ph, pw] = t2v.cfg.dit.patch;
  const frames =
    pt === 1
      ? `1 + ${r}·k frames (1, ${1 + r}, ${1 + 2 * r}, ...)`
      : `1 + ${r}·k frames with 1 + k a multiple of ${pt}`;
  return `widths that are multiples of ${SPATIAL_DOWN * pw}, heights that are multiples of ${SPATIAL_DOWN * ph}, ${frames}`;
}

/** Checks a request against what the models can make; the error lists what they can. */
export function checkRequest(
  ae: VideoAutoencoder,
  t2v: TextToVideo,
  o: GenerateOptions,
): [number, number, number] {
  const r = ae.cfg.temporalDown;
  const [pt, ph, pw] = t2v.cfg.dit.patch;
  const bad: string[] = [];
  if (!Number.isInteger(o.width) || o.width < 1 || o.width % (SPATIAL_DOWN * pw) !== 0)
    bad.push(`width ${o.width}`);
  if (!Number.isInteger(o.height) || o.height < 1 || o.height % (SPATIAL_DOWN * ph) !== 0)
    bad.push(`height ${o.height}`);
  const t = (o.frames - 1) / r + 1;
  if (!Number.isInteger(o.frames) || o.frames < 1 || !Number.isInteger(t) || t % pt !== 0)
    bad.push(`${o.frames} frames`);
  if (bad.length)
    throw new Error(
      `generate: this model cannot make ${bad.join(", ")}; it makes ${describeSizes(ae, t2v)}`,
    );
  if (ae.cfg.latentChannels !== t2v.cfg.dit.latentChannels)
    throw new Error(
      `generate: the autoencoder has ${ae.cfg.latentChannels} latent channels but the diffusion model ${t2v.cfg.dit.latentChannels}`,
    );
  return [t, o.height / SPATIAL_DOWN, o.width / SPATIAL_DOWN];
}

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

/**
 * The MP4 tags that say what made a generated clip, so that it can be made again (read back with
 * readMp4Metadata). ffmpeg writes its own "encoder" tag, so ours is zoetrope_version.
 */
export function generationMetadata(o: {
  prompt: string;
  caption: string;
  seed: number;
  settings: Record<string, unknown>;
  model: { name: string; hash: string };
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    prompt: o.prompt,
    caption: o.caption,
    seed: String(o.seed),
    settings: JSON.stringify(o.settings),
    model: o.model.name,
    model_sha256: o.model.hash,
    zoetrope_version: version,
    ...o.extra,
  };
}

/** Frames for `seconds` at `fps`, rounded to the nearest count of the form 1 + r·k. */
export function frameCount(seconds: number, fps: number, temporalDown: number): number {
  const wanted = Math.max(1, Math.round(seconds * fps));
  return 1 + Math.max(0, Math.round((wanted - 1) / temporalDown)) * temporalDown;
}

/** Latent frame 0 of a t-frame latent given as `image` [1, C, 1, h, w]: mask and clean latents. */
function firstFrameKnown(image: Tensor, t: number): KnownFrames {
  const [, c, , h, w] = image.shape;
  return noGrad(() =>
    tidy(() => {
      const rest = fill(image, 0, [1, c, t - 1, h, w]);
      const clean = keep(concat([image, rest], 2)); // [1, C, t, h, w]
      const one = fill(image, 1, [1, 1, 1, h, w]);
      const mask = keep(concat([one, fill(image, 0, [1, 1, t - 1, h, w])], 2)); // [1, 1, t, h, w]
      return { mask, clean };
    }),
  );
}

/** The sampler settings of one clip's latent (TextToVideo.sampleLatents' options, no known frames). */
export type ClipSampling = Omit<Parameters<TextToVideo["sampleLatents"]>[2], "known" | "layout"> & {
  imageFirst?: boolean;
  /** The first frame's planned layout (used by a model with startLayout, ignored otherwise). */
  layout?: StartLayout | null;
};

/**
 * The first frame of an expanded prompt's scene as a model's layout input at width × height
 * pixels, or null for a model that takes none (trained before session 14).
 */
export function plannedLayout(
  t2v: TextToVideo,
  scene: SceneSpec | null | undefined,
  width: number,
  height: number,
): StartLayout | null {
  return scene && t2v.cfg.dit.startLayout ? startLayout(scene, width, height, SPATIAL_DOWN) : null;
}

/** A planned layout as the [1, n, t, h, w] input of a model that takes one (else undefined). */
function layoutTensor(
  t2v: TextToVideo,
  layout: StartLayout | null | undefined,
  [t, h, w]: [number, number, number],
): Tensor | undefined {
  if (!layout || !t2v.cfg.dit.startLayout) return undefined;
  const n = layoutChannelCount(t2v.cfg.dit);
  return t2v.device.tensor(layoutChannels([layout], t, h, w, t2v.cfg.dit), [1, n, t, h, w]);
}

/**
 * Samples the latent [1, C, t, h, w] of a clip with nothing given; with `imageFirst` (and t > 1),
 * latent frame 0 alone first, as an image, then the clip with it known.
 */
export async function sampleClipLatent(
  t2v: TextToVideo,
  caption: string,
  [c, t, h, w]: [number, number, number, number],
  { imageFirst, layout: plan, ...settings }: ClipSampling,
): Promise<Tensor> {
  if (!imageFirst || t === 1) {
    const layout = layoutTensor(t2v, plan, [t, h, w]);
    try {
      return await t2v.sampleLatents([caption], [c, t, h, w], { ...settings, layout });
    } finally {
      layout?.dispose();
    }
  }
  // Progress runs over both stages: the image's steps, then the clip's.
  const { onStep } = settings;
  const stage = (before: number): typeof onStep =>
    onStep && ((step, steps, time, denoised) => onStep(before + step, 2 * steps, time, denoised));
  const imageLayout = layoutTensor(t2v, plan, [1, h, w]);
  const image = await t2v
    .sampleLatents([caption], [c, 1, h, w], {
      ...settings,
      onStep: stage(0),
      layout: imageLayout,
    })
    .finally(() => imageLayout?.dispose()); // [1, C, 1, h, w]
  const known = firstFrameKnown(image, t);
  image.dispose();
  const layout = layoutTensor(t2v, plan, [t, h, w]);
  try {
    return await t2v.sampleLatents([caption], [c, t, h, w], {
      ...settings,
      onStep: stage(settings.steps),
      known,
      layout,
    });
  } finally {
    known.mask.dispose();
    known.clean.dispose();
    layout?.dispose();
  }
}

/** Generates one clip (deterministic in the seed and settings). */
export async function generate(
  ae: VideoAutoencoder,
  t2v: TextToVideo,
  o: GenerateOptions,
): Promise<Generated> {
  const [t, h, w] = checkRequest(ae, t2v, o);
  const { caption, unknownWords, scene } = expandPrompt(o.prompt, o.seed);
  const latent = await sampleClipLatent(t2v, caption, [ae.cfg.latentChannels, t, h, w], {
    steps: o.steps,
    guidance: o.guidance,
    seed: o.seed,
    method: o.method,
    eta: o.eta,
    etaUntil: o.etaUntil,
    onStep: withPreviews(ae, o.onStep),
    imageFirst: o.imageFirst,
    layoutGuidance: o.layoutGuidance,
    guidanceInterval: o.guidanceInterval,
    shift: o.shift,
    // The expansion's scene as planned for the first frame at this size.
    layout: plannedLayout(t2v, scene, o.width, o.height),
  });
  const pixels = await ae.decodeLatent(latent); // [1, 3, frames, H, W]
  latent.dispose();
  const values = await pixels.toArray();
  const [video] = arrayToVideos(values, pixels.shape, o.fps);
  pixels.dispose();
  return { video, caption, unknownWords };
}
