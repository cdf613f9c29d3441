/** What `zoetrope eval` does once its options parse: decode, evaluate, print, write JSON. */
import { readState } from "../data/state-file.ts";
import { assertWritableFolder, writeFileAtomic } from "../media/atomic-file.ts";
import { readVideo } from "../media/read-video.ts";
import { evaluateVideo } from "../world/eval/evaluate.ts";
import { formatSummary } from "../world/eval/summary.ts";
import { say, warn } from "./report.ts";

export interface EvalOptions {
  prompt?: string;
  json?: string;
  /** state.json of the simulated clip whose first frames the video starts with. */
  reference?: string;
  /** How many of the video's first frames come from that simulation. */
  contextFrames?: number;
}

export async function evalAction(videoPath: string, opts: EvalOptions): Promise<void> {
  if ((opts.reference === undefined) !== (opts.contextFrames === undefined)) {
    throw new Error(
      "--reference and --context-frames go together: the simulated clip's state.json and how many of the video's first frames come from it",
    );
  }
  // Check where the report goes before spending time on the evaluation.
  if (opts.json) await assertWritableFolder(opts.json);
  const video = await readVideo(videoPath);
  const state = opts.reference ? await readState(opts.reference) : null;
  if (state && opts.contextFrames! > video.frames.length) {
    throw new Error(
      `--context-frames ${opts.contextFrames} is more than the ${video.frames.length} frames of ${videoPath}`,
    );
  }
  const report = evaluateVideo(video, {
    prompt: opts.prompt,
    reference: state ? { scene: state.scene, contextFrames: opts.contextFrames! } : undefined,
  });
  const unknown = report.prompt?.unknownWords ?? [];
  if (unknown.length > 0) {
    warn(`the evaluator does not know these prompt words and ignored them: ${unknown.join(", ")}`);
  }
  say(formatSummary(report));
  if (opts.json) {
    await writeFileAtomic(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    say(`report written to ${opts.json}`);
  }
}
