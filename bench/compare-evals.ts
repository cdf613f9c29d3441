/**
 * Two model-eval runs of the same prompts and seeds compared prompt by prompt (a paired
 * comparison): for adherence and each of its parts, the mean of B − A over the prompts both
 * judged, its standard error, and how many prompts B scored higher, lower or the same. One run's
 * mean moves by about ±0.02 from seed to seed, so two 100-prompt means alone hide differences of
 * that size; pairing removes the variation between prompts, which is most of it.
 *
 *   npx tsx bench/compare-evals.ts <A>/model-eval.json <B>/model-eval.json
 *
 * Both files come from `bench/model-eval.ts --out <dir>` with the same --prompts, --seed-base,
 * --steps, --guidance and --method (checked: otherwise the pairs would not be pairs).
 */
import { readFileSync } from "node:fs";

interface Scores {
  adherence: number | null;
  parts: Record<string, number | null>;
  physics: number | null;
  permanence: number | null;
}
interface EvalFile {
  run: Record<string, unknown>;
  rows: { i: number; seed: number; prompt: string; generated?: Scores }[];
}

const [fileA, fileB] = process.argv.slice(2);
if (!fileA || !fileB)
  throw new Error("usage: bench/compare-evals.ts <A>/model-eval.json <B>/model-eval.json");

function load(file: string): EvalFile {
  let parsed: EvalFile;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as EvalFile;
  } catch (e) {
    throw new Error(`${file}: not a readable model-eval.json (${(e as Error).message})`);
  }
  if (!parsed.run || !Array.isArray(parsed.rows))
    throw new Error(`${file}: has no run and rows; is it bench/model-eval.ts --out's file?`);
  return parsed;
}
const a = load(fileA);
const b = load(fileB);
for (const key of ["prompts", "seedBase", "steps", "guidance", "method", "size", "frames"]) {
  if (JSON.stringify(a.run[key]) !== JSON.stringify(b.run[key]))
    throw new Error(
      `the runs differ in ${key} (${JSON.stringify(a.run[key])} vs ${JSON.stringify(b.run[key])}): not paired`,
    );
}
const byIndex = new Map(b.rows.map((r) => [r.i, r]));

type Pick = (s: Scores) => number | null;
const metrics: [string, Pick][] = [
  ["adherence", (s) => s.adherence],
  ...["color", "shape", "count", "motion", "direction"].map(
    (p) => [`  ${p}`, (s: Scores) => s.parts[p] ?? null] as [string, Pick],
  ),
  ["physics", (s) => s.physics],
  ["permanence", (s) => s.permanence],
];

console.log(`A: ${a.run.modelDir} (${fileA})`);
console.log(`B: ${b.run.modelDir} (${fileB})`);
console.log(`${a.run.prompts} prompts, seed base ${a.run.seedBase}, ${a.run.steps} steps\n`);
console.log("metric           n   mean A   mean B    B − A   ± s.e.   B higher / lower / same");
for (const [name, pick] of metrics) {
  const diffs: number[] = [];
  let sa = 0;
  let sb = 0;
  for (const ra of a.rows) {
    const rb = byIndex.get(ra.i);
    if (!rb || rb.prompt !== ra.prompt || rb.seed !== ra.seed || !ra.generated || !rb.generated)
      continue;
    const va = pick(ra.generated);
    const vb = pick(rb.generated);
    if (va === null || vb === null) continue;
    diffs.push(vb - va);
    sa += va;
    sb += vb;
  }
  const n = diffs.length;
  if (n === 0) {
    console.log(`${name.padEnd(14)} ${"0".padStart(3)}   (judged in neither)`);
    continue;
  }
  const mean = diffs.reduce((s, d) => s + d, 0) / n;
  const variance = n > 1 ? diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1) : 0;
  const se = Math.sqrt(variance / n);
  const up = diffs.filter((d) => d > 1e-9).length;
  const down = diffs.filter((d) => d < -1e-9).length;
  const f = (v: number) => v.toFixed(3).padStart(7);
  const sign = (v: number) => (v >= 0 ? "+" : "") + v.toFixed(3);
  console.log(
    `${name.padEnd(14)} ${String(n).padStart(3)}  ${f(sa / n)}  ${f(sb / n)}  ${sign(mean).padStart(7)}  ${se.toFixed(3).padStart(7)}   ${up} / ${down} / ${n - up - down}`,
  );
}
