/**
 * Finds and loads a model folder (autoencoder.safetensors + text-to-video.safetensors, each
 * possibly sharded) for the model commands: builds each network from the config stored in its
 * file and fills it, and hashes the weights so a generated file can say exactly which it came from.
 */
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Device } from "../devices.ts";
import type { NamedArray } from "../io/safetensors.ts";
import { VideoAutoencoder } from "../models/autoencoder.ts";
import type { AutoencoderConfig, ModelConfig } from "../models/config.ts";
import { TextToVideo } from "../models/text-to-video.ts";
import { loadWeights, readWeights } from "../models/weights.ts";
import { Rng } from "../util/rng.ts";

export const AE_FILE = "autoencoder.safetensors";
export const T2V_FILE = "text-to-video.safetensors";

/** The bundled model's folder, beside the package (models/world-s). */
export const DEFAULT_MODEL_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../models/world-s",
);

export interface LoadedModel {
  ae: VideoAutoencoder;
  t2v: TextToVideo;
  /** The text-to-video config's name (e.g. "tiny", "world-s"). */
  name: string;
  /** sha256 over both networks' tensors (names, shapes, values), independent of sharding. */
  hash: string;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Throws a clear error when `dir` holds no model (a missing bundled model says why). */
export async function checkModelDir(dir: string): Promise<void> {
  const isDefault = resolve(dir) === DEFAULT_MODEL_DIR;
  if (!(await exists(dir))) {
    throw new Error(
      isDefault
        ? `the bundled model (${dir}) is not trained yet; train one with \`zoetrope train ae\` and \`zoetrope train dit\` and point --model at a folder holding ${AE_FILE} and ${T2V_FILE}`
        : `--model ${dir}: no such folder (it must hold ${AE_FILE} and ${T2V_FILE})`,
    );
  }
  for (const file of [AE_FILE, T2V_FILE]) {
    const p = join(dir, file);
    if (!(await exists(p)) && !(await exists(`${p}.index.json`)))
      throw new Error(
        isDefault
          ? `the bundled model (${dir}) is not complete yet: ${file} is still being trained; train your own with \`zoetrope train ae\` and \`zoetrope train dit\` and point --model at its folder, or use \`zoetrope world render\` meanwhile`
          : `--model ${dir}: missing ${file} (nor a shard index ${file}.index.json); a model folder holds ${AE_FILE} and ${T2V_FILE}`,
      );
  }
}

function hashTensors(h: ReturnType<typeof createHash>, tensors: Record<string, NamedArray>): void {
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    h.update(`${name}:${t.shape.join("x")};`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
}

/** Loads both networks of the model in `dir` onto `device`. */
export async function loadModel(device: Device, dir: string): Promise<LoadedModel> {
  await checkModelDir(dir);
  const aePath = join(dir, AE_FILE);
  const t2vPath = join(dir, T2V_FILE);
  const aeSaved = await readWeights(aePath);
  const t2vSaved = await readWeights(t2vPath);
  if (aeSaved.kind !== "autoencoder")
    throw new Error(`${aePath}: holds ${aeSaved.kind} weights, expected autoencoder`);
  if (t2vSaved.kind !== "text-to-video")
    throw new Error(`${t2vPath}: holds ${t2vSaved.kind} weights, expected text-to-video`);
  const hash = createHash("sha256");
  hashTensors(hash, aeSaved.tensors);
  hashTensors(hash, t2vSaved.tensors);
  // Every parameter is overwritten by the loaded weights (loadWeights checks that the file has
  // them all), so the networks are built without drawing random initial values.
  const ae = device.withoutInit(
    () => new VideoAutoencoder(device, new Rng(0), aeSaved.config as AutoencoderConfig),
  );
  await loadWeights(aePath, ae, "autoencoder", aeSaved.config, aeSaved);
  const cfg = t2vSaved.config as ModelConfig;
  const t2v = device.withoutInit(() => new TextToVideo(device, new Rng(0), cfg));
  await loadWeights(t2vPath, t2v, "text-to-video", cfg, t2vSaved);
  return { ae, t2v, name: String(cfg.name ?? "unnamed"), hash: hash.digest("hex") };
}
