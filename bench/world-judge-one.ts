/**
 * Renders one clip from a prompt and seed, optionally corrupts it, and prints the evaluator's
 * summary: for looking into one row of bench/world-adversarial.ts.
 *
 *   node --import tsx bench/world-judge-one.ts "<prompt>" <seed> [width] [height] [corruption] [judged prompt]
 */
import { readVideo } from "../src/media/read-video.ts";
import type { Video } from "../src/media/video.ts";
import { writeMp4 } from "../src/media/write-mp4.ts";
import { TIME_AND_COLOUR_CORRUPTIONS } from "../src/world/eval/adversarial.ts";
import { deleteObjectMidClip } from "../src/world/eval/corrupt.ts";
import { evaluateVideo } from "../src/world/eval/evaluate.ts";
import { formatSummary } from "../src/world/eval/summary.ts";
import { expandPrompt } from "../src/world/expand.ts";
import { simulate } from "../src/world/simulate.ts";

const [prompt, seedText, w = "64", h = "64", kind = "none", judged] = process.argv.slice(2);
const seed = Number(seedText);
const { scene } = expandPrompt(prompt, seed);
const { video, truth } = simulate(scene, {
  width: Number(w),
  height: Number(h),
  fps: 24,
  seconds: 3,
});
let v: Video = video;
if (kind === "h264") {
  const file = `/tmp/zoetrope-judge-one-${process.pid}.mp4`;
  await writeMp4(video, file);
  v = await readVideo(file);
} else if (kind === "erased") {
  // As bench/world-adversarial.ts does: wholly visible, clear of the border, nearest mid-clip.
  let from = 0;
  let bestD = Number.POSITIVE_INFINITY;
  truth.frames.forEach((f, i) => {
    const o = f.objects[0];
    const [x0, y0, x1, y1] = o.bbox;
    const clear = x0 >= 4 && y0 >= 4 && x1 <= v.width - 4 && y1 <= v.height - 4;
    const d = Math.abs(i - truth.frames.length / 2);
    if (o.visible >= 0.99 && clear && d < bestD) {
      from = i;
      bestD = d;
    }
  });
  v = deleteObjectMidClip(video, scene.objects[0].color, from);
} else if (kind !== "none") {
  const f = TIME_AND_COLOUR_CORRUPTIONS[kind as keyof typeof TIME_AND_COLOUR_CORRUPTIONS];
  if (!f) throw new Error(`unknown corruption ${kind}`);
  v = f(video, seed);
}
console.log(
  JSON.stringify(
    scene.objects.map((o) => [o.shape, o.size, o.material, o.motion, o.x, o.y, o.vx, o.vy]),
  ),
  scene.camera,
  JSON.stringify(scene.occluders),
);
console.log(formatSummary(evaluateVideo(v, { prompt: judged ?? prompt })));
