/**
 * A model folder from a training run's newest checkpoint, while the run goes on or after it
 * stopped: the checkpoint's EMA weights (what ships) as text-to-video.safetensors, beside a copy
 * of the autoencoder the run trained on, so that `zoetrope generate --model <out>` and the
 * benches can look in on a run without stopping it.
 *
 *   npx tsx tools/snapshot-model.ts <dit-run> <autoencoder.safetensors> <out-dir>
 */
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { AE_FILE, T2V_FILE } from "../src/cli/model-files.ts";
import { createDevice } from "../src/devices.ts";
import { readWeights as readWeightFile } from "../src/io/safetensors.ts";
import type { ModelConfig } from "../src/models/config.ts";
import { TextToVideo } from "../src/models/text-to-video.ts";
import { readWeights, saveWeights } from "../src/models/weights.ts";
import { readLatestEma } from "../src/train/checkpoint.ts";
import { Rng } from "../src/util/rng.ts";

const [run, aeFile, out] = process.argv.slice(2);
if (!run || !aeFile || !out)
  throw new Error("usage: tools/snapshot-model.ts <dit-run> <autoencoder.safetensors> <out-dir>");
const ema = await readLatestEma(run);
if (!ema) throw new Error(`${run}: no checkpoint with EMA weights`);
// The checkpoint's metadata holds the config the run trained with.
const latest = (await readFile(join(run, "latest"), "utf8")).trim();
const { metadata } = await readWeightFile(join(run, latest, "model.safetensors"));
if (!metadata.config) throw new Error(`${run}/${latest}: the checkpoint has no config`);
const cfg = JSON.parse(metadata.config) as ModelConfig;
const ae = await readWeights(aeFile);
if (JSON.stringify(ae.config) !== JSON.stringify(cfg.ae))
  throw new Error(`${aeFile}: is not the autoencoder the run trained on`);
const t2v = new TextToVideo(await createDevice({ kind: "cpu" }), new Rng(0), cfg);
t2v.loadStateDict(Object.fromEntries(Object.entries(ema).map(([k, v]) => [k, v.data])));
await mkdir(out, { recursive: true });
await saveWeights(join(out, T2V_FILE), t2v, "text-to-video", cfg, {
  step: metadata.step ?? latest,
});
await copyFile(aeFile, join(out, AE_FILE));
console.log(`wrote ${out}: EMA of ${run}/${latest} (step ${metadata.step}) and ${aeFile}`);
