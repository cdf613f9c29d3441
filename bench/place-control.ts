/**
 * Does the caption or the noise decide where an object starts? For each seed, one scene is asked
 * for with the object on the left, in the middle and on the right ("a red ball on the left rests
 * on the ground", …); the evaluator finds where the tracked object is in the first frame (the
 * left, middle or right third of the arena, src/world/place.ts). A model that reads its caption
 * follows the place asked for; one that reads the noise puts a seed's object in one place
 * whatever the caption says. Also printed: the objects shown (one is asked for each time).
 *
 *   npx tsx bench/place-control.ts --model <dir> [--model <dir> …] [--seeds 6] [--steps 30] [--guidance 2]
 */
import { evaluateVideo } from "../src/world/eval/evaluate.ts";
import { PLACES, type Place } from "../src/world/place.ts";
import { clipOf, controlOptions, loadModel } from "./control-common.ts";
import { cpuModel } from "./cpu-info.ts";

const PROMPTS: [Place, string][] = [
  ["left", "a red ball on the left rests on the ground"],
  ["middle", "a red ball in the middle rests on the ground"],
  ["right", "a red ball on the right rests on the ground"],
];

const options = controlOptions();
const { models, seeds, steps, guidance } = options;

/** Where the object named first starts, and how many objects the evaluator tracked. */
function judged(report: ReturnType<typeof evaluateVideo>): { place: string; count: number } {
  const checks = report.adherence?.checks ?? [];
  const place = checks.find((c) => c.what === "object 1 place");
  const count = checks.find((c) => c.what === "object count");
  if (!place || !count)
    throw new Error("place-control: the evaluator made no place or count check");
  return { place: place.got, count: Number(count.got) };
}

const cpu = cpuModel();
console.log(
  `CPU: ${cpu.model} [${cpu.flags}]; ${seeds} seeds × ${PLACES.length} places, ${steps} steps, guidance ${guidance}`,
);
const rows: string[] = [];
for (const dir of models) {
  const model = await loadModel(dir);
  const right = PROMPTS.map(() => 0);
  const counts = PROMPTS.map(() => 0);
  let seedDecides = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const got: string[] = [];
    for (const [k, [asked, prompt]] of PROMPTS.entries()) {
      const j = judged(evaluateVideo(await clipOf(model, prompt, seed, options), { prompt }));
      got.push(j.place);
      counts[k] += j.count;
      if (j.place === asked) right[k]++;
    }
    if (new Set(got).size === 1) seedDecides++;
    console.log(`${dir} seed ${seed}: ${PROMPTS.map(([a], i) => `${a} → ${got[i]}`).join(", ")}`);
  }
  const cells = PROMPTS.map((_, k) => `${right[k]}/${seeds}, ${(counts[k] / seeds).toFixed(2)}`);
  rows.push(`| ${dir} | ${cells.join(" | ")} | ${seedDecides}/${seeds} |`);
}
console.log(
  `\n| model | ${PROMPTS.map(([a]) => `asked ${a}: right, objects shown`).join(" | ")} | seeds with one place for all |`,
);
console.log(`| --- | ${PROMPTS.map(() => "---").join(" | ")} | --- |`);
for (const r of rows) console.log(r);
