/**
 * Does the caption or the noise decide which way an object moves? For each seed, the same scene
 * is asked for moving left and moving right ("a red ball rolls to the left", "… to the right",
 * and the same for a tossed box), and the evaluator reads the direction of the object it pairs
 * with the prompt's. A model that reads its caption follows the asked direction; one that does
 * not moves the object the same way for a seed whatever the caption says, or the same way for
 * every seed. (bench/count-control.ts asks the same of the number of objects.)
 *
 *   npx tsx bench/direction-control.ts --model <dir> [--model <dir> …] [--seeds 6] [--steps 30] [--guidance 2]
 *
 * Prints, per model and asked direction: how often the object moved left, right, not sideways
 * ("none") or was not found ("nothing"), and how many seed and motion pairs moved the same way
 * for both captions.
 */
import { evaluateVideo } from "../src/world/eval/evaluate.ts";
import { clipOf, controlOptions, loadModel } from "./control-common.ts";
import { cpuModel } from "./cpu-info.ts";

const MOTIONS: ((side: string) => string)[] = [
  (side) => `a red ball rolls to the ${side} on the grass`,
  (side) => `a blue box is tossed to the ${side} on the grass`,
];
const SIDES = ["left", "right"] as const;
const OUTCOMES = ["left", "right", "none", "nothing"] as const;

const options = controlOptions();
const { models, seeds, steps, guidance } = options;

/** The direction the evaluator saw for the prompt's object (its adherence check's "got"). */
function shownDirection(report: ReturnType<typeof evaluateVideo>): string {
  const check = report.adherence?.checks.find((c) => c.what === "object 1 direction");
  if (!check) throw new Error("direction-control: the evaluator made no direction check");
  return check.unjudged ? "none" : String(check.got);
}

const cpu = cpuModel();
console.log(
  `CPU: ${cpu.model} [${cpu.flags}]; ${seeds} seeds × ${MOTIONS.length} motions × 2 directions, ${steps} steps, guidance ${guidance}`,
);
const rows: string[] = [];
for (const dir of models) {
  const model = await loadModel(dir);
  const shown = { left: [] as string[], right: [] as string[] };
  let sameBoth = 0;
  for (let seed = 0; seed < seeds; seed++)
    for (const motion of MOTIONS) {
      const got: string[] = [];
      for (const side of SIDES) {
        const prompt = motion(side);
        const d = shownDirection(
          evaluateVideo(await clipOf(model, prompt, seed, options), { prompt }),
        );
        shown[side].push(d);
        got.push(d);
      }
      if (got[0] === got[1] && (got[0] === "left" || got[0] === "right")) sameBoth++;
      console.log(`${dir} seed ${seed} "${motion("…")}": left → ${got[0]}, right → ${got[1]}`);
    }
  const cells = SIDES.map((side) => {
    const n = shown[side].length;
    const right = shown[side].filter((d) => d === side).length;
    const tally = OUTCOMES.map((o) => `${o} ${shown[side].filter((d) => d === o).length}`);
    return `${right}/${n} (${tally.join(", ")})`;
  });
  rows.push(`| ${dir} | ${cells.join(" | ")} | ${sameBoth}/${seeds * MOTIONS.length} |`);
}
console.log(
  `\n| model | asked left: as asked (shown) | asked right: as asked (shown) | pairs moving the same way for both |`,
);
console.log("| --- | --- | --- | --- |");
for (const r of rows) console.log(r);
