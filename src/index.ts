/**
 * The library: what `import { generate } from "zoetrope"` gives a Node.js program. The same
 * model, defaults and determinism as `zoetrope generate`: a prompt goes through the world's
 * prompt expansion, the bundled model (or a model folder) samples a latent on the compiled CPU
 * path and decodes it to 8-bit RGB frames, which writeMp4 turns into a file.
 *
 *   import { generate, writeMp4 } from "zoetrope";
 *   const { video, caption } = await generate("a red ball bounces on the grass", { seed: 1 });
 *   await writeMp4(video, "clip.mp4");
 */
import {
  DEFAULT_MODEL_DIR,
  type LoadedModel,
  loadModel as loadModelFolder,
} from "./cli/model-files.ts";
import { LIMITS } from "./cli/parse-args.ts";
import { createDevice, type Device } from "./devices.ts";
import type { Video } from "./media/video.ts";
import { frameCount, type Generated } from "./models/generate.ts";
import type { StepCallback } from "./models/latent-preview.ts";
import * as modes from "./models/modes.ts";
import { DEFAULT_GUIDANCE, DEFAULT_STEPS } from "./models/sampling-defaults.ts";

export type { LoadedModel } from "./cli/model-files.ts";
export { readMp4Metadata } from "./media/mp4-metadata.ts";
export { readVideo } from "./media/read-video.ts";
export type { Video } from "./media/video.ts";
export { writeMp4 } from "./media/write-mp4.ts";
export type { Generated } from "./models/generate.ts";
export type { PreviewImage, StepCallback } from "./models/latent-preview.ts";
export type { ModeResult } from "./models/modes.ts";
export { evaluateVideo } from "./world/eval/evaluate.ts";
export { expandPrompt } from "./world/expand.ts";
export { sampleScene } from "./world/sample.ts";
export { simulate } from "./world/simulate.ts";
export { DEFAULT_MODEL_DIR };

export interface LibraryGenerateOptions {
  /** A model folder, or a model already loaded with loadModel; the bundled model by default. */
  model?: string | LoadedModel;
  /** Frame size in pixels (multiples of the model's patch, 16 for world-s); 64 by default. */
  width?: number;
  height?: number;
  /** Clip length; rounded to a frame count the model makes (1 + 4·k for world-s). Default 2. */
  seconds?: number;
  /** Exact frame count instead of seconds (1 makes an image). */
  frames?: number;
  /** Frames per second; 8 by default. */
  fps?: number;
  /** Denoising steps; 30 by default. */
  steps?: number;
  /** Classifier-free guidance scale; DEFAULT_GUIDANCE (2) by default. */
  guidance?: number;
  /** Same seed and settings, same video; 0 by default. */
  seed?: number;
  method?: "euler" | "heun";
  /**
   * Stochastic sampling (DDIM's η on the flow's path, `SampleOptions.eta`): each step puts back
   * this share of fresh noise; 0, plain Euler steps, by default.
   */
  eta?: number;
  /** With `eta`: below this time the steps are plain Euler again; 0 by default. */
  etaUntil?: number;
  /** Settle the first frame as an image, then draw the motion from it (see GenerateOptions). */
  imageFirst?: boolean;
  /** Layout guidance (see GenerateOptions); 1, plain guidance, by default. */
  layoutGuidance?: number;
  /** Guide only the steps starting at a time in [lo, hi] (see GenerateOptions); all by default. */
  guidanceInterval?: readonly [number, number];
  /** The sampling time grid's shift; by default the one the model trained at (see GenerateOptions). */
  shift?: number;
  /**
   * Called after each denoising step. `preview()` gives a small picture of the model's current
   * prediction (the middle latent frame, one pixel per 8×8 block, through a linear latent-to-RGB
   * map fitted once per model); call it before the callback returns, or before a promise it
   * returns settles (sampling waits for that promise).
   */
  onStep?: StepCallback;
}

let device: Device | null = null;
const models = new Map<string, Promise<LoadedModel>>();

async function onnxDevice(): Promise<Device> {
  device ??= await createDevice({ kind: "onnx" });
  return device;
}

/** Loads (once per folder) the model in `dir`, the bundled one by default. */
export function loadModel(dir: string = DEFAULT_MODEL_DIR): Promise<LoadedModel> {
  let model = models.get(dir);
  if (!model) {
    model = onnxDevice().then((d) => loadModelFolder(d, dir));
    // A failed load is not cached: fixing the folder and calling again works.
    model.catch(() => models.delete(dir));
    models.set(dir, model);
  }
  return model;
}

/** Throws naming the option when a number is out of its range (what the CLI's options allow). */
function checkOptions(
  fn: string,
  o: {
    seed?: number;
    steps?: number;
    frames?: number;
    fps?: number;
    seconds?: number;
    guidance?: number;
    eta?: number;
    etaUntil?: number;
  },
): void {
  const fail = (what: string, value: unknown, range: string): never => {
    throw new Error(`${fn}: ${what} must be ${range}, got ${String(value)}`);
  };
  const intIn = (what: string, v: number | undefined, lo: number, hi: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi))
      fail(what, v, `an integer from ${lo} to ${hi}`);
  };
  intIn("seed", o.seed, LIMITS.seed[0], LIMITS.seed[1]);
  intIn("steps", o.steps, 1, 1000);
  intIn("frames", o.frames, 1, LIMITS.seconds[1] * LIMITS.fps[1]);
  const { fps, seconds, guidance } = o;
  if (fps !== undefined && !(fps >= LIMITS.fps[0] && fps <= LIMITS.fps[1]))
    fail("fps", fps, `a number from ${LIMITS.fps[0]} to ${LIMITS.fps[1]}`);
  if (seconds !== undefined && !(seconds > 0 && seconds <= LIMITS.seconds[1]))
    fail("seconds", seconds, `above 0 and at most ${LIMITS.seconds[1]}`);
  if (guidance !== undefined && !(guidance >= 0 && guidance <= 30))
    fail("guidance", guidance, "a number from 0 to 30");
  if (o.eta !== undefined && !(o.eta >= 0 && o.eta <= 1))
    fail("eta", o.eta, "a number from 0 to 1");
  if (o.etaUntil !== undefined && !(o.etaUntil >= 0 && o.etaUntil < 1))
    fail("etaUntil", o.etaUntil, "a number from 0 up to (not including) 1");
}

/** Makes a video (frames, size, fps) and the caption the model saw, from a prompt. */
export async function generate(
  prompt: string,
  options: LibraryGenerateOptions = {},
): Promise<Generated> {
  if (typeof prompt !== "string" || prompt.trim() === "") {
    throw new Error("generate: the prompt must be non-empty text");
  }
  checkOptions("generate", options);
  const { fps, seconds, guidance } = options;
  const model = typeof options.model === "object" ? options.model : await loadModel(options.model);
  const fpsOr = fps ?? 8;
  const frames = options.frames ?? frameCount(seconds ?? 2, fpsOr, model.ae.cfg.temporalDown);
  // Past one training window, sliding windows each conditioned on the frames before.
  return modes.generateLong(model.ae, model.t2v, {
    prompt,
    width: options.width ?? 64,
    height: options.height ?? 64,
    frames,
    fps: fpsOr,
    steps: options.steps ?? DEFAULT_STEPS,
    guidance: guidance ?? DEFAULT_GUIDANCE,
    seed: options.seed ?? 0,
    method: options.method,
    eta: options.eta,
    etaUntil: options.etaUntil,
    imageFirst: options.imageFirst,
    layoutGuidance: options.layoutGuidance,
    guidanceInterval: options.guidanceInterval,
    shift: options.shift,
    onStep: options.onStep,
  });
}

/** Options every mode shares: the model and the sampler's settings (defaults as generate's). */
export interface LibraryModeOptions {
  model?: string | LoadedModel;
  steps?: number;
  guidance?: number;
  seed?: number;
  method?: "euler" | "heun";
  /** As LibraryGenerateOptions.onStep, per window. */
  onStep?: StepCallback;
  onWindow?: (window: number, windows: number) => void;
}

async function modeSetup(mode: string, o: LibraryModeOptions & { seconds?: number; fps?: number }) {
  checkOptions(mode, o);
  const model = typeof o.model === "object" ? o.model : await loadModel(o.model);
  const sampler = {
    steps: o.steps ?? DEFAULT_STEPS,
    guidance: o.guidance ?? DEFAULT_GUIDANCE,
    seed: o.seed ?? 0,
    method: o.method,
    onStep: o.onStep,
    onWindow: o.onWindow,
  };
  return { ae: model.ae, t2v: model.t2v, sampler };
}

/** Image → video: `image` (a one-frame Video) is the first frame; 2 s at 8 fps by default. */
export async function animate(
  image: Video,
  prompt: string,
  o: LibraryModeOptions & { seconds?: number; fps?: number } = {},
): Promise<modes.ModeResult> {
  const { ae, t2v, sampler } = await modeSetup("animate", o);
  const fps = o.fps ?? image.fps ?? 8;
  const frames = frameCount(o.seconds ?? 2, fps, ae.cfg.temporalDown);
  return modes.animate(ae, t2v, image, { ...sampler, prompt, frames, fps });
}

/** Continues `video` for `seconds` after its end ("forward", the default) or before its start. */
export async function extend(
  video: Video,
  o: LibraryModeOptions & { prompt?: string; seconds: number; direction?: "forward" | "backward" },
): Promise<modes.ModeResult> {
  const { ae, t2v, sampler } = await modeSetup("extend", o);
  return modes.extend(ae, t2v, video, {
    ...sampler,
    prompt: o.prompt,
    seconds: o.seconds,
    direction: o.direction ?? "forward",
  });
}

/** A seamless loop of `video`: its end flows back into its start. */
export async function loop(
  video: Video,
  o: LibraryModeOptions & { prompt?: string; seconds?: number } = {},
): Promise<modes.ModeResult> {
  const { ae, t2v, sampler } = await modeSetup("loop", o);
  return modes.loop(ae, t2v, video, { ...sampler, prompt: o.prompt, seconds: o.seconds });
}

/** `video` re-made under `prompt`, keeping its motion; `strength` 0 (unchanged) to 1 (new). */
export async function edit(
  video: Video,
  prompt: string,
  o: LibraryModeOptions & { strength?: number } = {},
): Promise<modes.ModeResult> {
  const { ae, t2v, sampler } = await modeSetup("edit", o);
  return modes.edit(ae, t2v, video, { ...sampler, prompt, strength: o.strength ?? 0.6 });
}

/** `a`, a transition of `seconds`, then `b`. */
export async function connect(
  a: Video,
  b: Video,
  o: LibraryModeOptions & { prompt?: string; seconds: number },
): Promise<modes.ModeResult> {
  const { ae, t2v, sampler } = await modeSetup("connect", o);
  return modes.connect(ae, t2v, a, b, { ...sampler, prompt: o.prompt, seconds: o.seconds });
}
