/**
 * Evaluator time per clip, two evaluator versions side by side in one run: each clip is judged
 * by both in turn (after a warm-up), several times, and the medians are compared, so that the
 * machine's noise falls on both alike.
 *
 *   node --import tsx bench/world-eval-time.ts <baseline evaluate.ts> [clips=24] [repeats=3]
 *
 * The baseline is another copy of src/world/eval/evaluate.ts, e.g. the previous version:
 *   mkdir /tmp/old && git archive <commit> src | tar -x -C /tmp/old && ln -s $PWD/node_modules /tmp/old/
 */
import { execSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { readVideo } from "../src/media/read-video.ts";
import type { Video } from "../src/media/video.ts";
import { writeMp4 } from "../src/media/write-mp4.ts";
import { expandPrompt } from "../src/world/expand.ts";
import { simulate } from "../src/world/simulate.ts";

const PROMPTS = [
  "a red ball bouncing on a sunny day",
  "a green box falls at sunset behind a pillar",
  "a white triangle tossed left at night",
  "a yellow box slides to the left at night",
  "a blue ball bouncing and a yellow box sliding right",
  "three objects in front of a wall",
];
const SIZES: [number, number][] = [
  [64, 64],
  [96, 64],
  [128, 128],
];

const [baselinePath, clipsText = "24", repeatsText = "3"] = process.argv.slice(2);
if (!baselinePath)
  throw new Error("usage: world-eval-time.ts <baseline evaluate.ts> [clips] [repeats]");
const clips = Number(clipsText);
const repeats = Number(repeatsText);
type Evaluate = (v: Video, o: { prompt: string }) => unknown;
const load = async (p: string): Promise<Evaluate> =>
  (await import(pathToFileURL(resolve(p)).href)).evaluateVideo;
const versions: [string, Evaluate][] = [
  [`baseline (${baselinePath})`, await load(baselinePath)],
  ["current (src/world/eval/evaluate.ts)", await load("src/world/eval/evaluate.ts")],
];

const dir = mkdtempSync(join(tmpdir(), "zoetrope-eval-time-"));
const cases: { video: Video; prompt: string; kind: "raw" | "H.264" }[] = [];
try {
  for (let i = 0; i < clips; i++) {
    const prompt = PROMPTS[i % PROMPTS.length];
    const [width, height] = SIZES[i % SIZES.length];
    const { scene } = expandPrompt(prompt, 6000 + i);
    const { video } = simulate(scene, { width, height, fps: 24, seconds: 3 });
    const file = join(dir, `clip-${i}.mp4`);
    await writeMp4(video, file);
    cases.push(
      { video, prompt, kind: "raw" },
      { video: await readVideo(file), prompt, kind: "H.264" },
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Warm-up: each version judges a few clips before anything is timed.
for (const [, evaluate] of versions) for (const c of cases.slice(0, 4)) evaluate(c.video, c);
const times = versions.map(() => ({ raw: [] as number[], "H.264": [] as number[] }));
for (let r = 0; r < repeats; r++) {
  for (const c of cases) {
    versions.forEach(([, evaluate], k) => {
      const t0 = performance.now();
      evaluate(c.video, c);
      times[k][c.kind].push(performance.now() - t0);
    });
  }
}
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
};
const cpu = execSync("lscpu | grep 'Model name' | head -1").toString().trim().replace(/\s+/g, " ");
console.log(
  `${clips} clips (seeds 6000–${5999 + clips}; ${SIZES.map(([w, h]) => `${w}×${h}`).join(", ")}; 24 fps, 3 s), ${repeats} timed passes; ${cpu}`,
);
console.log("| evaluator | raw ms / clip (median) | H.264 ms / clip (median) |");
console.log("| --- | --- | --- |");
versions.forEach(([name], k) => {
  console.log(
    `| ${name} | ${median(times[k].raw).toFixed(0)} | ${median(times[k]["H.264"]).toFixed(0)} |`,
  );
});
