/**
 * `animate`, `extend`, `loop`, `edit` and `connect`: the trained model's sampling modes (issue 13)
 * as job kinds, run as the CLI runs them (src/cli/mode-commands.ts) through the library
 * (src/index.ts), which loads each model folder once per process. Inputs are uploads, named in
 * the settings by the id POST /uploads returned (`image` for animate, `video` for extend, loop
 * and edit, `a` and `b` for connect).
 *
 * What can be checked cheaply is checked at submission, naming the field: the id's shape, that
 * the upload exists, and its type (an image where a video is needed is refused). What needs the
 * file decoded or the model loaded (a size the model cannot make, a clip too short for the mode)
 * fails the job with the mode's own message, before the model samples. Outputs are MP4 tagged as
 * the CLI tags them (mode, prompt, caption, seed, settings, model, its sha256, the sources);
 * progress is one report per denoising step over all the mode's windows, with a preview of the
 * current window's prediction every few steps and at each window's last.
 */
import { basename, resolve } from "node:path";
import { z } from "zod";
import type { LoadedModel } from "../../cli/model-files.ts";
import type { Video } from "../../media/video.ts";
import type { ModeOptions, ModeResult } from "../../models/modes.ts";
import type { JobKind, RunContext, UploadInput } from "../kinds.ts";
import { isUploadId, uploadContentType } from "../uploads.ts";
import {
  MAX_JOB_FPS,
  MAX_JOB_FRAME_BYTES,
  MAX_JOB_SECONDS,
  MAX_JOB_SIDE,
  promptField,
  promptIssue,
  samplerFields,
} from "./checks.ts";
import type { ModelKindOptions } from "./generate.ts";
import { dropIfAborted, finish, reportStep, stopIfAborted } from "./run-helpers.ts";

/** What each input field takes: the types ffmpeg decodes for the mode (readVideo). */
const INPUT_TYPES = {
  image: ["image/png", "image/jpeg"],
  video: ["video/mp4", "video/webm"],
} as const;

type InputKind = keyof typeof INPUT_TYPES;

/** A mode's input: an upload of a kind (a picture, or a clip). */
interface ModeInput extends UploadInput {
  kind: InputKind;
}

function input(field: string, id: string, kind: InputKind): ModeInput {
  return { field, id, kind, accepts: INPUT_TYPES[kind] };
}

/**
 * A settings field naming an upload. Its shape is checked here; that it exists and has a type
 * the field takes, at submission against the server's uploads (the kind's `inputs`). Clients
 * (the studio) find upload fields by the "x-upload" marker in the JSON Schema: the types taken.
 */
function uploadField(kind: InputKind, what: string) {
  return z
    .string()
    .refine(isUploadId, {
      error: (issue) =>
        `${JSON.stringify(String(issue.input).slice(0, 80))} is not an upload id (POST /uploads returns one)`,
    })
    .describe(`${what}: the id POST /uploads returned for a ${INPUT_TYPES[kind].join(" or ")}`)
    .meta({ "x-upload": [...INPUT_TYPES[kind]] });
}

const seconds = z.number().gt(0).max(MAX_JOB_SECONDS);
/** Optional for the modes that can run without one (the CLI's `[prompt]`). */
const optionalPrompt = promptField.optional();
const checkPromptIfAny = (s: { prompt?: string }, ctx: z.RefinementCtx) => {
  if (s.prompt !== undefined) promptIssue(s.prompt, ctx);
};

const animateSettings = z
  .object({
    image: uploadField(
      "image",
      "the picture the video starts from (its size must be one the model makes)",
    ),
    prompt: promptField,
    ...samplerFields,
    fps: z.number().min(1).max(MAX_JOB_FPS).default(8),
    seconds: seconds.default(2),
  })
  .strict()
  .superRefine((s, ctx) => promptIssue(s.prompt, ctx));

const extendSettings = z
  .object({
    video: uploadField("video", "the clip to extend"),
    prompt: optionalPrompt.describe(
      "what happens next (default: the clip's own prompt if zoetrope made it, else none)",
    ),
    direction: z.enum(["forward", "backward"]).default("forward"),
    seconds: seconds.default(2).describe("seconds to add"),
    ...samplerFields,
  })
  .strict()
  .superRefine(checkPromptIfAny);

const loopSettings = z
  .object({
    video: uploadField("video", "the clip to loop"),
    prompt: optionalPrompt.describe(
      "what the transition shows (default: the clip's own prompt if zoetrope made it, else none)",
    ),
    seconds: seconds.optional().describe("length of the transition (default: one window's)"),
    ...samplerFields,
  })
  .strict()
  .superRefine(checkPromptIfAny);

const editSettings = z
  .object({
    video: uploadField("video", "the clip to edit"),
    prompt: promptField,
    strength: z.number().min(0).max(1).default(0.6),
    ...samplerFields,
  })
  .strict()
  .superRefine((s, ctx) => promptIssue(s.prompt, ctx));

const connectSettings = z
  .object({
    a: uploadField("video", "the first clip"),
    b: uploadField("video", "the second clip (the same size as a)"),
    prompt: optionalPrompt.describe("what the transition shows (default: none)"),
    seconds: seconds.default(1).describe("length of the transition"),
    ...samplerFields,
  })
  .strict()
  .superRefine(checkPromptIfAny);

export type AnimateSettings = z.infer<typeof animateSettings>;
export type ExtendSettings = z.infer<typeof extendSettings>;
export type LoopSettings = z.infer<typeof loopSettings>;
export type EditSettings = z.infer<typeof editSettings>;
export type ConnectSettings = z.infer<typeof connectSettings>;

type Library = typeof import("../../index.ts");
type Sampler = Pick<ModeOptions, "steps" | "guidance" | "seed" | "method" | "onStep" | "onWindow">;

/** One mode run: its inputs, and how to sample once they and the model are loaded. */
interface ModeRun {
  /** The mode as the tags name it ("extend forward"). */
  mode: string;
  inputs: ModeInput[];
  prompt?: string;
  /** Without a prompt, use the first input's own `prompt` tag (a clip zoetrope made), if any. */
  promptFromSource: boolean;
  /** Mode-specific settings, for the tags. */
  settings: Record<string, unknown>;
  /** About how many frames the output has (for the memory limit; need not be exact). */
  outputFrames(videos: Video[]): number;
  sample(
    lib: Library,
    model: LoadedModel,
    videos: Video[],
    prompt: string,
    o: Sampler,
  ): Promise<ModeResult>;
}

type SamplerSettings = Pick<AnimateSettings, "steps" | "guidance" | "seed" | "method">;

/**
 * Decodes an input: a still's first frame, or a clip's frames up to what the job's frame memory
 * holds. Errors name the field and the upload, never the file's place on the server.
 */
async function readInput(path: string, input: ModeInput): Promise<Video> {
  const { probeVideo } = await import("../../media/probe.ts");
  const { readVideo } = await import("../../media/read-video.ts");
  const named = (err: unknown) => {
    const message = (err as Error).message;
    const shown = [resolve(path), path].reduce(
      (m, p) => m.replaceAll(p, `upload ${input.id}`),
      message,
    );
    return new Error(`${input.field}: ${shown}`);
  };
  const info = await probeVideo(path).catch((err) => {
    throw named(err);
  });
  if (info.width > MAX_JOB_SIDE || info.height > MAX_JOB_SIDE) {
    throw new Error(
      `${input.field}: upload ${input.id} is ${info.width}×${info.height}; a job takes at most ${MAX_JOB_SIDE} pixels a side`,
    );
  }
  // Past the frames the memory limit allows, one more is decoded only to tell that it is too long.
  const fit = Math.floor(MAX_JOB_FRAME_BYTES / (info.width * info.height * 3));
  const video = await readVideo(path, { maxFrames: input.kind === "image" ? 1 : fit + 1 }).catch(
    (err) => {
      throw named(err);
    },
  );
  if (video.frames.length > fit) {
    throw new Error(
      `${input.field}: upload ${input.id} is longer than a job may hold (${fit} frames of ${info.width}×${info.height}, ${MAX_JOB_FRAME_BYTES / 2 ** 20} MiB)`,
    );
  }
  return video;
}

/** Frames for `s` seconds at `fps`, as the modes count them (at least one). */
const framesOf = (s: number, fps: number) => Math.max(1, Math.round(s * fps));

async function runMode(
  ctx: RunContext<SamplerSettings>,
  options: ModelKindOptions,
  job: ModeRun,
): Promise<Record<string, unknown>> {
  const { settings: s, signal } = ctx;
  // Loaded on use, so that starting a server does not wait for the model code.
  const lib = await import("../../index.ts");
  const { generationMetadata } = await import("../../models/generate.ts");

  // Inputs first: a bad file fails the job before the model loads.
  const paths: string[] = [];
  const videos: Video[] = [];
  for (const input of job.inputs) {
    const path = await ctx.inputPath(input.id);
    // Checked at submission too; this is the worker's own look at its data directory.
    const type = uploadContentType(path);
    if (!type || !input.accepts.includes(type)) {
      throw new Error(`${input.field}: upload ${input.id} is ${type}, not ${input.kind}`);
    }
    paths.push(path);
    videos.push(await readInput(path, input));
    stopIfAborted(signal);
  }
  const first = videos[0];
  const bytes = first.width * first.height * 3 * job.outputFrames(videos);
  if (bytes > MAX_JOB_FRAME_BYTES) {
    throw new Error(
      `the output would be about ${(bytes / 2 ** 20).toFixed(0)} MiB of raw ${first.width}×${first.height} frames; a job may hold at most ${MAX_JOB_FRAME_BYTES / 2 ** 20} MiB (use shorter or smaller inputs, or fewer seconds)`,
    );
  }
  let prompt = job.prompt ?? "";
  if (job.prompt === undefined && job.promptFromSource) {
    const tags = await lib.readMp4Metadata(paths[0]).catch(() => ({}) as Record<string, string>);
    prompt = tags.prompt ?? "";
  }

  const model = await lib.loadModel(options.model);
  stopIfAborted(signal);
  const sampling = { steps: s.steps, guidance: s.guidance, seed: s.seed, method: s.method };
  // Steps count on over the mode's windows: window w's step k is (w − 1)·steps + k.
  let window = 1;
  let windows = 1;
  const out = await job.sample(lib, model, videos, prompt, {
    ...sampling,
    onWindow: (w, n) => {
      stopIfAborted(signal);
      [window, windows] = [w, n];
    },
    onStep: (step, steps, preview) => {
      // Throwing here is what stops the sampler between two steps.
      stopIfAborted(signal);
      const done = (window - 1) * steps + step;
      return reportStep(ctx, { step, steps, done, total: windows * steps }, preview);
    },
  });
  stopIfAborted(signal);
  const { video } = out;
  const { writeMp4 } = await import("../../media/write-mp4.ts");
  const sources = paths.map((p) => basename(p));
  // writeMp4 puts the file in place only once complete; the tags are the CLI's for the mode.
  await writeMp4(video, ctx.outputPath, {
    metadata: generationMetadata({
      prompt,
      caption: out.caption,
      seed: s.seed,
      settings: { mode: job.mode, ...job.settings, ...sampling },
      model,
      extra: { mode: job.mode, source: JSON.stringify(sources) },
    }),
  });
  await dropIfAborted(ctx);
  // Edit at strength 0 samples nothing (no windows): its report is 0 of 0.
  finish(ctx, out.windows * s.steps, video);
  return {
    mode: job.mode,
    prompt,
    caption: out.caption,
    ...job.settings,
    ...sampling,
    inputs: Object.fromEntries(job.inputs.map((i) => [i.field, i.id])),
    width: video.width,
    height: video.height,
    frames: video.frames.length,
    fps: video.fps,
    windows: out.windows,
    model: model.name,
    modelSha256: model.hash,
    unknownWords: out.unknownWords,
  };
}

const mp4 = { extension: "mp4", contentType: "video/mp4" };

export function animateKind(options: ModelKindOptions = {}): JobKind<AnimateSettings> {
  const inputs = (s: AnimateSettings) => [input("image", s.image, "image")];
  return {
    name: "animate",
    description:
      "A video whose first frame is an uploaded picture (what `zoetrope animate` makes), as H.264 MP4 tagged with the mode, prompt, caption, seed, settings, model and source.",
    settings: animateSettings,
    output: mp4,
    inputs,
    run: (ctx) => {
      const s = ctx.settings;
      return runMode(ctx, options, {
        mode: "animate",
        inputs: inputs(s),
        prompt: s.prompt,
        promptFromSource: false,
        settings: { seconds: s.seconds, fps: s.fps },
        outputFrames: () => framesOf(s.seconds, s.fps),
        sample: (lib, model, [still], text, o) =>
          lib.animate(still, text, { ...o, model, seconds: s.seconds, fps: s.fps }),
      });
    },
  };
}

export function extendKind(options: ModelKindOptions = {}): JobKind<ExtendSettings> {
  const inputs = (s: ExtendSettings) => [input("video", s.video, "video")];
  return {
    name: "extend",
    description:
      "An uploaded clip continued after its end (direction forward) or before its start (backward), its own frames kept (what `zoetrope extend` makes), as tagged H.264 MP4.",
    settings: extendSettings,
    output: mp4,
    inputs,
    run: (ctx) => {
      const s = ctx.settings;
      return runMode(ctx, options, {
        mode: `extend ${s.direction}`,
        inputs: inputs(s),
        prompt: s.prompt,
        promptFromSource: true,
        settings: { direction: s.direction, seconds: s.seconds },
        outputFrames: ([v]) => v.frames.length + framesOf(s.seconds, v.fps),
        sample: (lib, model, [video], text, o) =>
          lib.extend(video, {
            ...o,
            model,
            prompt: text,
            seconds: s.seconds,
            direction: s.direction,
          }),
      });
    },
  };
}

export function loopKind(options: ModelKindOptions = {}): JobKind<LoopSettings> {
  const inputs = (s: LoopSettings) => [input("video", s.video, "video")];
  return {
    name: "loop",
    description:
      "A seamless loop of an uploaded clip: the clip, then a transition from its end back into its start (what `zoetrope loop` makes), as tagged H.264 MP4.",
    settings: loopSettings,
    output: mp4,
    inputs,
    run: (ctx) => {
      const s = ctx.settings;
      return runMode(ctx, options, {
        mode: "loop",
        inputs: inputs(s),
        prompt: s.prompt,
        promptFromSource: true,
        settings: { seconds: s.seconds },
        // Without seconds the transition is one window's, a few frames (16 for world-s).
        outputFrames: ([v]) => v.frames.length + framesOf(s.seconds ?? 2, v.fps),
        sample: (lib, model, [video], text, o) =>
          lib.loop(video, { ...o, model, prompt: text, seconds: s.seconds }),
      });
    },
  };
}

export function editKind(options: ModelKindOptions = {}): JobKind<EditSettings> {
  const inputs = (s: EditSettings) => [input("video", s.video, "video")];
  return {
    name: "edit",
    description:
      "An uploaded clip resampled under a new prompt, keeping its motion: its latent is noised to `strength` and denoised again (what `zoetrope edit` makes), as tagged H.264 MP4.",
    settings: editSettings,
    output: mp4,
    inputs,
    run: (ctx) => {
      const s = ctx.settings;
      return runMode(ctx, options, {
        mode: "edit",
        inputs: inputs(s),
        prompt: s.prompt,
        promptFromSource: false,
        settings: { strength: s.strength },
        outputFrames: ([v]) => v.frames.length,
        sample: (lib, model, [video], text, o) =>
          lib.edit(video, text, { ...o, model, strength: s.strength }),
      });
    },
  };
}

export function connectKind(options: ModelKindOptions = {}): JobKind<ConnectSettings> {
  const inputs = (s: ConnectSettings) => [input("a", s.a, "video"), input("b", s.b, "video")];
  return {
    name: "connect",
    description:
      "Two uploaded clips of the same size joined by a transition that starts as a and ends as b (what `zoetrope connect` makes), as tagged H.264 MP4.",
    settings: connectSettings,
    output: mp4,
    inputs,
    run: (ctx) => {
      const s = ctx.settings;
      return runMode(ctx, options, {
        mode: "connect",
        inputs: inputs(s),
        prompt: s.prompt,
        promptFromSource: false,
        settings: { seconds: s.seconds },
        outputFrames: ([a, b]) => a.frames.length + framesOf(s.seconds, a.fps) + b.frames.length,
        sample: (lib, model, [a, b], text, o) =>
          lib.connect(a, b, { ...o, model, prompt: text, seconds: s.seconds }),
      });
    },
  };
}
