/**
 * How much does one word of the caption change what the model does? For captions that differ in
 * one word, a colour ("red" → "blue") or a direction ("left" → "right"), it measures the relative
 * change of the text encoder's output (caption tokens and pooled vector) and of the transformer's
 * velocity on the same noisy latent at a few times, averaged over seeds. A word the model reads
 * moves the velocity; a word it ignores leaves it about where it was. Colour is the control: the
 * model gets colour right 0.9 of the time. For a model that reads the first frame's planned layout
 * (dit.startLayout), every caption gets the layout of a small red ball on the left, and two more
 * rows change the layout alone: the ball moved to the right, and no layout. Runs on the CPU
 * reference (the numbers do not depend on speed).
 *
 *   npx tsx bench/caption-sensitivity.ts [--model models/world-s] [--seeds 4]
 */
import { parseArgs } from "node:util";
import { DEFAULT_MODEL_DIR, loadModel } from "../src/cli/model-files.ts";
import { createDevice } from "../src/devices.ts";
import { SPATIAL_DOWN } from "../src/models/autoencoder.ts";
import { layoutChannelCount, layoutChannels } from "../src/models/layout-input.ts";
import { noGrad } from "../src/tensor/engine.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { startLayout } from "../src/world/start-layout.ts";
import { makeScene } from "../src/world/test-scenes.ts";
import { cpuModel } from "./cpu-info.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: DEFAULT_MODEL_DIR },
    seeds: { type: "string", default: "4" },
  },
});
const seeds = Number(values.seeds);
if (!Number.isInteger(seeds) || seeds < 1)
  throw new Error(`--seeds must be ≥ 1, got ${values.seeds}`);

const BASE = "A small red rubber ball rolls to the left on the grass. The camera stays still.";
const SWAPS: [string, string][] = [
  ["colour", BASE.replace("red", "blue")],
  ["direction", BASE.replace("left", "right")],
  ["size", BASE.replace("small", "large")],
  ["motion", BASE.replace("rolls to the left", "rests")],
];
const TIMES = [0.9, 0.6, 0.3];

const device = await createDevice({ kind: "cpu" });
const { t2v, ae } = await loadModel(device, values.model as string);
// One 2-second 64×64 clip's latent: [C, T, H, W].
const [c, t, h, w] = [ae.cfg.latentChannels, 9, 8, 8];
t2v.dit.grid(t, h, w);

const flat = async (x: Tensor) => Float64Array.from(await x.toArray());
const relChange = (a: Float64Array, b: Float64Array) => {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += a[i] ** 2;
  }
  return Math.sqrt(d / n);
};

async function features(caption: string) {
  return noGrad(() => t2v.text.forward(t2v.tokenize([caption])));
}
type Features = Awaited<ReturnType<typeof features>>;
// The planned first frame: a small red ball at rest on the ground, on the left or the right.
const laidOut = t2v.cfg.dit.startLayout === true;
const layoutAt = (x: number | null): Tensor | undefined => {
  if (!laidOut) return undefined;
  const objects = x === null ? [] : [{ x, y: 0.25, size: "small" as const }];
  const plan = objects.length
    ? startLayout(makeScene(objects), w * SPATIAL_DOWN, h * SPATIAL_DOWN, SPATIAL_DOWN)
    : null;
  const n = layoutChannelCount(t2v.cfg.dit);
  return device.tensor(layoutChannels([plan], t, h, w, t2v.cfg.dit), [1, n, t, h, w]);
};
const LEFT = layoutAt(-2.5);
async function velocity(
  cond: Features,
  x: Tensor,
  time: number,
  layout = LEFT,
): Promise<Float64Array> {
  const v = noGrad(() =>
    t2v.velocity({
      x,
      t: device.tensor([time], [1]),
      tokens: cond.tokens,
      pooled: cond.pooled,
      ...(layout ? { layout } : {}),
    }),
  );
  return flat(v);
}

// How far apart the words' input embeddings are: where they differ and the encoder's outputs do
// not, its layers erase the difference.
const table = await flat(t2v.text.embed.table);
const dim = t2v.cfg.text.dim;
const row = (word: string) => {
  const ids = t2v.tokenizer.encode(word, 3).ids;
  const id = ids[1];
  if (ids[2] !== 0) throw new Error(`caption-sensitivity: "${word}" is not one token`);
  return table.subarray(id * dim, (id + 1) * dim);
};
const norm = (v: Float64Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
const embeddingLine = ([a, b]: [string, string]) => {
  const ra = row(a);
  const rb = row(b);
  const d = norm(ra.map((x, i) => x - rb[i]));
  return `| "${a}" / "${b}" | ${norm(ra).toFixed(3)} / ${norm(rb).toFixed(3)} | ${d.toFixed(3)} |`;
};
const WORD_PAIRS: [string, string][] = [
  ["red", "blue"],
  ["small", "large"],
  ["left", "right"],
  ["rolls", "rests"],
  ["leftward", "rightward"],
];

const cpu = cpuModel();
console.log(`CPU: ${cpu.model}; model ${values.model}; ${seeds} seeds; times ${TIMES.join(", ")}`);
console.log(`base caption: ${BASE}`);
const base = await features(BASE);
const baseTokens = await flat(base.tokens);
const basePooled = await flat(base.pooled);
const rows: string[] = [];
// The base caption's velocity on each noisy latent, computed once for all the swaps.
const baseVelocity = new Map<string, Float64Array>();
const LAYOUT_SWAPS: [string, string, Tensor | undefined][] = laidOut
  ? [
      ["layout", "ball on the left → on the right", layoutAt(2.5)],
      ["layout", "ball on the left → no layout", layoutAt(null)],
    ]
  : [];
for (const [what, caption, layout] of [
  ...SWAPS.map(([a, b]): [string, string, Tensor | undefined] => [a, b, LEFT]),
  ...LAYOUT_SWAPS,
]) {
  const f = await features(what === "layout" ? BASE : caption);
  const tokens = relChange(baseTokens, await flat(f.tokens));
  const pooled = relChange(basePooled, await flat(f.pooled));
  const perTime: number[] = [];
  for (const time of TIMES) {
    let sum = 0;
    for (let s = 0; s < seeds; s++) {
      // x_t = (1 − t)·x0 + t·noise with x0 = 0 stands in for a latent on its way: the same for
      // both captions, so only the caption differs.
      const rng = new Rng(1000 + s);
      const noisy = Float32Array.from({ length: c * t * h * w }, () => time * rng.normal());
      const x = device.tensor(noisy, [1, c, t, h, w]);
      const key = `${time} ${s}`;
      const vb = baseVelocity.get(key) ?? (await velocity(base, x, time));
      baseVelocity.set(key, vb);
      sum += relChange(vb, await velocity(f, x, time, layout));
    }
    perTime.push(sum / seeds);
  }
  rows.push(
    `| ${what} | ${what === "layout" ? caption : diffWords(BASE, caption)} | ${tokens.toFixed(3)} | ${pooled.toFixed(3)} | ${perTime.map((v) => v.toFixed(4)).join(" | ")} |`,
  );
}
console.log(
  `\n| word changed | to | text tokens, rel. change | pooled | ${TIMES.map((x) => `velocity at t = ${x}`).join(" | ")} |`,
);
console.log(`| --- | --- | ---: | ---: | ${TIMES.map(() => "---:").join(" | ")} |`);
for (const r of rows) console.log(r);
console.log("\n| words | embedding norms | distance |\n| --- | ---: | ---: |");
for (const pair of WORD_PAIRS) console.log(embeddingLine(pair));

function diffWords(a: string, b: string): string {
  const aw = a.split(" ");
  const bw = b.split(" ");
  let i = 0;
  while (i < aw.length && aw[i] === bw[i]) i++;
  let j = 0;
  while (j < aw.length - i && aw[aw.length - 1 - j] === bw[bw.length - 1 - j]) j++;
  return `"${aw.slice(i, aw.length - j).join(" ")}" → "${bw.slice(i, bw.length - j).join(" ")}"`;
}
