/**
 * Copies a trained network's weights into the repository as the bundled model ships them: f16,
 * in shards under 16 MiB (with an index when there is more than one), config and training
 * metadata kept. Optimizer state is never copied (it is not in a model file).
 *
 *   npx tsx tools/publish-weights.ts <run>/model/autoencoder.safetensors models/world-s/autoencoder.safetensors
 *   npx tsx tools/publish-weights.ts <run>/model/text-to-video.safetensors models/world-s/text-to-video.safetensors
 *
 * `--name world-s` ships a text-to-video model trained under another registry name (a candidate
 * config) under that name, where the registry's config of that name is the same model.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { createDevice } from "../src/devices.ts";
import { VideoAutoencoder } from "../src/models/autoencoder.ts";
import {
  type AutoencoderConfig,
  type ModelConfig,
  modelDifferences,
} from "../src/models/config.ts";
import { getConfig } from "../src/models/registry.ts";
import { TextToVideo } from "../src/models/text-to-video.ts";
import { loadWeights, readWeights, saveWeights } from "../src/models/weights.ts";
import { Rng } from "../src/util/rng.ts";

const args = process.argv.slice(2);
const nameAt = args.indexOf("--name");
const name = nameAt >= 0 ? args.splice(nameAt, 2)[1] : undefined;
const [from, to] = args;
if (!from || !to || (nameAt >= 0 && !name))
  throw new Error(
    "usage: tools/publish-weights.ts <from.safetensors> <to.safetensors> [--name <registry config>]",
  );
const saved = await readWeights(from);
if (name !== undefined) {
  // A run trained under a candidate's name ships under the bundled one: only where the registry
  // holds that name for the same model.
  if (saved.kind !== "text-to-video")
    throw new Error("--name: only text-to-video configs are named");
  const differ = modelDifferences(saved.config as ModelConfig, getConfig(name));
  if (differ.length)
    throw new Error(
      `--name ${name}: the registry's ${name} differs from ${from} in ${differ.join(", ")}`,
    );
  (saved.config as ModelConfig).name = name;
}
const device = await createDevice({ kind: "cpu" });
const module =
  saved.kind === "autoencoder"
    ? new VideoAutoencoder(device, new Rng(0), saved.config as AutoencoderConfig)
    : new TextToVideo(device, new Rng(0), saved.config as ModelConfig);
await loadWeights(from, module, saved.kind, saved.config, saved);
const { format: _f, kind: _k, config: _c, ...extra } = saved.metadata;
await mkdir(dirname(to), { recursive: true });
const files = await saveWeights(to, module, saved.kind, saved.config, extra, {
  dtype: "F16",
  shardBytes: 15 * 2 ** 20,
});
console.log(`wrote ${files.join(", ")} (${saved.kind}, f16)`);
