/** What `zoetrope generate` and `zoetrope image` do once their options parse. */
import { createDevice } from "../devices.ts";
import { abandonOutput, prepareOutput, writeFileSafely } from "../media/safe-output.ts";
import { writeMp4 } from "../media/write-mp4.ts";
import { frameCount, generationMetadata } from "../models/generate.ts";
import { generateLong } from "../models/modes.ts";
import { encodePng } from "../server/png.ts";
import { loadModel } from "./model-files.ts";
import { checkPrompt } from "./prompt-check.ts";
import { noteOutputPath, say, warn } from "./report.ts";

export interface GenerateCliOptions {
  output: string;
  seconds: number;
  fps: number;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  seed: number;
  model: string;
  method: "euler" | "heun";
  /** generate only (absent for image). */
  imageFirst?: boolean;
}

/** A progress bar on stderr over the denoising steps (one line, redrawn on a terminal). */
function stepBar(label: string): (step: number, steps: number) => void {
  const tty = process.stderr.isTTY === true;
  return (step, steps) => {
    const width = 20;
    const filled = Math.round((step / steps) * width);
    const line = `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${step}/${steps}`;
    if (tty) process.stderr.write(`\r${line}${step === steps ? "\n" : ""}`);
    else if (step === steps || step === 1) process.stderr.write(`${line}\n`);
  };
}

/** Step bars labelled by window ("window 2/8 denoising") once there is more than one window. */
export function windowBars(): {
  onWindow: (window: number, windows: number) => void;
  onStep: (step: number, steps: number) => void;
} {
  let bar = stepBar("denoising");
  return {
    onWindow: (window, windows) => {
      if (windows > 1) bar = stepBar(`window ${window}/${windows} denoising`);
    },
    onStep: (step, steps) => bar(step, steps),
  };
}

async function run(prompt: string, opts: GenerateCliOptions, image: boolean): Promise<void> {
  const unknown = checkPrompt(prompt);
  // The output is checked (and its folder made) before the model loads and samples.
  const target = await prepareOutput(opts.output);
  noteOutputPath(opts.output);
  try {
    await produce(prompt, opts, image, unknown, target);
  } catch (err) {
    // Nothing half-made is left, and a file already there is untouched.
    await abandonOutput(target);
    throw err;
  }
}

async function produce(
  prompt: string,
  opts: GenerateCliOptions,
  image: boolean,
  unknown: string[],
  target: Awaited<ReturnType<typeof prepareOutput>>,
): Promise<void> {
  const device = await createDevice({ kind: "onnx" });
  const model = await loadModel(device, opts.model);
  if (unknown.length > 0)
    warn(`the world does not know these words and ignored them: ${unknown.join(", ")}`);
  const frames = image ? 1 : frameCount(opts.seconds, opts.fps, model.ae.cfg.temporalDown);
  const settings = {
    width: opts.width,
    height: opts.height,
    frames,
    fps: opts.fps,
    steps: opts.steps,
    guidance: opts.guidance,
    seed: opts.seed,
    method: opts.method,
    // Tagged only when asked, so that the tags of clips made without it stay as they were.
    ...(opts.imageFirst ? { imageFirst: true } : {}),
  };
  // Past one training window, sliding windows each conditioned on the frames before.
  const out = await generateLong(model.ae, model.t2v, { prompt, ...settings, ...windowBars() });
  say(out.caption);
  const { video } = out;
  if (image) await writeFileSafely(target, encodePng(video.frames[0], video.width, video.height));
  else
    await writeMp4(video, target, {
      // What made the clip, so that it can be made again: read back with readMp4Metadata.
      metadata: generationMetadata({
        prompt,
        caption: out.caption,
        seed: opts.seed,
        settings,
        model,
      }),
    });
  say(
    `wrote ${opts.output}: ${video.width}×${video.height}` +
      (image ? "" : `, ${video.frames.length} frames at ${video.fps} fps`) +
      ` (model ${model.name}, weights sha256 ${model.hash.slice(0, 16)}, seed ${opts.seed})`,
  );
}

export function generateAction(prompt: string, opts: GenerateCliOptions): Promise<void> {
  return run(prompt, opts, false);
}

export function imageAction(prompt: string, opts: GenerateCliOptions): Promise<void> {
  return run(prompt, opts, true);
}
