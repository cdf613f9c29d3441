/**
 * What `zoetrope export --onnx <dir>` does: writes the model's sampling graphs as standard ONNX
 * (weights as external data) at one clip size, plus manifest.json naming every graph's inputs
 * and outputs with their shapes and the config, so that any ONNX runtime can sample without
 * Zoetrope: text encoder (ids → tokens, pooled), the DiT velocity (unguided, and guided with the
 * empty caption batched second), the autoencoder's encoder and decoder.
 */
import { mkdir, readdir, rename, rm, rmdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { exportOnnx } from "../compile/export.ts";
import { createDevice } from "../devices.ts";
import { trackTemp, untrackCreatedFolder, untrackTemp } from "../media/cleanup.ts";
import { makeFolders, writeFileSafely } from "../media/safe-output.ts";
import { checkRequest } from "../models/generate.ts";
import { layoutChannelCount } from "../models/layout-input.ts";
import { noGrad } from "../tensor/engine.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { type LoadedModel, loadModel } from "./model-files.ts";
import { say } from "./report.ts";

export interface ExportCliOptions {
  onnx: string;
  model: string;
  width: number;
  height: number;
  frames?: number;
}

export interface ManifestGraph {
  file: string;
  inputs: { name: string; shape: number[]; dtype: string }[];
  outputs: { name: string; shape: number[] }[];
}

async function assertEmptyOrMissing(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    if (err.code === "ENOTDIR") throw new Error(`--onnx ${dir}: is a file, not a folder`);
    throw err;
  });
  if (entries.length > 0)
    throw new Error(`--onnx ${dir}: the folder is not empty; give a new or empty folder`);
}

export async function exportAction(opts: ExportCliOptions): Promise<void> {
  await assertEmptyOrMissing(opts.onnx);
  const device = await createDevice({ kind: "onnx" });
  const { ae, t2v, name, hash } = await loadModel(device, opts.model);
  // The default clip: 1 + 4·r frames (64×64×17 for world-s).
  const frames = opts.frames ?? 1 + 4 * ae.cfg.temporalDown;
  const [t, h, w] = checkRequest(ae, t2v, {
    prompt: "",
    width: opts.width,
    height: opts.height,
    frames,
    fps: 1,
    steps: 1,
    guidance: 1,
    seed: 0,
  });
  // All or nothing: the graphs are written into a hidden folder beside the target, renamed over
  // it (missing or still empty) only when all are there; a failure or Ctrl-C removes it and the
  // parent folders made for it (one level at a time: a recursive mkdir spins forever on paths
  // such as /proc/x).
  const target = resolve(opts.onnx);
  const created = await makeFolders(dirname(target), `--onnx ${opts.onnx}`);
  const stage = join(dirname(target), `.${basename(target)}.${process.pid}.partial`);
  trackTemp(stage);
  let written: string[] = [];
  try {
    await mkdir(stage);
    written = await writeGraphs({ ...opts, onnx: stage }, ae, t2v, { name, hash, frames, t, h, w });
    await rename(stage, target).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOTEMPTY" || err.code === "EEXIST")
        throw new Error(`--onnx ${opts.onnx}: the folder is no longer empty; nothing was written`);
      throw new Error(`--onnx ${opts.onnx}: cannot put the export there (${err.message})`);
    });
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    for (const d of [...created].reverse()) await rmdir(d).catch(() => {});
    throw err;
  } finally {
    untrackTemp(stage);
    created.forEach(untrackCreatedFolder);
  }
  say(
    `wrote ${written.length} ONNX graphs (${written.join(", ")}) and manifest.json to ${opts.onnx} for ${opts.width}×${opts.height}×${frames} clips`,
  );
}

async function writeGraphs(
  opts: ExportCliOptions,
  ae: LoadedModel["ae"],
  t2v: LoadedModel["t2v"],
  m: { name: string; hash: string; frames: number; t: number; h: number; w: number },
): Promise<string[]> {
  const { name, hash, frames, t, h, w } = m;
  const device = ae.device;
  const c = ae.cfg.latentChannels;
  const { maxTokens, dim } = t2v.cfg.text;
  const graphs: Record<string, ManifestGraph> = {};
  const shapes = (args: Record<string, Tensor>) =>
    Object.entries(args).map(([k, v]) => ({ name: k, shape: [...v.shape], dtype: v.dtype }));

  const put = async (
    graph: string,
    fn: (a: Record<string, Tensor>) => Record<string, Tensor>,
    args: Record<string, Tensor>,
  ) => {
    // The engine's own outputs give the manifest its output shapes.
    const expected = noGrad(() => fn(args));
    const out = await exportOnnx((a) => noGrad(() => fn(a)), args, opts.onnx, graph, device);
    graphs[graph] = {
      file: `${graph}.onnx`,
      inputs: shapes(args),
      outputs: out.outputs.map((o) => ({ name: o, shape: [...expected[o].shape] })),
    };
    for (const v of Object.values(expected)) v.dispose();
  };

  const ids = t2v.tokenize([""]);
  await put("text-encoder", (a) => ({ ...t2v.text.forward(a.ids) }), { ids });
  const ids2 = t2v.tokenize(["", ""]);
  await put("text-encoder-pair", (a) => ({ ...t2v.text.forward(a.ids) }), { ids: ids2 });
  const x = device.zeros([1, c, t, h, w]);
  // The sampled state: the latent, then for a model with dit.trajectoryInput its trajectory.
  const state = device.zeros([1, t2v.stateChannels, t, h, w]);
  const tokens = device.zeros([1, maxTokens, dim]);
  const pooled = device.zeros([1, dim]);
  // A model that reads the first frame's planned layout takes it as one more input.
  const layout = (b: number): Record<string, Tensor> =>
    t2v.cfg.dit.startLayout
      ? { layout: device.zeros([b, layoutChannelCount(t2v.cfg.dit), t, h, w]) }
      : {};
  await put(
    "velocity",
    (a) => ({
      v: t2v.velocity({ x: a.x, t: a.t, tokens: a.tokens, pooled: a.pooled, layout: a.layout }),
    }),
    { x: state, t: device.zeros([1]), tokens, pooled, ...layout(1) },
  );
  await put(
    "velocity-guided",
    (a) => ({
      v: t2v.velocity({
        x: a.x,
        t: a.t,
        tokens: a.tokens,
        pooled: a.pooled,
        guidance: a.guidance,
        layout: a.layout,
      }),
    }),
    {
      x: state,
      t: device.zeros([2]),
      tokens: device.zeros([2, maxTokens, dim]),
      pooled: device.zeros([2, dim]),
      guidance: device.tensor([1], [1]),
      ...layout(2),
    },
  );
  await put("encoder", (a) => ({ z: ae.encode(a.x) }), {
    x: device.zeros([1, 3, frames, opts.height, opts.width]),
  });
  await put("decoder", (a) => ({ x: ae.decode(a.z) }), { z: x });
  const manifest = {
    format: "zoetrope-onnx-1",
    model: name,
    weightsSha256: hash,
    clip: { width: opts.width, height: opts.height, frames },
    latent: [c, t, h, w],
    notes:
      "velocity-guided: rows 0..B-1 of tokens/pooled are the captions, rows B..2B-1 the empty caption; v = v_u + guidance·(v_c − v_u). Text ids come from the world tokenizer (vocabHash in config). layout (models with dit.startLayout): the expanded prompt's first-frame layout at latent frame 0: occupancy and colour, then with dit.startMotion the starting velocity, then with dit.startMarks one mark per object at its centre: count, place in the cell, shape (ball, box, triangle), width in cells, then with dit.planFlag a channel that is 4 in every cell when a plan is given, then with dit.startBounce each object's restitution times its coverage (src/world/start-layout.ts, src/models/layout-input.ts), all zeros for the empty caption's rows. x and v (models with dit.trajectoryInput): the latent's channels, then three of the objects' trajectory (occupancy, screen velocity × occupancy), sampled from noise beside the latent and dropped before decoding.",
    graphs,
    config: { autoencoder: ae.cfg, textToVideo: t2v.cfg },
  };
  await writeFileSafely(join(opts.onnx, "manifest.json"), `${JSON.stringify(manifest, null, 1)}\n`);
  return Object.keys(graphs);
}
