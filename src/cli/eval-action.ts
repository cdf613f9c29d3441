/**
 * What `zoetrope eval` does once its options parse: check the inputs, decode within the limits,
 * evaluate, print, write JSON. The checks come first and are cheap, so that a wrong file, a
 * truncated MP4, a reference from another clip or a clip beyond the limits fails at once.
 */
import { readState } from "../data/state-file.ts";
import { checkMp4, isMp4Family } from "../media/mp4-boxes.ts";
import { assertFile, probeVideo, type VideoInfo } from "../media/probe.ts";
import { readVideo } from "../media/read-video.ts";
import { assertSeparate, prepareOutput, writeFileSafely } from "../media/safe-output.ts";
import type { Video } from "../media/video.ts";
import { evaluateVideo } from "../world/eval/evaluate.ts";
import { formatSummary } from "../world/eval/summary.ts";
import type { ClipTruth } from "../world/scene.ts";
import { EVAL_LIMITS, limitProblem } from "./eval-limits.ts";
import { checkReference } from "./eval-reference.ts";
import { checkPrompt } from "./prompt-check.ts";
import { noteOutputPath, say, warn } from "./report.ts";

export interface EvalOptions {
  prompt?: string;
  json?: string;
  /** state.json of the simulated clip whose first frames the video starts with. */
  reference?: string;
  /** How many of the video's first frames come from that simulation. */
  contextFrames?: number;
}

/** Above this many pixels (width × height × frames), say how the work is going. */
const PROGRESS_PIXELS = 20_000_000;

export async function evalAction(videoPath: string, opts: EvalOptions): Promise<void> {
  if ((opts.reference === undefined) !== (opts.contextFrames === undefined)) {
    throw new Error(
      "--reference and --context-frames go together: the simulated clip's state.json and how many of the video's first frames come from it",
    );
  }
  const unknown = opts.prompt !== undefined ? checkPrompt(opts.prompt) : [];
  const inputs = [{ flag: "the video", path: videoPath }];
  if (opts.reference) inputs.push({ flag: "--reference", path: opts.reference });
  if (opts.json) await assertSeparate([{ flag: "--json", path: opts.json }], inputs);
  // Check where the report goes before spending time on the evaluation.
  const jsonOut = opts.json ? await prepareOutput(opts.json) : null;
  if (opts.json) noteOutputPath(opts.json);

  const info = await inspect(videoPath);
  const state = opts.reference ? await readState(opts.reference) : null;
  const maxFrames = Math.floor(EVAL_LIMITS.maxPixels / (info.width * info.height));
  const video = await decode(videoPath, info, maxFrames + 1);
  if (video.frames.length > maxFrames) {
    throw new Error(
      limitProblem(
        videoPath,
        info.width,
        info.height,
        `more than ${maxFrames.toLocaleString("en")}`,
      ),
    );
  }
  if (Number.isFinite(info.estimatedFrames) && video.frames.length < 0.9 * info.estimatedFrames) {
    warn(
      `${videoPath} decoded to ${video.frames.length} frames but its header promises ${info.estimatedFrames}: the file may be damaged`,
    );
  }
  if (state)
    checkReference(video, state as ClipTruth, opts.contextFrames!, videoPath, opts.reference!);

  const pixels = video.width * video.height * video.frames.length;
  if (pixels > PROGRESS_PIXELS) {
    process.stderr.write(
      `evaluating ${video.frames.length} frames of ${video.width}×${video.height}…\n`,
    );
  }
  const started = Date.now();
  const report = evaluateVideo(video, {
    prompt: opts.prompt,
    reference: state ? { scene: state.scene, contextFrames: opts.contextFrames! } : undefined,
  });
  if (pixels > PROGRESS_PIXELS) {
    process.stderr.write(`evaluated in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  if (unknown.length > 0) {
    warn(`the evaluator does not know these prompt words and ignored them: ${unknown.join(", ")}`);
  }
  say(formatSummary(report));
  if (jsonOut) {
    await writeFileSafely(jsonOut, `${JSON.stringify(report, null, 2)}\n`);
    say(`report written to ${opts.json}`);
  }
}

/** Probes the file, refusing a damaged MP4 and sizes beyond the limits before decoding. */
async function inspect(path: string): Promise<VideoInfo> {
  await assertFile(path, "eval");
  const info = await probeVideo(path).catch((err: Error) => {
    throw new Error(err.message.replace(/^probeVideo: /, "eval: "));
  });
  if (isMp4Family(info.container)) {
    const check = await checkMp4(path);
    if (!check.complete) {
      throw new Error(`eval: ${path} is truncated or damaged: ${check.problem}`);
    }
  }
  const problem =
    info.width > EVAL_LIMITS.maxSide || info.height > EVAL_LIMITS.maxSide
      ? limitProblem(path, info.width, info.height, null)
      : Number.isFinite(info.estimatedFrames) &&
          info.estimatedFrames * info.width * info.height > EVAL_LIMITS.maxPixels
        ? limitProblem(path, info.width, info.height, info.estimatedFrames.toLocaleString("en"))
        : null;
  if (problem) throw new Error(problem);
  return info;
}

/** Decodes at most `maxFrames`, reporting progress every few seconds on long clips. */
async function decode(path: string, info: VideoInfo, maxFrames: number): Promise<Video> {
  const expected = Number.isFinite(info.estimatedFrames) ? info.estimatedFrames : Number.NaN;
  const loud = !(expected * info.width * info.height <= PROGRESS_PIXELS);
  let last = Date.now();
  return readVideo(path, {
    maxFrames,
    onFrames: (n) => {
      if (!loud || Date.now() - last < 2000) return;
      last = Date.now();
      const of = Number.isFinite(expected) ? `/${expected}` : "";
      process.stderr.write(`decoding ${path}: ${n}${of} frames\n`);
    },
  });
}
