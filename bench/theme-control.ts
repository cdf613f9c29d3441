/**
 * Does the caption or the noise decide the background? For each seed, the same prompt is
 * generated once per theme ("a red ball bounces at night", "… underwater", …) and the evaluator
 * guesses each clip's theme. A model that reads its caption gets the asked theme; a model that
 * reads the noise gets the same theme for a seed whatever the caption says. With `--steps 1` the
 * clip is the model's first prediction of the clean video from pure noise (x̂₀ at t = 1), which
 * is where the layout should come from the caption alone.
 *
 *   npx tsx bench/theme-control.ts --model <dir> [--model <dir> …] [--seeds 6] [--steps 30] [--guidance 2]
 *
 * Prints, per model: how often the guessed theme is the asked one (chance is 1 in 5), and how
 * often a seed's clips all get one theme whatever the caption (the seed decides).
 */
import { evaluateVideo } from "../src/world/eval/evaluate.ts";
import { parsePrompt } from "../src/world/prompt.ts";
import { clipOf, controlOptions, loadModel } from "./control-common.ts";
import { cpuModel } from "./cpu-info.ts";

const THEME_PHRASES = ["at night", "underwater", "at sunset", "on a sunny day", "indoors"];
const SUBJECT = "a red ball bounces";

const options = controlOptions();
const { models, seeds, steps, guidance } = options;

const cpu = cpuModel();
console.log(
  `CPU: ${cpu.model} [${cpu.flags}]; ${seeds} seeds × ${THEME_PHRASES.length} themes, ${steps} steps, guidance ${guidance}`,
);
const rows: string[] = [];
for (const dir of models) {
  const model = await loadModel(dir);
  let right = 0;
  let total = 0;
  let seedDecides = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const guesses: string[] = [];
    for (const phrase of THEME_PHRASES) {
      const prompt = `${SUBJECT} ${phrase}`;
      const asked = parsePrompt(prompt).constraints.theme;
      const guess = evaluateVideo(await clipOf(model, prompt, seed, options), { prompt }).theme
        .guess;
      guesses.push(guess);
      if (guess === asked) right++;
      total++;
    }
    if (new Set(guesses).size === 1) seedDecides++;
    console.log(
      `${dir} seed ${seed}: ${THEME_PHRASES.map((p, i) => `${p} → ${guesses[i]}`).join(", ")}`,
    );
  }
  rows.push(
    `| ${dir} | ${model.name} | ${((100 * right) / total).toFixed(0)}% (${right}/${total}) | ${seedDecides}/${seeds} |`,
  );
}
console.log("\n| model | config | theme as asked | seeds whose clips share one theme |");
console.log("| --- | --- | --- | --- |");
for (const r of rows) console.log(r);
