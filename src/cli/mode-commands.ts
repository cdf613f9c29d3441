/**
 * The sampling-mode commands (issue 13), each a way of sampling the same trained model with known
 * frames (src/models/modes.ts): `zoetrope animate` (an image becomes the first frame), `extend`
 * (continue a clip after its end or before its start), `loop` (a seamless loop), `edit` (resample
 * a clip under a new prompt) and `connect` (a transition from one clip into another). Long videos
 * are `zoetrope generate --seconds 60` (sliding windows, in generate-action.ts).
 *
 * Inputs are MP4 (or anything ffmpeg reads) and PNG, used at their own size: a size the model
 * cannot make, a clip too short to condition on or an unreadable file is a clear error, never a
 * silent resize. Outputs are written as `generate` writes them: atomically, tagged with what made
 * them (mode, prompt, caption, seed, settings, model, its weights' sha256, the source files).
 */
import { basename } from "node:path";
import { type Command, Option } from "commander";
import type { Video } from "../media/video.ts";
import type { ModeOptions, ModeResult } from "../models/modes.ts";
import { addSamplerOptions } from "./model-commands.ts";
import type { LoadedModel } from "./model-files.ts";
import { LIMITS, numberIn } from "./parse-args.ts";

interface ModeCliOptions {
  output: string;
  steps: number;
  guidance: number;
  seed: number;
  method: "euler" | "heun";
  model: string;
  seconds?: number;
  fps?: number;
  strength?: number;
  forward?: boolean;
  backward?: boolean;
}

/** One mode run: what to read, and how to sample once the model and inputs are loaded. */
interface Job {
  mode: string;
  inputs: string[];
  /** The prompt given, or undefined (then `promptFromSource` decides). */
  prompt?: string;
  /** Without a prompt, use the first input's own `prompt` tag (a clip zoetrope made) if any. */
  promptFromSource: boolean;
  opts: ModeCliOptions;
  /** Mode-specific settings for the metadata. */
  settings: Record<string, unknown>;
  /** Reads one input (a still only needs its first frame). */
  read?: { maxFrames?: number };
  sample(model: LoadedModel, videos: Video[], prompt: string, o: ModeOptions): Promise<ModeResult>;
}

/** -o and the sampling options every mode shares (as `generate` has them). */
function addSharedOptions(cmd: Command): Command {
  return addSamplerOptions(
    cmd.requiredOption(
      "-o, --output <file>",
      "(required) where to write the MP4; an existing file is replaced only once the new one is complete",
    ),
  );
}

function secondsOption(what: string, fallback?: number): Option {
  const option = new Option("--seconds <s>", what).argParser(numberIn(...LIMITS.seconds));
  return fallback === undefined ? option : option.default(fallback);
}

async function runJob(job: Job): Promise<void> {
  const { checkPrompt } = await import("./prompt-check.ts");
  const { abandonOutput, assertSeparate, prepareOutput } = await import("../media/safe-output.ts");
  const { noteOutputPath } = await import("./report.ts");
  const unknown = job.prompt === undefined ? [] : checkPrompt(job.prompt);
  // The output may not replace a source clip (which a failed read would then have lost).
  await assertSeparate(
    [{ flag: "-o", path: job.opts.output }],
    job.inputs.map((path, i) => ({
      flag: job.inputs.length > 1 ? `input ${i + 1}` : "the input",
      path,
    })),
  );
  // The output is checked (and its folder made) before the model loads and samples.
  const target = await prepareOutput(job.opts.output);
  noteOutputPath(job.opts.output);
  try {
    await produce(job, unknown, target);
  } catch (err) {
    // Nothing half-made is left, and a file already there is untouched.
    await abandonOutput(target);
    throw err;
  }
}

async function produce(
  job: Job,
  unknown: string[],
  target: Awaited<ReturnType<typeof import("../media/safe-output.ts").prepareOutput>>,
): Promise<void> {
  const { createDevice } = await import("../devices.ts");
  const { readVideo } = await import("../media/read-video.ts");
  const { readMp4Metadata } = await import("../media/mp4-metadata.ts");
  const { writeMp4 } = await import("../media/write-mp4.ts");
  const { generationMetadata } = await import("../models/generate.ts");
  const { loadModel } = await import("./model-files.ts");
  const { windowBars } = await import("./generate-action.ts");
  const { say, warn } = await import("./report.ts");
  const { opts } = job;

  // Inputs first: a bad file is reported before the model loads.
  const videos: Video[] = [];
  for (const path of job.inputs) videos.push(await readVideo(path, job.read ?? {}));
  let prompt = job.prompt ?? "";
  if (job.prompt === undefined && job.promptFromSource) {
    const tags = await readMp4Metadata(job.inputs[0]).catch(() => ({}) as Record<string, string>);
    if (tags.prompt) {
      prompt = tags.prompt;
      warn(`no prompt given: using ${job.inputs[0]}'s own prompt "${prompt}"`);
    }
  }
  const device = await createDevice({ kind: "onnx" });
  const model = await loadModel(device, opts.model);
  if (unknown.length > 0)
    warn(`the world does not know these words and ignored them: ${unknown.join(", ")}`);
  const sampling = {
    steps: opts.steps,
    guidance: opts.guidance,
    seed: opts.seed,
    method: opts.method,
  };
  const out = await job.sample(model, videos, prompt, { ...sampling, ...windowBars() });
  say(out.caption === "" ? "(no prompt: sampled without a caption)" : out.caption);
  const { video } = out;
  await writeMp4(video, target, {
    // What made the clip, so that it can be made again: read back with readMp4Metadata.
    metadata: generationMetadata({
      prompt,
      caption: out.caption,
      seed: opts.seed,
      settings: { mode: job.mode, ...job.settings, ...sampling },
      model,
      extra: { mode: job.mode, source: JSON.stringify(job.inputs.map((p) => basename(p))) },
    }),
  });
  say(
    `wrote ${opts.output}: ${video.width}×${video.height}, ${video.frames.length} frames at ${video.fps} fps` +
      ` (${job.mode}, ${out.windows} window${out.windows === 1 ? "" : "s"}; model ${model.name}, weights sha256 ${model.hash.slice(0, 16)}, seed ${opts.seed})`,
  );
}

/** The modes library, loaded on use so that --help and usage errors do not wait for it. */
const modes = () => import("../models/modes.ts");

export function addModeCommands(program: Command): void {
  const [fLo, fHi] = LIMITS.fps;
  addSharedOptions(
    program
      .command("animate")
      .description("make a video whose first frame is an image (PNG, or a video's first frame)")
      .argument("<image>", "the picture to start from; its size must be one the model makes")
      .argument("<prompt>", 'what happens, e.g. "the red ball rolls to the left"'),
  )
    .option("--fps <n>", `frames per second, ${fLo} to ${fHi}`, numberIn(fLo, fHi, false), 8)
    .addOption(
      secondsOption(
        `clip length in seconds, up to ${LIMITS.seconds[1]} (rounded to a frame count the model can make)`,
        2,
      ),
    )
    .action(async (image: string, prompt: string, opts: ModeCliOptions) => {
      const fps = opts.fps ?? 8;
      await runJob({
        mode: "animate",
        inputs: [image],
        prompt,
        promptFromSource: false,
        opts,
        settings: { seconds: opts.seconds, fps },
        read: { maxFrames: 1 },
        async sample({ ae, t2v }, [still], text, o) {
          const m = await modes();
          const { frameCount } = await import("../models/generate.ts");
          m.checkInput({ ae, t2v }, still, image, 1);
          const frames = frameCount(opts.seconds ?? 2, fps, ae.cfg.temporalDown);
          return m.animate(ae, t2v, still, { ...o, prompt: text, frames, fps });
        },
      });
    });

  addSharedOptions(
    program
      .command("extend")
      .description(
        "continue a clip after its end (--forward, the default) or before its start (--backward); its own frames are kept as they are",
      )
      .argument("<clip>", "the video to extend")
      .argument(
        "[prompt]",
        "what happens next (default: the clip's own prompt if zoetrope made it, else none)",
      ),
  )
    .addOption(new Option("--forward", "add frames after the clip's end").conflicts("backward"))
    .addOption(new Option("--backward", "add frames before the clip's start").conflicts("forward"))
    .addOption(secondsOption(`seconds to add, up to ${LIMITS.seconds[1]}`, 2))
    .action(async (clip: string, prompt: string | undefined, opts: ModeCliOptions) => {
      const direction = opts.backward ? "backward" : "forward";
      await runJob({
        mode: `extend ${direction}`,
        inputs: [clip],
        prompt,
        promptFromSource: true,
        opts,
        settings: { direction, seconds: opts.seconds },
        async sample({ ae, t2v }, [video], text, o) {
          const m = await modes();
          const end = direction === "forward" ? "last" : "first";
          m.checkInput({ ae, t2v }, video, clip, m.minFrames(ae, end), ` to extend ${direction}`);
          const seconds = opts.seconds ?? 2;
          return m.extend(ae, t2v, video, { ...o, prompt: text, direction, seconds });
        },
      });
    });

  addSharedOptions(
    program
      .command("loop")
      .description(
        "make a seamless loop: the clip, then a transition from its end back into its start",
      )
      .argument("<clip>", "the video to loop")
      .argument(
        "[prompt]",
        "what the transition shows (default: the clip's own prompt if zoetrope made it, else none)",
      ),
  )
    .addOption(
      secondsOption(
        `length of the transition, up to ${LIMITS.seconds[1]} (default: one sampling window's)`,
      ),
    )
    .action(async (clip: string, prompt: string | undefined, opts: ModeCliOptions) => {
      await runJob({
        mode: "loop",
        inputs: [clip],
        prompt,
        promptFromSource: true,
        opts,
        settings: { seconds: opts.seconds },
        async sample({ ae, t2v }, [video], text, o) {
          const m = await modes();
          m.checkInput({ ae, t2v }, video, clip, m.minFrames(ae, "last"), " to loop");
          return m.loop(ae, t2v, video, { ...o, prompt: text, seconds: opts.seconds });
        },
      });
    });

  addSharedOptions(
    program
      .command("edit")
      .description(
        "resample a clip under a new prompt: its latent is noised to --strength and denoised again, keeping its motion",
      )
      .argument("<clip>", "the video to edit")
      .argument("<prompt>", 'the new description, e.g. "a red ball bounces at night"'),
  )
    .option(
      "--strength <s>",
      "how much to change, 0 (the clip as the autoencoder reproduces it) to 1 (a new clip)",
      numberIn(0, 1, false),
      0.6,
    )
    .action(async (clip: string, prompt: string, opts: ModeCliOptions) => {
      const strength = opts.strength ?? 0.6;
      await runJob({
        mode: "edit",
        inputs: [clip],
        prompt,
        promptFromSource: false,
        opts,
        settings: { strength },
        async sample({ ae, t2v }, [video], text, o) {
          const m = await modes();
          m.checkInput({ ae, t2v }, video, clip, 1);
          return m.edit(ae, t2v, video, { ...o, prompt: text, strength });
        },
      });
    });

  addSharedOptions(
    program
      .command("connect")
      .description(
        "join two clips of the same size with a transition that starts as a and ends as b",
      )
      .argument("<a>", "the first video")
      .argument("<b>", "the second video")
      .argument("[prompt]", "what the transition shows (default: none)"),
  )
    .addOption(
      secondsOption(
        `length of the transition, up to ${LIMITS.seconds[1]} (rounded to the model's frame steps)`,
        1,
      ),
    )
    .action(async (a: string, b: string, prompt: string | undefined, opts: ModeCliOptions) => {
      await runJob({
        mode: "connect",
        inputs: [a, b],
        prompt,
        promptFromSource: false,
        opts,
        settings: { seconds: opts.seconds },
        async sample({ ae, t2v }, [va, vb], text, o) {
          const m = await modes();
          m.checkInput({ ae, t2v }, va, a, m.minFrames(ae, "last"), " to connect from");
          m.checkInput({ ae, t2v }, vb, b, m.minFrames(ae, "first"), " to connect to");
          const seconds = opts.seconds ?? 1;
          return m.connect(ae, t2v, va, vb, { ...o, prompt: text, seconds });
        },
      });
    });
}
