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
import { frameCount, type Generated, generate as generateWith } from "./models/generate.ts";

export type { LoadedModel } from "./cli/model-files.ts";
export { readMp4Metadata } from "./media/mp4-metadata.ts";
export { readVideo } from "./media/read-video.ts";
export type { Video } from "./media/video.ts";
export { writeMp4 } from "./media/write-mp4.ts";
export type { Generated } from "./models/generate.ts";
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
  /** Classifier-free guidance scale; 4 by default. */
  guidance?: number;
  /** Same seed and settings, same video; 0 by default. */
  seed?: number;
  method?: "euler" | "heun";
  /** Called after each denoising step. */
  onStep?: (step: number, steps: number) => void;
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

/** Makes a video (frames, size, fps) and the caption the model saw, from a prompt. */
export async function generate(
  prompt: string,
  options: LibraryGenerateOptions = {},
): Promise<Generated> {
  if (typeof prompt !== "string" || prompt.trim() === "") {
    throw new Error("generate: the prompt must be non-empty text");
  }
  const fail = (what: string, value: unknown, range: string): never => {
    throw new Error(`generate: ${what} must be ${range}, got ${String(value)}`);
  };
  const intIn = (what: string, v: number | undefined, lo: number, hi: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi))
      fail(what, v, `an integer from ${lo} to ${hi}`);
  };
  intIn("seed", options.seed, LIMITS.seed[0], LIMITS.seed[1]);
  intIn("steps", options.steps, 1, 1000);
  intIn("frames", options.frames, 1, LIMITS.seconds[1] * LIMITS.fps[1]);
  const { fps, seconds, guidance } = options;
  if (fps !== undefined && !(fps >= LIMITS.fps[0] && fps <= LIMITS.fps[1]))
    fail("fps", fps, `a number from ${LIMITS.fps[0]} to ${LIMITS.fps[1]}`);
  if (seconds !== undefined && !(seconds > 0 && seconds <= LIMITS.seconds[1]))
    fail("seconds", seconds, `above 0 and at most ${LIMITS.seconds[1]}`);
  if (guidance !== undefined && !(guidance >= 0 && guidance <= 30))
    fail("guidance", guidance, "a number from 0 to 30");
  const model = typeof options.model === "object" ? options.model : await loadModel(options.model);
  const fpsOr = fps ?? 8;
  const frames = options.frames ?? frameCount(seconds ?? 2, fpsOr, model.ae.cfg.temporalDown);
  return generateWith(model.ae, model.t2v, {
    prompt,
    width: options.width ?? 64,
    height: options.height ?? 64,
    frames,
    fps: fpsOr,
    steps: options.steps ?? 30,
    guidance: guidance ?? 4,
    seed: options.seed ?? 0,
    method: options.method,
    onStep: options.onStep,
  });
}
