/**
 * `generate` and `image`: the trained text-to-video model, as `zoetrope generate` (prompt → MP4)
 * and `zoetrope image` (prompt → PNG) run it, through the library (src/index.ts), which loads
 * each model folder once per process. Progress is one report per denoising step, with a preview
 * of the current prediction (a latent-to-RGB map's picture) every few steps; the last one comes
 * with a thumbnail of the result once it is written.
 *
 * What sizes a model can make (multiples of 16 per side and 1 + 4·k frames for world-s) is a
 * property of the model, known only once it is loaded: the schema holds the cheap limits, and a
 * size the model cannot make fails the job with the model's own message (checkRequest).
 */
import { z } from "zod";
import { writeFileSafely } from "../../media/safe-output.ts";
import { writeMp4 } from "../../media/write-mp4.ts";
import type { JobKind, RunContext } from "../kinds.ts";
import { encodePng } from "../png.ts";
import {
  frameBytesIssue,
  MAX_JOB_FPS,
  MAX_JOB_SECONDS,
  MAX_JOB_SIDE,
  MIN_JOB_SIDE,
  promptField,
  promptIssue,
  samplerFields,
} from "./checks.ts";
import { dropIfAborted, finish, reportStep, stopIfAborted } from "./run-helpers.ts";

/** Settings both kinds share, with the CLI's defaults. */
const common = {
  prompt: promptField,
  width: z.int().min(MIN_JOB_SIDE).max(MAX_JOB_SIDE).default(64),
  height: z.int().min(MIN_JOB_SIDE).max(MAX_JOB_SIDE).default(64),
  ...samplerFields,
};

const videoSettings = z
  .object({
    ...common,
    fps: z.number().min(1).max(MAX_JOB_FPS).default(8),
    seconds: z.number().gt(0).max(MAX_JOB_SECONDS).default(2),
    // The first frame sampled alone as an image, then the clip from it (`--image-first`).
    imageFirst: z.boolean().default(false),
  })
  .strict()
  .superRefine((s, ctx) => {
    promptIssue(s.prompt, ctx);
    // The model rounds the frame count to one it makes (1 + 4·k for world-s): at most a few
    // frames more than this estimate, which the limit does not need to be exact about.
    frameBytesIssue(s, ctx);
  });

const imageSettings = z
  .object(common)
  .strict()
  .superRefine((s, ctx) => promptIssue(s.prompt, ctx));

export type GenerateSettings = z.infer<typeof videoSettings>;
export type ImageSettings = z.infer<typeof imageSettings>;

export interface ModelKindOptions {
  /** The model folder; the bundled model (DEFAULT_MODEL_DIR) when absent. */
  model?: string;
}

/**
 * Loads the model (cached per folder; a missing folder throws checkModelDir's message), samples
 * with a progress report per denoising step (reportStep; the last held back for `finish`), and
 * throws at the next step once `signal` is aborted.
 */
async function sample(
  ctx: RunContext<ImageSettings>,
  modelDir: string | undefined,
  timing: { frames: (temporalDown: number) => number; fps: number; imageFirst?: boolean },
) {
  const { settings: s, signal } = ctx;
  // Loaded on use, so that starting a server does not wait for the model code.
  const lib = await import("../../index.ts");
  stopIfAborted(signal);
  const model = await lib.loadModel(modelDir);
  stopIfAborted(signal);
  const frames = timing.frames(model.ae.cfg.temporalDown);
  // Key order as generate-action.ts writes it, so that the tags read the same from either.
  const settings = {
    width: s.width,
    height: s.height,
    frames,
    fps: timing.fps,
    steps: s.steps,
    guidance: s.guidance,
    seed: s.seed,
    method: s.method,
    // Tagged only when asked, as the CLI tags it.
    ...(timing.imageFirst ? { imageFirst: true } : {}),
  };
  const out = await lib.generate(s.prompt, {
    model,
    ...settings,
    onStep: (step, steps, preview) => {
      // Throwing here is what stops the sampler between two steps.
      stopIfAborted(signal);
      return reportStep(ctx, { step, steps, done: step, total: steps }, preview);
    },
  });
  stopIfAborted(signal);
  return { model, settings, out };
}

export function generateKind(options: ModelKindOptions = {}): JobKind<GenerateSettings> {
  return {
    name: "generate",
    description:
      "A video from a prompt with the trained text-to-video model (what `zoetrope generate` makes), as H.264 MP4 tagged with the prompt, caption, seed, settings and model.",
    settings: videoSettings,
    output: { extension: "mp4", contentType: "video/mp4" },
    async run(ctx) {
      const s = ctx.settings;
      const { frameCount, generationMetadata } = await import("../../models/generate.ts");
      const { model, settings, out } = await sample(ctx, options.model, {
        frames: (temporalDown) => frameCount(s.seconds, s.fps, temporalDown),
        fps: s.fps,
        imageFirst: s.imageFirst,
      });
      const { video } = out;
      // writeMp4 puts the file in place only once complete.
      await writeMp4(video, ctx.outputPath, {
        // What made the clip, so that it can be made again: read back with readMp4Metadata.
        metadata: generationMetadata({
          prompt: s.prompt,
          caption: out.caption,
          seed: s.seed,
          settings,
          model,
        }),
      });
      await dropIfAborted(ctx);
      // Image first runs the steps twice: the image's, then the clip's.
      finish(ctx, s.imageFirst ? 2 * s.steps : s.steps, video);
      return {
        prompt: s.prompt,
        caption: out.caption,
        ...settings,
        model: model.name,
        modelSha256: model.hash,
        unknownWords: out.unknownWords,
      };
    },
  };
}

export function imageKind(options: ModelKindOptions = {}): JobKind<ImageSettings> {
  return {
    name: "image",
    description:
      "A picture (a one-frame video) from a prompt with the trained text-to-video model (what `zoetrope image` makes), as PNG.",
    settings: imageSettings,
    output: { extension: "png", contentType: "image/png" },
    async run(ctx) {
      const s = ctx.settings;
      const { model, settings, out } = await sample(ctx, options.model, {
        frames: () => 1,
        fps: 1,
      });
      const { video } = out;
      await writeFileSafely(ctx.outputPath, encodePng(video.frames[0], video.width, video.height));
      await dropIfAborted(ctx);
      finish(ctx, s.steps, video);
      return {
        prompt: s.prompt,
        caption: out.caption,
        width: video.width,
        height: video.height,
        steps: settings.steps,
        guidance: settings.guidance,
        seed: settings.seed,
        method: settings.method,
        model: model.name,
        modelSha256: model.hash,
        unknownWords: out.unknownWords,
      };
    },
  };
}
