/** What `zoetrope world render` and `zoetrope world dataset` do once their options parse. */
import { type Bucket, bucketKey } from "../data/buckets.ts";
import { exportDataset } from "../data/export-dataset.ts";
import { writeState } from "../data/state-file.ts";
import { assertWritableFolder } from "../media/atomic-file.ts";
import { writeMp4 } from "../media/write-mp4.ts";
import { expandPrompt } from "../world/expand.ts";
import { simulate } from "../world/simulate.ts";
import { say, warn } from "./report.ts";

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
  count: number;
  output: string;
  buckets?: Bucket[];
}

export async function renderAction(opts: RenderOptions): Promise<void> {
  // Check where the files go before spending time on the simulation.
  await assertWritableFolder(opts.output);
  if (opts.truth) await assertWritableFolder(opts.truth);
  const expanded = expandPrompt(opts.prompt, opts.seed);
  if (expanded.unknownWords.length > 0) {
    warn(
      `the world does not know these words and ignored them: ${expanded.unknownWords.join(", ")}`,
    );
  }
  const { video, truth } = simulate(expanded.scene, {
    width: opts.width,
    height: opts.height,
    fps: opts.fps,
    seconds: opts.seconds,
  });
  await writeMp4(video, opts.output, { lossless: opts.lossless });
  if (opts.truth) await writeState(opts.truth, opts.seed, truth);
  say(expanded.caption);
  say(
    `wrote ${opts.output}: ${video.width}×${video.height}, ${video.frames.length} frames at ${video.fps} fps` +
      (opts.truth ? `; ground truth in ${opts.truth}` : ""),
  );
}

export async function datasetAction(opts: DatasetOptions): Promise<void> {
  const buckets = opts.buckets ?? [
    {
      width: opts.width,
      height: opts.height,
      frames: Math.max(1, Math.round(opts.seconds * opts.fps)),
    },
  ];
  const step = Math.max(1, Math.round(opts.count / 10));
  const clips = await exportDataset({
    count: opts.count,
    dir: opts.output,
    seed: opts.seed,
    fps: opts.fps,
    buckets,
    mp4: { lossless: opts.lossless },
    onClip: (_clip, done) => {
      if (done % step === 0 || done === opts.count) {
        process.stderr.write(`${done}/${opts.count} clips written\n`);
      }
    },
  });
  const shapes = [...new Set(clips.map((c) => bucketKey(c)))].join(", ");
  say(
    `wrote ${clips.length} clips (${shapes}, ${opts.fps} fps) to ${opts.output}; index in index.json`,
  );
}
