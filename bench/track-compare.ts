/**
 * How far a model's objects are from where the world puts them, frame by frame. For each prompt
 * of the evaluation set (bench/eval-common.ts) that asks for one object, the world renders it and
 * each model generates it with the same seed, both through an ordinary MP4 encode; the
 * evaluator's tracker (objectsFromPixels) follows the object of the asked colour in each, and the
 * distance between the two tracks is measured in every frame both see it: across (centre x) and
 * down (the object's bottom, which is what a fall, a landing and a bounce move). The adherence
 * score only says whether a bounce or a fall was seen at all; this says how far off the path is:
 * a drop that stops in the air, a roll drawn as a jump.
 *
 *   npx tsx bench/track-compare.ts --model <dir> [--model <dir> …] [--prompts 100]
 *     [--seed-base 0] [--motion all|fall|move] [--steps 30] [--guidance 2] [--show | --show-x]
 *
 * --motion fall keeps the prompts whose object falls (bounces, falls, is dropped), move those
 * whose object moves at all (not resting); --show prints each prompt's per-frame rows (the
 * bottom of the object, or its centre x with --show-x). Prints, per model: the prompts where the
 * object was found, the mean distance down and across over the frames both saw (pixels, the
 * mean of the prompts' means), the same down from frame 4 on (after a typical landing), and the
 * share of the world's frames in which the generated object was seen; then each prompt's row.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generate, loadModel } from "../src/index.ts";
import type { Video } from "../src/media/video.ts";
import { DEFAULT_GUIDANCE } from "../src/models/sampling-defaults.ts";
import { cameraAt } from "../src/world/camera.ts";
import { objectsFromPixels } from "../src/world/eval/objects-from-pixels.ts";
import type { Track } from "../src/world/eval/track.ts";
import { expandPrompt } from "../src/world/expand.ts";
import { simulate } from "../src/world/simulate.ts";
import { cpuModel } from "./cpu-info.ts";
import { benchPrompts, roundTrip } from "./eval-common.ts";

const FPS = 8;
const FRAMES = 17;
/** From this frame on a drop of the world's heights (1.5–3 m) has mostly landed. */
const LATE = 4;

const { values } = parseArgs({
  options: {
    model: { type: "string", multiple: true },
    prompts: { type: "string", default: "100" },
    "seed-base": { type: "string", default: "0" },
    motion: { type: "string", default: "all" },
    steps: { type: "string", default: "30" },
    guidance: { type: "string", default: String(DEFAULT_GUIDANCE) },
    show: { type: "boolean", default: false },
    "show-x": { type: "boolean", default: false },
  },
});
const models = values.model ?? [];
if (models.length === 0) throw new Error("give at least one --model <dir>");
const n = Number(values.prompts);
const seedBase = Number(values["seed-base"]);
const steps = Number(values.steps);
const guidance = Number(values.guidance);
const motion = values.motion;
if (!Number.isInteger(n) || n < 1 || n > 1000)
  throw new Error(`--prompts must be 1 to 1000, got ${values.prompts}`);
if (!Number.isInteger(seedBase) || seedBase < 0)
  throw new Error(`--seed-base must be a whole number ≥ 0, got ${values["seed-base"]}`);
if (!Number.isInteger(steps) || steps < 1)
  throw new Error(`--steps must be ≥ 1, got ${values.steps}`);
if (!(guidance >= 0)) throw new Error(`--guidance must be ≥ 0, got ${values.guidance}`);
if (motion !== "all" && motion !== "fall" && motion !== "move")
  throw new Error(`--motion must be all, fall or move, got ${motion}`);
const show = values["show-x"] ? "x" : values.show ? "y" : null;

/** The prompts asking for one object, with the motion asked for (--motion). */
const chosen = benchPrompts(n)
  .map((prompt, i) => ({ prompt, i, seed: seedBase + i }))
  .filter(({ prompt, seed }) => {
    const { scene } = expandPrompt(prompt, seed);
    if (scene.objects.length !== 1) return false;
    const kind = scene.objects[0].motion;
    if (motion === "fall") return kind === "dropped";
    if (motion === "move") return kind !== "resting";
    return true;
  });

/** The longest track of the object's colour (the one the prompt asks for), or null. */
function trackOf(video: Video, ppm: number, color: string): Track | null {
  const tracks = objectsFromPixels(video, ppm).tracks.filter((t) => t.color === color);
  return tracks.sort((a, b) => b.obs.length - a.obs.length)[0] ?? null;
}

interface Compared {
  /** Mean |Δ bottom| and |Δ centre x| (px) over the frames both tracks saw; null if none. */
  down: number | null;
  across: number | null;
  /** Mean |Δ bottom| over those frames from LATE on. */
  downLate: number | null;
  /** Share of the world's frames in which the generated object was seen too. */
  seen: number;
  rows: { world: string; gen: string };
}

function compare(world: Track, gen: Track | null): Compared {
  const at = (t: Track | null, f: number) => t?.obs.find((o) => o.frame === f);
  const [down, across, late]: number[][] = [[], [], []];
  let both = 0;
  for (const w of world.obs) {
    const g = at(gen, w.frame);
    if (!g) continue;
    both++;
    down.push(Math.abs(g.bottom - w.bottom));
    across.push(Math.abs(g.cx - w.cx));
    if (w.frame >= LATE) late.push(Math.abs(g.bottom - w.bottom));
  }
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
  const row = (t: Track | null) =>
    Array.from({ length: FRAMES }, (_, f) => {
      const o = at(t, f);
      return o ? (show === "x" ? o.cx : o.bottom).toFixed(0).padStart(2) : " .";
    }).join(" ");
  return {
    down: mean(down),
    across: mean(across),
    downLate: mean(late),
    seen: both / world.obs.length,
    rows: { world: row(world), gen: row(gen) },
  };
}

const cpu = cpuModel();
console.log(
  `CPU: ${cpu.model} [${cpu.flags}]; ${chosen.length} one-object prompts (--motion ${motion}) of ${n}, seeds ${seedBase}+i, ${steps} steps, guidance ${guidance}`,
);
const loaded = [];
for (const dir of models) loaded.push({ dir, model: await loadModel(dir) });
const results = new Map<string, (Compared | null)[]>(models.map((m) => [m, []]));
const tmp = mkdtempSync(join(tmpdir(), "zoetrope-track-compare-"));
try {
  for (const { prompt, i, seed } of chosen) {
    const { scene } = expandPrompt(prompt, seed);
    const ppm = cameraAt(scene, 0, 64, 64).pixelsPerMetre;
    const color = scene.objects[0].color;
    const w = simulate(scene, { width: 64, height: 64, fps: FPS, seconds: FRAMES / FPS });
    const worldTrack = trackOf(await roundTrip(w.video, join(tmp, "world.mp4")), ppm, color);
    if (show) console.log(`#${i} ${prompt}`);
    for (const { dir, model } of loaded) {
      const g = await generate(prompt, {
        model,
        width: 64,
        height: 64,
        frames: FRAMES,
        fps: FPS,
        steps,
        guidance,
        seed,
      });
      const genTrack = trackOf(await roundTrip(g.video, join(tmp, "gen.mp4")), ppm, color);
      const c = worldTrack ? compare(worldTrack, genTrack) : null;
      results.get(dir)?.push(c);
      if (show && c) {
        if (dir === models[0]) console.log(`  world   ${c.rows.world}`);
        console.log(`  ${String(models.indexOf(dir)).padEnd(7)} ${c.rows.gen}`);
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const meanOf = (v: (number | null)[]) => {
  const k = v.filter((x): x is number => x !== null);
  return k.length ? (k.reduce((a, b) => a + b, 0) / k.length).toFixed(2) : "—";
};
console.log(
  "\n| model | object found / prompts | down (px) | across (px) | down from frame 4 (px) | frames seen |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
models.forEach((dir, k) => {
  const all = results.get(dir) ?? [];
  const judged = all.filter((c): c is Compared => c !== null);
  const found = judged.filter((c) => c.down !== null);
  console.log(
    `| ${k}: ${dir} | ${found.length} / ${judged.length} | ${meanOf(found.map((c) => c.down))} | ${meanOf(found.map((c) => c.across))} | ${meanOf(found.map((c) => c.downLate))} | ${meanOf(judged.map((c) => c.seen))} |`,
  );
});
if (models.length === 2) {
  // Paired over the prompts where both found the object: B − A per prompt.
  const [a, b] = models.map((m) => results.get(m) ?? []);
  const diffs = a
    .map((ca, j) => (ca?.down != null && b[j]?.down != null ? (b[j]?.down ?? 0) - ca.down : null))
    .filter((d): d is number => d !== null);
  const m = diffs.reduce((s, d) => s + d, 0) / diffs.length;
  const se = Math.sqrt(
    diffs.reduce((s, d) => s + (d - m) ** 2, 0) / (diffs.length - 1) / diffs.length,
  );
  console.log(
    `\npaired (1 − 0) down: ${m.toFixed(2)} ± ${se.toFixed(2)} px over ${diffs.length} prompts; 1 nearer in ${diffs.filter((d) => d < 0).length}, further in ${diffs.filter((d) => d > 0).length}`,
  );
}
