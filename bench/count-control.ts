/**
 * Does the caption or the noise decide how many objects a clip shows? For each seed, the same
 * scene is asked for with one, two and three objects ("a red ball bounces", "two red balls
 * bounce", …) and the evaluator counts the objects it tracks in each clip. A model that reads its
 * caption follows the asked count; one that reads the noise shows about the same count for a
 * seed whatever the caption says. (bench/theme-control.ts asks the same of the background.)
 *
 *   npx tsx bench/count-control.ts --model <dir> [--model <dir> …] [--seeds 6] [--steps 30] [--guidance 2]
 *
 * Prints, per model and asked count: the mean count shown, how often it is exactly right, and how
 * many seeds show one count for all captions (the seed decides).
 */
import { evaluateVideo } from "../src/world/eval/evaluate.ts";
import { clipOf, controlOptions, loadModel } from "./control-common.ts";
import { cpuModel } from "./cpu-info.ts";

const PROMPTS: [number, string][] = [
  [1, "a red ball bounces on the grass"],
  [2, "two red balls bounce on the grass"],
  [3, "three red balls bounce on the grass"],
];

const options = controlOptions();
const { models, seeds, steps, guidance } = options;

/** The number of objects the evaluator tracked, as its adherence "object count" check says. */
function shownCount(report: ReturnType<typeof evaluateVideo>): number {
  const check = report.adherence?.checks.find((c) => c.what === "object count");
  if (!check) throw new Error("count-control: the evaluator made no object-count check");
  return Number(check.got);
}

const cpu = cpuModel();
console.log(
  `CPU: ${cpu.model} [${cpu.flags}]; ${seeds} seeds × ${PROMPTS.length} counts, ${steps} steps, guidance ${guidance}`,
);
const rows: string[] = [];
for (const dir of models) {
  const model = await loadModel(dir);
  const shown = PROMPTS.map(() => [] as number[]);
  let seedDecides = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const counts: number[] = [];
    for (const [k, [, prompt]] of PROMPTS.entries()) {
      const n = shownCount(evaluateVideo(await clipOf(model, prompt, seed, options), { prompt }));
      shown[k].push(n);
      counts.push(n);
    }
    if (new Set(counts).size === 1) seedDecides++;
    console.log(
      `${dir} seed ${seed}: ${PROMPTS.map(([a], i) => `${a} → ${counts[i]}`).join(", ")}`,
    );
  }
  const cells = PROMPTS.map(([asked], k) => {
    const mean = shown[k].reduce((s, x) => s + x, 0) / seeds;
    const exact = shown[k].filter((x) => x === asked).length;
    return `${mean.toFixed(2)}, ${exact}/${seeds} exact`;
  });
  rows.push(`| ${dir} | ${cells.join(" | ")} | ${seedDecides}/${seeds} |`);
}
console.log(
  `\n| model | ${PROMPTS.map(([a]) => `asked ${a}: mean shown, exact`).join(" | ")} | seeds with one count for all |`,
);
console.log(`| --- | ${PROMPTS.map(() => "---").join(" | ")} | --- |`);
for (const r of rows) console.log(r);
