/**
 * A whole clip made in the browser from the graphs `zoetrope export --onnx` wrote, the way
 * `zoetrope generate` makes it (src/models/generate.ts): the prompt expanded into the world's
 * caption, tokenized, encoded (text-encoder graph, or the pair with the empty caption when
 * guided), noise from the seed with Zoetrope's own generator, Euler steps of the velocity graph
 * on the shifted time grid, and the decoder graph to 8-bit frames. The world's prompt expansion,
 * the tokenizer and the time grid are the project's own code, bundled for the browser, so the
 * same prompt, seed and settings give the clip the server would make (up to float rounding).
 * The clip size is the one the export was made for.
 */

import { shiftForTokens } from "../src/diffusion/rectified-flow.ts";
import { timeGrid } from "../src/diffusion/sample.ts";
import { layoutChannels } from "../src/models/layout-input.ts";
import { arrayToVideos } from "../src/models/video-tensor.ts";
import { Tokenizer } from "../src/text/tokenizer.ts";
import { Rng } from "../src/util/rng.ts";
import { expandPrompt } from "../src/world/expand.ts";
import { startLayout } from "../src/world/start-layout.ts";
import {
  type Backend,
  createSession,
  type ExportManifest,
  eulerUpdate,
  type GraphFiles,
  loadRuntime,
  pickBackend,
} from "./local-run.ts";

export interface LocalGenerateOptions {
  prompt: string;
  seed: number;
  steps: number;
  guidance: number;
  fps: number;
  /** WebGPU or WebAssembly; "auto" takes WebGPU where the browser has an adapter. */
  backend?: Backend | "auto";
  /** Called after each denoising step. */
  onStep?: (step: number, steps: number) => void;
}

export interface LocalClip {
  caption: string;
  width: number;
  height: number;
  fps: number;
  /** RGB, 3 bytes a pixel, row by row. */
  frames: Uint8Array[];
  backend: Backend;
  milliseconds: number;
}

/** An export folder's files by name (manifest.json, <graph>.onnx, <graph>.onnx.data). */
export type ExportFiles = ReadonlyMap<string, Uint8Array>;

export function graphFiles(
  manifest: ExportManifest,
  files: ExportFiles,
  graph: string,
): GraphFiles {
  const entry = manifest.graphs[graph];
  if (!entry) throw new Error(`the export has no ${graph} graph`);
  const bytes = files.get(entry.file);
  if (!bytes) throw new Error(`pick ${entry.file} too`);
  const dataName = `${entry.file}.data`;
  const data = files.get(dataName);
  return { graph: bytes, data: data ? { name: dataName, bytes: data } : undefined };
}

/** The export's graphs a clip needs, guided (with the empty caption) or not. */
export function neededGraphs(guided: boolean): string[] {
  return guided
    ? ["text-encoder-pair", "velocity-guided", "decoder"]
    : ["text-encoder", "velocity", "decoder"];
}

export async function generateLocally(
  manifest: ExportManifest,
  files: ExportFiles,
  o: LocalGenerateOptions,
): Promise<LocalClip> {
  const started = performance.now();
  const cfg = manifest.config.textToVideo;
  const tokenizer = Tokenizer.world();
  if (tokenizer.vocabHash !== cfg.vocabHash) {
    throw new Error(
      `the export was made for vocabulary ${cfg.vocabHash}; this page has ${tokenizer.vocabHash}`,
    );
  }
  const guided = o.guidance !== 1;
  const [textName, velocityName, decoderName] = neededGraphs(guided);
  const backend = await pickBackend(o.backend);
  const ort = await loadRuntime(backend);
  const open = (name: string) => createSession(ort, graphFiles(manifest, files, name), backend);
  const shapes = (name: string) =>
    Object.fromEntries(manifest.graphs[name].inputs.map((i) => [i.name, i.shape]));

  const { caption, scene } = expandPrompt(o.prompt, o.seed);
  const length = cfg.text.maxTokens;
  const captions = guided ? [caption, ""] : [caption];
  const ids = new Int32Array(captions.length * length);
  for (const [i, c] of captions.entries()) ids.set(tokenizer.encode(c, length).ids, i * length);
  const text = await open(textName);
  const encoded = await text.run({ ids: new ort.Tensor("int32", ids, [captions.length, length]) });
  await text.release();
  const { tokens, pooled } = encoded;

  const [c, t, h, w] = manifest.latent;
  const [pt, ph, pw] = cfg.dit.patch;
  const shift = shiftForTokens((t / pt) * (h / ph) * (w / pw), cfg.flow.baseTokens);
  const rng = new Rng(o.seed);
  // As device.randn draws it: the same numbers as the server's noise for this seed.
  let x: Float32Array = new Float32Array(c * t * h * w);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();

  const velocity = await open(velocityName);
  const vShapes = shapes(velocityName);
  const batch = vShapes.t[0];
  const guidance = new ort.Tensor("float32", new Float32Array([o.guidance]), [1]);
  const times = timeGrid(o.steps, shift);
  // A model that reads the first frame's planned layout gets the expansion's, as generate does;
  // the empty caption's rows get none.
  let layout: InstanceType<typeof ort.Tensor> | undefined;
  if (vShapes.layout) {
    const { width, height } = manifest.clip;
    const planned = startLayout(scene, width, height, width / w);
    const n = vShapes.layout[1]; // the config's layout parts (layoutChannelCount)
    const values = new Float32Array(batch * n * t * h * w);
    values.set(layoutChannels([planned], t, h, w, cfg.dit));
    layout = new ort.Tensor("float32", values, vShapes.layout);
  }
  for (let i = 0; i < o.steps; i++) {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
      x: new ort.Tensor("float32", x, vShapes.x),
      t: new ort.Tensor("float32", new Float32Array(batch).fill(times[i]), [batch]),
      tokens,
      pooled,
    };
    if (guided) feeds.guidance = guidance;
    if (layout) feeds.layout = layout;
    const out = await velocity.run(feeds);
    const v = (await out.v.getData()) as Float32Array;
    x = eulerUpdate(x, v, times[i + 1] - times[i]);
    out.v.dispose();
    o.onStep?.(i + 1, o.steps);
  }
  await velocity.release();
  tokens.dispose();
  pooled.dispose();

  const decoder = await open(decoderName);
  const decoded = await decoder.run({ z: new ort.Tensor("float32", x, [1, c, t, h, w]) });
  const pixels = decoded.x;
  const [video] = arrayToVideos((await pixels.getData()) as Float32Array, pixels.dims, o.fps);
  pixels.dispose();
  await decoder.release();
  return {
    caption,
    width: video.width,
    height: video.height,
    fps: o.fps,
    frames: video.frames,
    backend,
    milliseconds: performance.now() - started,
  };
}
