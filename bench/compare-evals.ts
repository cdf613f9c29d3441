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
 *
 * Then the count misses of each run: clips with too many and too few objects, the too many split
 * by whether every object asked for rests; and, where the file records the tracked objects
 * (model-eval.ts since session 19), the extra objects: in a colour the prompt asks for (a copy)
 * or not, and how many of the copies are there from the first frame. Last, the objects the
 * prompts ask to bounce and how many of them each run drew without a bounce.
 */
import { readFileSync } from "node:fs";
import { parsePrompt } from "../src/world/prompt.ts";

interface Scores {
  adherence: number | null;
  parts: Record<string, number | null>;
  physics: number | null;
  permanence: number | null;
  missed?: string[];
  /** [colour, shape, size px, first frame, last frame, frames seen, motion] per tracked object. */
  objects?: (string | number | null)[][];
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

/** Too many / too few objects, and what the extra objects were, over one run's clips. */
function countMisses(file: EvalFile) {
  const tally = { many: 0, manyResting: 0, few: 0, copies: 0, copiesFromStart: 0, others: 0 };
  let recorded = true;
  for (const row of file.rows) {
    const g = row.generated;
    const miss = g?.missed?.find((m) => m.startsWith("object count:"));
    const counts = miss && /wanted (\d+), got (\d+)/.exec(miss);
    if (!g || !counts) continue;
    const [wanted, got] = [Number(counts[1]), Number(counts[2])];
    if (got < wanted) {
      tally.few++;
      continue;
    }
    const asked = parsePrompt(row.prompt).constraints.objects;
    tally.many++;
    if (asked.length > 0 && asked.every((o) => o.motion === "resting")) tally.manyResting++;
    if (!g.objects) {
      recorded = false;
      continue;
    }
    // Per colour asked, the tracks beyond the number asked in it (the least seen) are copies.
    const byColour = new Map<string, number>();
    for (const o of asked) if (o.color) byColour.set(o.color, (byColour.get(o.color) ?? 0) + 1);
    for (const [colour, n] of byColour) {
      const tracks = g.objects
        .filter((o) => o[0] === colour)
        .sort((x, y) => Number(y[5]) - Number(x[5]));
      for (const extra of tracks.slice(n)) {
        tally.copies++;
        if (extra[3] === 0) tally.copiesFromStart++;
      }
    }
    tally.others += g.objects.filter((o) => !byColour.has(String(o[0]))).length;
  }
  return { ...tally, recorded };
}

console.log(
  "\ncount misses     clips: too many (all resting) / too few   extra objects: copies (from frame 0) / other colours",
);
for (const [name, file] of [
  ["A", a],
  ["B", b],
] as const) {
  const t = countMisses(file);
  const extras = t.recorded
    ? `${t.copies} (${t.copiesFromStart}) / ${t.others}`
    : "not recorded (a model-eval.json from before session 19)";
  console.log(
    `${name.padEnd(16)} ${String(t.many).padStart(3)} (${t.manyResting}) / ${t.few}`.padEnd(58) +
      extras,
  );
}

/** Objects asked to bounce (the prompts' words), and those of them this run drew without one. */
function bounceMisses(file: EvalFile) {
  let asked = 0;
  let missed = 0;
  for (const row of file.rows) {
    asked += parsePrompt(row.prompt).constraints.objects.filter((o) => o.bounces).length;
    missed += row.generated?.missed?.filter((m) => /^object \d+ bounce:/.test(m)).length ?? 0;
  }
  return { asked, missed };
}

const [bounceA, bounceB] = [bounceMisses(a), bounceMisses(b)];
console.log(
  `\nbounces          objects asked to bounce: ${bounceA.asked}; drawn without one: A ${bounceA.missed}, B ${bounceB.missed}`,
);
