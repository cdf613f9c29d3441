/**
 * The model commands: `zoetrope generate` and `zoetrope image` (prompt → video or picture with a
 * trained model), `zoetrope train ae|dit` and `zoetrope export --onnx`.
 */
import { type Command, InvalidArgumentError } from "commander";
import { configNames } from "../models/registry.ts";
import { DEFAULT_GUIDANCE, DEFAULT_STEPS } from "../models/sampling-defaults.ts";
import type { ExportCliOptions } from "./export-action.ts";
import type { GenerateCliOptions } from "./generate-action.ts";
import { DEFAULT_MODEL_DIR } from "./model-files.ts";
import { intIn, LIMITS, numberIn, parseBuckets, parseObjectCounts } from "./parse-args.ts";
import type { TrainCliOptions } from "./train-action.ts";

function method(text: string): "euler" | "heun" {
  if (text !== "euler" && text !== "heun") throw new InvalidArgumentError('Use "euler" or "heun".');
  return text;
}

/** The sampler's options every model command shares: steps, guidance, seed, method, model. */
export function addSamplerOptions(cmd: Command): Command {
  return cmd
    .option("--steps <n>", "denoising steps, 1 to 1000", intIn(1, 1000), DEFAULT_STEPS)
    .option(
      "--guidance <g>",
      "classifier-free guidance scale, 0 to 30",
      numberIn(0, 30, false),
      DEFAULT_GUIDANCE,
    )
    .option(
      "--seed <n>",
      `random seed, ${LIMITS.seed[0]} to ${LIMITS.seed[1]}: same seed and settings, same output`,
      intIn(...LIMITS.seed),
      0,
    )
    .option("--method <name>", "sampler: euler or heun", method, "euler")
    .option(
      "--model <dir>",
      "model folder holding autoencoder.safetensors and text-to-video.safetensors",
      DEFAULT_MODEL_DIR,
    );
}

/** Options generate and image share; `video` adds the duration and frame rate. */
function addSamplingOptions(cmd: Command, video: boolean): Command {
  const [sLo, sHi] = LIMITS.size;
  cmd
    .requiredOption(
      "-o, --output <file>",
      `(required) where to write the ${video ? "MP4" : "PNG"}; an existing file is replaced only once the new one is complete`,
    )
    .option("--width <px>", `frame width in pixels, ${sLo} to ${sHi}`, intIn(sLo, sHi), 64)
    .option("--height <px>", `frame height in pixels, ${sLo} to ${sHi}`, intIn(sLo, sHi), 64);
  addSamplerOptions(cmd);
  if (video) {
    const [fLo, fHi] = LIMITS.fps;
    cmd
      .option("--fps <n>", `frames per second, ${fLo} to ${fHi}`, numberIn(fLo, fHi, false), 8)
      .option(
        "--seconds <s>",
        `clip length in seconds, up to ${LIMITS.seconds[1]} (rounded to a frame count the model can make)`,
        numberIn(...LIMITS.seconds),
        2,
      )
      .option(
        "--image-first",
        "sample the first frame alone as an image, then the clip from it (the layout settles before the motion)",
      );
  }
  return cmd;
}

export function addModelCommands(program: Command): void {
  addSamplingOptions(
    program
      .command("generate")
      .description("make a video from a prompt with a trained model and write it as MP4")
      .argument("<prompt>", 'what to show, e.g. "a red ball bounces on the grass at sunset"'),
    true,
  ).action(async (prompt: string, opts: GenerateCliOptions) => {
    // Loaded on use, so that --help and usage errors do not wait for the model code.
    await (await import("./generate-action.ts")).generateAction(prompt, opts);
  });

  addSamplingOptions(
    program
      .command("image")
      .description("make a picture (a one-frame video) from a prompt and write it as PNG")
      .argument("<prompt>", 'what to show, e.g. "a blue box on sand"'),
    false,
  ).action(async (prompt: string, opts: GenerateCliOptions) => {
    await (await import("./generate-action.ts")).imageAction(prompt, {
      ...opts,
      fps: 1,
      seconds: 0,
    });
  });

  const [sLo, sHi] = LIMITS.size;
  program
    .command("export")
    .description(
      "write the model's sampling graphs (text encoder, DiT velocity, autoencoder encoder and decoder) as standard ONNX with a manifest",
    )
    .requiredOption("--onnx <dir>", "(required) folder to write: must be new or empty")
    .option(
      "--model <dir>",
      "model folder holding autoencoder.safetensors and text-to-video.safetensors",
      DEFAULT_MODEL_DIR,
    )
    .option("--width <px>", `clip width the graphs take, ${sLo} to ${sHi}`, intIn(sLo, sHi), 64)
    .option("--height <px>", `clip height the graphs take, ${sLo} to ${sHi}`, intIn(sLo, sHi), 64)
    .option(
      "--frames <n>",
      "clip frames the graphs take (default 1 + 4 × the autoencoder's time reduction)",
      intIn(1, 10000),
    )
    .action(async (opts: ExportCliOptions) => {
      await (await import("./export-action.ts")).exportAction(opts);
    });

  const [fLo, fHi] = LIMITS.fps;
  program
    .command("train")
    .description(
      "train the autoencoder (ae) or the text-to-video model (dit) on the world's live clip stream",
    )
    .argument("<what>", '"ae" (the autoencoder) or "dit" (text encoder + diffusion transformer)')
    .requiredOption(
      "--out <run-dir>",
      "(required) run folder: checkpoints, latest, log.csv, and the trained model in model/",
    )
    .option("--config <name>", `model size: ${configNames().join(", ")}`, "tiny")
    .option(
      "--steps <n>",
      "training steps in all (across resumes), 1 to 10000000",
      intIn(1, 1e7),
      1000,
    )
    .option("--batch <n>", "clips per batch, 1 to 4096", intIn(1, 4096), 8)
    .option("--lr <x>", "peak learning rate, above 0 up to 1", numberIn(0, 1), 3e-4)
    .option("--warmup <n>", "linear warm-up steps", intIn(0, 1e7), 100)
    .option("--resume", "continue the run in --out from its newest checkpoint", false)
    .option(
      "--minutes <m>",
      "stop after this many minutes (above 0, at most 30000), saving a checkpoint and the model as on Ctrl-C (continue with --resume)",
      numberIn(0, 30000),
    )
    .option(
      "--seed <n>",
      `random seed, ${LIMITS.seed[0]} to ${LIMITS.seed[1]}`,
      intIn(...LIMITS.seed),
      0,
    )
    .option(
      "--every <n>",
      "checkpoint every this many steps (and at the end and on Ctrl-C)",
      intIn(1, 1e7),
      500,
    )
    .option(
      "--fps <n>",
      `frame rate of the training clips, ${fLo} to ${fHi}`,
      numberIn(fLo, fHi, false),
      12,
    )
    .option(
      "--buckets <list>",
      "clip shapes as WIDTHxHEIGHTxFRAMES,... (default: one clip size plus 1-frame images)",
      parseBuckets,
    )
    .option(
      "--object-counts <list>",
      "relative frequencies of training scenes with 1, 2, 3, 4 objects, e.g. 4,3,2,1 (default: uniform, 1 to 4)",
      parseObjectCounts,
    )
    .option(
      "--ae <file>",
      "(train dit) the trained autoencoder.safetensors to train on; (train ae --decoder-only) the autoencoder whose decoder to train",
    )
    .option(
      "--decoder-only",
      "(train ae) train only the decoder of --ae, on its frozen encoder's latents: the latent space stays, so a text-to-video model trained on it still works",
    )
    .option(
      "--decoder-blocks <n>",
      "(train ae --decoder-only) residual blocks per decoder level, 1 to 8: more than the decoder of --ae has grows it, the new blocks starting as the identity (the encoder and latent space stay)",
      intIn(1, 8),
    )
    .option(
      "--denoiser <file>",
      "(train ae --decoder-only) a text-to-video.safetensors trained on the latents of --ae: a share of the clips is decoded from its one-step denoised latents, the latents generation gives the decoder",
    )
    .option(
      "--denoise-share <x>",
      "(with --denoiser) share of the clips decoded from denoised latents, above 0 and at most 1 (default 0.75)",
      numberIn(0, 1),
    )
    .option(
      "--denoise-max-t <t>",
      "(with --denoiser) largest noise time the denoised latents start from, above 0 and at most 1 (default 0.4)",
      numberIn(0, 1),
    )
    .option(
      "--object-weight <x>",
      "extra loss weight on the cells that hold an object, 0 (uniform) to 100 (default: the config's)",
      numberIn(0, 100, false),
    )
    .option(
      "--logit-mean <m>",
      "(train dit) mean of the logit-normal training timesteps, −3 to 3; above 0 trains the noisier steps more often (default: the config's, 0)",
      numberIn(-3, 3, false),
    )
    .option(
      "--init <file>",
      "start a new run from these weights (autoencoder.safetensors for ae, text-to-video.safetensors for dit) with a fresh optimiser",
    )
    .option(
      "--transfer <file>",
      "start a new run from the parameters of these weights that match this config in name and shape (e.g. a text-to-video model trained on an autoencoder with fewer latent channels); the rest start fresh",
    )
    .action(async (what: string, opts: TrainCliOptions) => {
      await (await import("./train-action.ts")).trainAction(what, opts);
    });
}
