/**
 * The adversarial suite, full size: N clips rendered from varied prompts are judged untouched
 * (raw frames and after an H.264 round trip) and after each corruption; prints, per kind and per
 * prompt type, how many untouched clips pass and how many corrupted ones are caught, and the
 * evaluator's median time per clip.
 *
 *   node --import tsx bench/world-adversarial.ts [clips=40] [evaluator module=src/world/eval/evaluate.ts] [first seed=5000]
 *
 * A second evaluator module (e.g. the previous version's evaluate.ts, extracted with
 * `git archive <commit> src | tar -x -C /tmp/old`) is judged by the rule it came with when it
 * has no verdict: a clip passes when adherence, physics and permanence all score ≥ 0.9, a
 * missing score counting as met.
 */
import { execSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { readVideo } from "../src/media/read-video.ts";
import type { Video } from "../src/media/video.ts";
import { writeMp4 } from "../src/media/write-mp4.ts";
import { sameClip, TIME_AND_COLOUR_CORRUPTIONS } from "../src/world/eval/adversarial.ts";
import { deleteObjectMidClip } from "../src/world/eval/corrupt.ts";
import { expandPrompt } from "../src/world/expand.ts";
import { simulate } from "../src/world/simulate.ts";

/** Prompt types and prompts; each names its objects' colours, so a wrong prompt is checkable. */
const PROMPTS: [string, string][] = [
  ["bounce", "a red ball bouncing on a sunny day"],
  ["bounce", "a blue ball bounces at night"],
  ["bounce", "a large orange ball bouncing underwater"],
  ["fall", "a green box falls at sunset"],
  ["fall", "a purple triangle dropped indoors"],
  ["throw", "a pink ball thrown to the right on a sunny day"],
  ["throw", "a white triangle tossed left at night"],
  ["slide/roll", "a yellow box slides to the left at night"],
  ["slide/roll", "a large brown ball rolling right indoors"],
  ["slide/roll", "a red box rolling left underwater"],
  ["two objects", "a blue ball bouncing and a yellow box sliding right"],
  ["two objects", "a green ball thrown left and a pink ball dropped at sunset"],
  ["camera", "a white ball rolling right while the camera pans left"],
  ["camera", "a red ball bouncing indoors while the camera zooms in"],
  ["camera", "an orange box sliding left at night, camera pans right"],
];
const SIZES: [number, number][] = [
  [64, 64],
  [96, 64],
  [128, 128],
];
const FPS = 24;
const SECONDS = 3;

type Judge = (video: Video, prompt: string) => { pass: boolean; ms: number };

async function loadJudge(path: string): Promise<Judge> {
  const mod = await import(pathToFileURL(resolve(path)).href);
  return (video, prompt) => {
    const t0 = performance.now();
    const r = mod.evaluateVideo(video, { prompt });
    const ms = performance.now() - t0;
    if (r.verdict) return { pass: r.verdict.pass, ms };
    const ok = (v: number | null) => (v ?? 1) >= 0.9;
    return { pass: ok(r.scores.adherence) && ok(r.scores.physics) && ok(r.scores.permanence), ms };
  };
}

/** The frame nearest the middle in which an object is wholly visible, ≥ 4 px from the border. */
function openFrame(
  states: { visible: number; bbox: [number, number, number, number] }[],
  width: number,
  height: number,
): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  states.forEach((s, f) => {
    const [x0, y0, x1, y1] = s.bbox;
    const clear = x0 >= 4 && y0 >= 4 && x1 <= width - 4 && y1 <= height - 4;
    const d = Math.abs(f - states.length / 2);
    if (s.visible >= 0.99 && clear && d < bestD) {
      best = f;
      bestD = d;
    }
  });
  return best;
}

const count = Number(process.argv[2] ?? 40);
if (!Number.isInteger(count) || count < 1) throw new Error(`clips must be a whole number ≥ 1`);
const evaluator = process.argv[3] ?? "src/world/eval/evaluate.ts";
const judge = await loadJudge(evaluator);
const firstSeed = Number(process.argv[4] ?? 5000);
if (!Number.isInteger(firstSeed)) throw new Error(`first seed must be a whole number`);

interface Cell {
  ok: number;
  of: number;
  same: number;
}
const table = new Map<string, Map<string, Cell>>();
const cell = (kind: string, type: string) => {
  let row = table.get(kind);
  if (!row) table.set(kind, (row = new Map()));
  let c = row.get(type);
  if (!c) row.set(type, (c = { ok: 0, of: 0, same: 0 }));
  return c;
};
/** The same rates by frame size. */
const bySize = new Map<string, Map<string, Cell>>();
const sizeCell = (kind: string, size: string) => {
  let row = bySize.get(kind);
  if (!row) bySize.set(kind, (row = new Map()));
  let c = row.get(size);
  if (!c) row.set(size, (c = { ok: 0, of: 0, same: 0 }));
  return c;
};
const times: number[] = [];
const misses: string[] = [];

const dir = mkdtempSync(join(tmpdir(), "zoetrope-adversarial-"));
try {
  for (let i = 0; i < count; i++) {
    const [type, prompt] = PROMPTS[i % PROMPTS.length];
    const [width, height] = SIZES[(i + Math.floor(i / PROMPTS.length)) % SIZES.length];
    const seed = firstSeed + i;
    const { scene } = expandPrompt(prompt, seed);
    const { video, truth } = simulate(scene, { width, height, fps: FPS, seconds: SECONDS });
    const file = join(dir, `clip-${i}.mp4`);
    await writeMp4(video, file);
    const decoded = await readVideo(file);
    const tag = `clip ${i} "${prompt}" seed ${seed} ${width}×${height}`;

    const untouched = (kind: string, v: Video) => {
      const r = judge(v, prompt);
      times.push(r.ms);
      const c = cell(kind, type);
      c.of++;
      c.ok += +r.pass;
      const z = sizeCell(kind, `${width}×${height}`);
      z.of++;
      z.ok += +r.pass;
      if (!r.pass) misses.push(`${kind}: ${tag} failed`);
    };
    untouched("untouched (raw)", video);
    untouched("untouched (H.264)", decoded);

    const caught = (kind: string, v: Video, p = prompt) => {
      const c = cell(kind, type);
      // A corruption that changed nothing (a still clip frozen or reversed) cannot be caught.
      if (p === prompt && sameClip(v, video)) {
        c.same++;
        return;
      }
      const r = judge(v, p);
      c.of++;
      c.ok += +!r.pass;
      const z = sizeCell(kind, `${width}×${height}`);
      z.of++;
      z.ok += +!r.pass;
      if (r.pass) misses.push(`${kind}: ${tag} passed`);
    };
    for (const [kind, corrupt] of Object.entries(TIME_AND_COLOUR_CORRUPTIONS)) {
      caught(kind, corrupt(video, seed));
    }
    // Erased in the open: from the frame nearest mid-clip in which it is wholly in view and a
    // few pixels clear of the frame's border (so it cannot be taken for leaving the view).
    const from = openFrame(
      truth.frames.map((f) => f.objects[0]),
      width,
      height,
    );
    caught("object erased mid-clip", deleteObjectMidClip(video, scene.objects[0].color, from));
    // Another prompt type's prompt: its colours, shapes or motions differ from this clip's.
    const other = PROMPTS[(i + 7) % PROMPTS.length][1];
    caught("wrong prompt", video, other);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const types = [...new Set(PROMPTS.map(([t]) => t))];
const cpu = execSync("lscpu | grep 'Model name' | head -1").toString().trim().replace(/\s+/g, " ");
times.sort((a, b) => a - b);
console.log(
  `${count} clips (seeds ${firstSeed}–${firstSeed + count - 1}; ${SIZES.map(([w, h]) => `${w}×${h}`).join(", ")}; ${FPS} fps, ${SECONDS} s); evaluator ${evaluator}; ${cpu}`,
);
console.log(
  `evaluator time per untouched clip: median ${times[times.length >> 1].toFixed(0)} ms (${times.length} evaluations)`,
);
const pct = (c: Cell | undefined) =>
  c && c.of > 0 ? `${((100 * c.ok) / c.of).toFixed(0)}% (${c.ok}/${c.of})` : "—";
console.log(`| kind | rate | ${types.join(" | ")} | unchanged by it |`);
console.log(`| --- | --- | ${types.map(() => "---").join(" | ")} | --- |`);
for (const [kind, row] of table) {
  const all = { ok: 0, of: 0, same: 0 };
  for (const c of row.values()) {
    all.ok += c.ok;
    all.of += c.of;
    all.same += c.same;
  }
  const what = kind.startsWith("untouched") ? "pass" : "caught";
  console.log(
    `| ${kind} | ${what} ${pct(all)} | ${types.map((t) => pct(row.get(t))).join(" | ")} | ${all.same} |`,
  );
}
const sizes = SIZES.map(([w, h]) => `${w}×${h}`);
console.log(`\n| kind | ${sizes.join(" | ")} |`);
console.log(`| --- | ${sizes.map(() => "---").join(" | ")} |`);
for (const [kind, row] of bySize) {
  console.log(`| ${kind} | ${sizes.map((z) => pct(row.get(z))).join(" | ")} |`);
}
if (process.env.SHOW_MISSES) for (const m of misses) console.log(m);
