/**
 * Loads an autoencoder for the benches from a weights file or from a training run's folder (its
 * newest checkpoint's EMA weights), building the network from the config stored in the file. A
 * decoder-only run's checkpoints hold the decoder alone: its encoder is read from the autoencoder
 * the run trained on (named in the checkpoint since session 15, or given as `encoderFile`).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createDevice, type Device } from "../src/devices.ts";
import { readWeights } from "../src/io/safetensors.ts";
import { VideoAutoencoder } from "../src/models/autoencoder.ts";
import type { AutoencoderConfig } from "../src/models/config.ts";
import { Rng } from "../src/util/rng.ts";

export interface BenchAutoencoder {
  ae: VideoAutoencoder;
  cfg: AutoencoderConfig;
  /** The file the weights came from. */
  file: string;
  /** The training step stored with them, or "?". */
  step: string;
}

/** `source`: an autoencoder .safetensors file, or a run folder (`latest` → its ema.safetensors). */
export async function loadBenchAutoencoder(
  source: string,
  device?: Device,
  encoderFile?: string,
): Promise<BenchAutoencoder> {
  let file = source;
  if (!source.endsWith(".safetensors")) {
    const latest = (await readFile(join(source, "latest"), "utf8")).trim();
    file = join(source, latest, "ema.safetensors");
  }
  const { metadata, tensors } = await readWeights(file);
  if (metadata.kind !== undefined && metadata.kind !== "autoencoder")
    throw new Error(`${file}: holds ${metadata.kind} weights, expected autoencoder`);
  const cfg = JSON.parse(metadata.config ?? "") as AutoencoderConfig;
  const dev = device ?? (await createDevice({ kind: "onnx" }));
  const ae = new VideoAutoencoder(dev, new Rng(0), cfg);
  const state = Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, v.data]));
  if (metadata.decoderOnly === "true") {
    const from = encoderFile ?? metadata.decoderOf;
    if (!from)
      throw new Error(
        `${file}: a decoder-only checkpoint; say which autoencoder's encoder it trained on (--encoder <autoencoder.safetensors>)`,
      );
    const enc = await readWeights(from);
    ae.encoder.loadStateDict(
      Object.fromEntries(
        Object.entries(enc.tensors)
          .filter(([k]) => k.startsWith("encoder."))
          .map(([k, v]) => [k.slice("encoder.".length), v.data]),
      ),
    );
    ae.decoder.loadStateDict(state);
  } else ae.loadStateDict(state);
  return { ae, cfg, file, step: metadata.step ?? "?" };
}
