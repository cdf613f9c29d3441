/**
 * Blends two text-to-video weight files trained from the same start (a fine-tuned arm and the
 * weights it started from): every parameter of `a` becomes (1 − w)·a + w·b. Weight-space
 * interpolation between a model and its fine-tuned version (WiSE-FT, Wortsman et al. 2022;
 * model soups) often keeps what each does well. The result has `a`'s config; parameters only `b`
 * has (a training-only head) are left out, and a parameter of `a` that `b` lacks or shapes
 * differently is an error. Written in f16 in shards under 16 MiB, as the bundled model ships.
 *
 *   npx tsx tools/blend-weights.ts models/world-s/text-to-video.safetensors \
 *     <arm>/text-to-video.safetensors 0.5 <dir>/text-to-video.safetensors ["what a and b are"]
 *
 * The metadata's `blend` says what was blended (the optional last argument names the two, for
 * files whose paths will not mean anything later); its other fields are a's.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { createDevice } from "../src/devices.ts";
import type { ModelConfig } from "../src/models/config.ts";
import { TextToVideo } from "../src/models/text-to-video.ts";
import { loadWeights, readWeights, saveWeights } from "../src/models/weights.ts";
import { Rng } from "../src/util/rng.ts";

const [fromA, fromB, share, to, described] = process.argv.slice(2);
const w = Number(share);
const keep = Number((1 - w).toFixed(6));
if (!fromA || !fromB || !to || !(w >= 0 && w <= 1))
  throw new Error(
    "usage: tools/blend-weights.ts <a.safetensors> <b.safetensors> <share of b, 0..1> <to.safetensors> [what a and b are, for the metadata]",
  );
const [a, b] = [await readWeights(fromA), await readWeights(fromB)];
for (const [file, saved] of [
  [fromA, a],
  [fromB, b],
] as const)
  if (saved.kind !== "text-to-video") throw new Error(`${file}: not text-to-video weights`);
const device = await createDevice({ kind: "cpu" });
const model = new TextToVideo(device, new Rng(0), a.config as ModelConfig);
await loadWeights(fromA, model, "text-to-video", a.config, a);
const state = await model.stateDict();
for (const [name, values] of Object.entries(state)) {
  const other = b.tensors[name];
  const mine = a.tensors[name]?.shape.join("×");
  if (!other || other.shape.join("×") !== mine)
    throw new Error(
      `${fromB}: ${other ? `${name} is ${other.shape.join("×")}, in ${fromA} ${mine}` : `has no ${name}`}`,
    );
  for (let i = 0; i < values.length; i++) values[i] = (1 - w) * values[i] + w * other.data[i];
}
model.loadStateDict(state);
const { format: _f, kind: _k, config: _c, ...extra } = a.metadata;
await mkdir(dirname(to), { recursive: true });
const files = await saveWeights(
  to,
  model,
  "text-to-video",
  a.config,
  { ...extra, blend: `${keep} × ${fromA} + ${w} × ${fromB}${described ? ` (${described})` : ""}` },
  { dtype: "F16", shardBytes: 15 * 2 ** 20 },
);
console.log(`wrote ${files.join(", ")} (${keep} of ${fromA}, ${w} of ${fromB}; f16)`);
