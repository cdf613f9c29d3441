/** What `zoetrope world render` and `zoetrope world dataset` do once their options parse. */
import { type Bucket, bucketKey } from "../data/buckets.ts";
import { readDatasetIndex } from "../data/dataset-index.ts";
import { exportDataset } from "../data/export-dataset.ts";
import { stageState } from "../data/state-file.ts";
import { abandonOutput, assertSeparate, commitAll, prepareOutput } from "../media/safe-output.ts";
import { stageMp4, storedPixelFormat } from "../media/write-mp4.ts";
import { expandPrompt } from "../world/expand.ts";
import { simulate } from "../world/simulate.ts";
import { validateOptions } from "../world/validate.ts";
import { checkPrompt } from "./prompt-check.ts";
import { noteOutputPath, say, warn } from "./report.ts";

export interface ClipShapeOptions {
  seed: number;
  width: number;
  height: number;
  fps: number;
  seconds: number;
  lossless: boolean;
}

export interface RenderOptions extends ClipShapeOptions {
  prompt: string;
  output: string;
  truth?: string;
}

export interface DatasetOptions extends ClipShapeOptions {
  count?: number;
  output: string;
  buckets?: Bucket[];
  resume?: boolean;
}

export async function renderAction(opts: RenderOptions): Promise<void> {
  // Everything that can be wrong is checked before the (possibly long) simulation.
  const unknown = checkPrompt(opts.prompt);
  const shape = { width: opts.width, height: opts.height, fps: opts.fps, seconds: opts.seconds };
  validateOptions(shape);
  const outputs = [{ flag: "-o", path: opts.output }];
  if (opts.truth) outputs.push({ flag: "--truth", path: opts.truth });
  await assertSeparate(outputs);
  const video = await prepareOutput(opts.output);
  const truthOut = opts.truth
    ? await prepareOutput(opts.truth).catch(async (err) => {
        await abandonOutput(video);
        throw err;
      })
    : null;
  noteOutputPath(opts.output);
  if (opts.truth) noteOutputPath(opts.truth);
  if (unknown.length > 0) {
    warn(`the world does not know these words and ignored them: ${unknown.join(", ")}`);
  }
  const expanded = expandPrompt(opts.prompt, opts.seed);
  const clip = simulate(expanded.scene, shape);
  // Both files are made and checked before either is put in place: all or nothing.
  const staged = [
    await stageMp4(clip.video, video, { lossless: opts.lossless }).catch(async (err) => {
      if (truthOut) await abandonOutput(truthOut);
      throw err;
    }),
  ];
  if (truthOut) {
    staged.push(
      await stageState(truthOut, opts.seed, clip.truth).catch(async (err) => {
        await staged[0].discard();
        throw err;
      }),
    );
  }
  await commitAll(staged);
  const { width, height, frames, fps } = clip.video;
  say(expanded.caption);
  const format = storedPixelFormat(width, height, opts.lossless);
  say(
    `wrote ${opts.output}: ${width}×${height}, ${frames.length} frames at ${fps} fps` +
      (opts.truth ? `; ground truth in ${opts.truth}` : ""),
  );
  if (format === "yuv444p") {
    warn(
      `${width}×${height} has an odd side, so it is stored as H.264 4:4:4 at exactly that size; some browsers play only even sizes (4:2:0)`,
    );
  }
}

export async function datasetAction(opts: DatasetOptions): Promise<void> {
  let { seed, fps, lossless, count } = opts;
  let buckets = opts.buckets;
  if (opts.resume) {
    // Settings come from the dataset itself; --count may extend it.
    const index = await readDatasetIndex(opts.output).catch((err: Error) => {
      throw new Error(`cannot resume ${opts.output}: ${err.message}`);
    });
    if (!index) {
      throw new Error(
        `cannot resume ${opts.output}: it holds no dataset index (index.json); start it without --resume`,
      );
    }
    ({ seed, fps } = index.settings);
    lossless = index.settings.mp4.lossless;
    buckets = index.settings.buckets;
    count ??= index.count;
  }
  if (count === undefined) {
    throw new Error("required option '--count <n>' not specified (or give --resume)");
  }
  buckets ??= [
    { width: opts.width, height: opts.height, frames: Math.max(1, Math.round(opts.seconds * fps)) },
  ];
  const total = count;
  const step = Math.max(1, Math.round(total / 10));
  const result = await exportDataset({
    count: total,
    dir: opts.output,
    seed,
    fps,
    buckets,
    mp4: { lossless },
    onClip: (_clip, done) => {
      if (done % step === 0 || done === total) {
        process.stderr.write(`${done}/${total} clips written\n`);
      }
    },
  });
  const shapes = [...new Set(result.clips.map((c) => bucketKey(c)))].join(", ");
  if (result.reused === total) {
    say(`${opts.output} already holds all ${total} clips (${shapes}, ${fps} fps); nothing to do`);
    return;
  }
  const kept = result.reused > 0 ? ` (${result.reused} kept from an earlier run)` : "";
  say(
    `wrote ${result.clips.length} clips${kept} (${shapes}, ${fps} fps) to ${opts.output}; index in index.json`,
  );
}
