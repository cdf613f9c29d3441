/**
 * How well the evaluator reads the world's own clips, raw and after an ordinary H.264 encode
 * (writeMp4 → readVideo), side by side in one run, and how long an evaluation takes.
 * A clip "passes" when the evaluator's verdict says so (every measured score ≥ 0.9, and adherence,
 * physics and permanence measured); each score column counts clips where it is measured and ≥ 0.9.
 *
 *   node --import tsx bench/world-eval.ts [clips=60]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readVideo } from "../src/media/read-video.ts";
import { writeMp4 } from "../src/media/write-mp4.ts";
import { type EvalReport, evaluateVideo } from "../src/world/eval/evaluate.ts";
import { expandPrompt } from "../src/world/expand.ts";
import { simulate } from "../src/world/simulate.ts";

// Prompts and seeds never used while tuning the evaluator (a held-out set).
const PROMPTS = [
  "a red ball bouncing at night",
  "a blue triangle thrown left on a sunny day",
  "two balls underwater behind a pillar",
  "a green box dropped at sunset in front of a wall",
  "a yellow ball rolling right indoors behind a crate",
  "three objects at night in front of a pillar",
  "an orange ball and a pink box underwater",
  "a purple triangle resting on a sunny day behind a wall",
  "a white box thrown right at night",
  "a brown ball bouncing underwater in front of a crate",
  "a black triangle and a red box at sunset",
  "objects underwater while the camera zooms in",
  "two objects on a sunny day behind a pillar",
  "a pink ball dropped at night behind a wall",
  "objects",
];
const SIZES: [number, number][] = [
  [64, 64],
  [96, 64],
  [64, 96],
  [128, 72],
];

interface Tally {
  adherence: number;
  physics: number;
  permanence: number;
  all: number;
  ms: number;
}

const empty = (): Tally => ({ adherence: 0, physics: 0, permanence: 0, all: 0, ms: 0 });

function score(t: Tally, r: EvalReport, ms: number): void {
  // A missing score is no pass (issue 11); "all" is the evaluator's own verdict.
  const ok = (v: number | null) => v !== null && v >= 0.9;
  const a = ok(r.scores.adherence);
  const p = ok(r.scores.physics);
  const q = ok(r.scores.permanence);
  t.adherence += +a;
  t.physics += +p;
  t.permanence += +q;
  t.all += +r.verdict.pass;
  t.ms += ms;
}

const count = Number(process.argv[2] ?? 60);
const dir = mkdtempSync(join(tmpdir(), "zoetrope-eval-bench-"));
const raw = empty();
const mp4 = empty();
let sameCount = 0;
try {
  for (let i = 0; i < count; i++) {
    const prompt = PROMPTS[i % PROMPTS.length];
    const [width, height] = SIZES[(i + Math.floor(i / PROMPTS.length)) % SIZES.length];
    const { scene } = expandPrompt(prompt, 900 + i);
    const { video } = simulate(scene, { width, height, fps: 24, seconds: 3 });
    const file = join(dir, `clip-${i}.mp4`);
    await writeMp4(video, file);
    const decoded = await readVideo(file);
    let t0 = performance.now();
    const r = evaluateVideo(video, { prompt });
    score(raw, r, performance.now() - t0);
    t0 = performance.now();
    const m = evaluateVideo(decoded, { prompt });
    score(mp4, m, performance.now() - t0);
    sameCount += +(r.objects.length === m.objects.length);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const row = (name: string, t: Tally) =>
  `${name.padEnd(22)}${String(t.adherence).padStart(10)}${String(t.physics).padStart(9)}${String(t.permanence).padStart(12)}${String(t.all).padStart(10)}${(t.ms / count).toFixed(0).padStart(12)}`;
console.log(`${count} clips (seeds 900–${899 + count}; 64×64, 96×64, 64×96, 128×72; 24 fps, 3 s)`);
console.log(
  `${"frames".padEnd(22)}${"adherence".padStart(10)}${"physics".padStart(9)}${"permanence".padStart(12)}${"all ≥0.9".padStart(10)}${"ms / eval".padStart(12)}`,
);
console.log(row("raw (baseline)", raw));
console.log(row("H.264 (writeMp4 crf 12)", mp4));
console.log(`object count after encoding equals the raw count: ${sameCount}/${count}`);
