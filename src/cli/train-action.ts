/**
 * What `zoetrope train ae|dit` does: trains on the world's live clip stream with the project's
 * training loop (compiled on the onnx device), checkpointing into the run folder, and writes the
 * EMA weights as a model file into `<run>/model/` at the end or when stopped with Ctrl-C. After
 * the autoencoder, its latent scale is measured on a few clips and stored in the saved config.
 * A `dit` run's model folder also gets a copy of the autoencoder it trained on, so that
 * `zoetrope generate --model <run>/model` works as it is.
 */
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Bucket, bucketKey } from "../data/buckets.ts";
import { makeWorldClip } from "../data/world-stream.ts";
import { createDevice } from "../devices.ts";
import { readWeights as readWeightFile } from "../io/safetensors.ts";
import { untrackCreatedFolder } from "../media/cleanup.ts";
import { makeFolders } from "../media/safe-output.ts";
import {
  decoderBlocks,
  measureLatentScale,
  SPATIAL_DOWN,
  VideoAutoencoder,
} from "../models/autoencoder.ts";
import type { AutoencoderConfig, ModelConfig } from "../models/config.ts";
import {
  loadIntoGrownDecoder,
  startFreshBlocksAsIdentity,
  widenPatchEmbed,
} from "../models/grow.ts";
import { getConfig } from "../models/registry.ts";
import { DEFAULT_GUIDANCE } from "../models/sampling-defaults.ts";
import { autoencoderTask, decoderTask, textToVideoTask, type WorldData } from "../models/tasks.ts";
import { TextToVideo } from "../models/text-to-video.ts";
import { videosToTensor } from "../models/video-tensor.ts";
import { loadMatchingWeights, loadWeights, readWeights, saveWeights } from "../models/weights.ts";
import type { Module } from "../nn/module.ts";
import type { Device } from "../tensor/device.ts";
import { readLatestEma } from "../train/checkpoint.ts";
import { type StepInfo, train } from "../train/loop.ts";
import { Rng } from "../util/rng.ts";
import { AE_FILE, T2V_FILE } from "./model-files.ts";
import { say } from "./report.ts";

export interface TrainCliOptions {
  out: string;
  config: string;
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  resume: boolean;
  seed: number;
  every: number;
  fps: number;
  buckets?: Bucket[];
  /** Relative frequencies of training scenes with 1, 2, … objects (uniform 1–4 when absent). */
  objectCounts?: number[];
  ae?: string;
  init?: string;
  /** Weights to take the matching parameters from (a new run with another config). */
  transfer?: string;
  /** Stop (checkpoint and write the model, as on Ctrl-C) after this many minutes. */
  minutes?: number;
  /** Extra loss weight on the cells that hold an object (the config's when absent). */
  objectWeight?: number;
  /** train dit: mean of the logit-normal training timesteps (the config's flow.logitMean when absent). */
  logitMean?: number;
  /** train ae: train only the decoder of `ae`, on its frozen encoder's latents. */
  decoderOnly?: boolean;
  /** train ae --decoder-only: residual blocks per decoder level, the file's or more (grown). */
  decoderBlocks?: number;
  /**
   * train ae --decoder-only: a text-to-video model whose one-step denoised latents a share of
   * the clips is decoded from (the latents generation gives the decoder).
   */
  denoiser?: string;
  /** Share of the clips decoded from the denoiser's latents (0.75 when absent). */
  denoiseShare?: number;
  /** Largest noise time the denoiser's latents are made from (0.4 when absent). */
  denoiseMaxT?: number;
}

const DENOISE_SHARE = 0.75;
const DENOISE_MAX_T = 0.4;

/**
 * The default stream: clips plus 1-frame images. tiny: 32 px, 1 + 4·r frames. Otherwise 64 px and
 * 17 frames (2.1 s at 8 fps, what `generate` makes by default), or the nearest 1 + r·k when the
 * time reduction r does not divide 16: the clips the model will be asked for, whatever its r.
 */
export function defaultBuckets(cfg: ModelConfig): Bucket[] {
  const r = cfg.ae.temporalDown;
  const side = cfg.name === "tiny" ? 32 : 64;
  const frames = cfg.name === "tiny" ? 1 + 4 * r : 1 + r * Math.max(1, Math.round(16 / r));
  return [
    { width: side, height: side, frames },
    { width: side, height: side, frames: 1 },
  ];
}

/** Seconds as "1m05s" or "42s", rounded to the second first (so never "1m60s"). */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  return m > 0 ? `${m}m${String(whole % 60).padStart(2, "0")}s` : `${whole}s`;
}

function progress(info: StepInfo): void {
  const line =
    `step ${info.step}/${info.steps} loss ${info.loss.toFixed(4)} lr ${info.lr.toExponential(2)} ` +
    `${info.samplesPerSecond.toFixed(1)} samples/s ETA ${formatSeconds(info.etaSeconds)}`;
  if (process.stderr.isTTY)
    process.stderr.write(`\r${line}  ${info.step === info.steps ? "\n" : ""}`);
  else process.stderr.write(`${line}\n`);
}

/**
 * Refuses clip shapes the networks cannot take (before the run folder is made): the autoencoder
 * needs sides in multiples of its spatial reduction and 1 + r·k frames, the DiT also whole
 * patches of latent.
 */
function checkBuckets(cfg: ModelConfig, buckets: Bucket[], dit: boolean): void {
  const r = cfg.ae.temporalDown;
  const [pt, ph, pw] = dit ? cfg.dit.patch : [1, 1, 1];
  for (const b of buckets) {
    const t = (b.frames - 1) / r + 1;
    if (
      b.width % (SPATIAL_DOWN * pw) !== 0 ||
      b.height % (SPATIAL_DOWN * ph) !== 0 ||
      !Number.isInteger(t) ||
      t % pt !== 0
    )
      throw new Error(
        `--buckets ${b.width}x${b.height}x${b.frames}: config ${cfg.name} ${dit ? "(train dit) " : ""}takes widths in multiples of ${SPATIAL_DOWN * pw}, heights in multiples of ${SPATIAL_DOWN * ph} and 1 + ${r}·k frames${pt > 1 ? ` (k + 1 a multiple of ${pt})` : ""}`,
      );
  }
}

/**
 * Loads the newest checkpoint's EMA weights (the ones to ship) into `model`. A run trained with
 * an EMA always has them; their absence is an error, not a reason to ship the raw weights.
 */
async function loadEma(runDir: string, model: Module): Promise<void> {
  const tensors = await readLatestEma(runDir);
  if (!tensors) throw new Error(`${runDir}: the newest checkpoint has no EMA weights to ship`);
  model.loadStateDict(Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, v.data])));
}

/**
 * Starts a new run from saved weights (a run folder that is gone, or the committed model): the
 * weights load into the network before the optimiser and EMA are made, so both start from them,
 * with fresh moments and the schedule's warm-up. The file must match the config in everything
 * but what is measured or chosen elsewhere: the autoencoder's latent scale, and for the
 * text-to-video model the autoencoder it was trained on (given again with --ae, possibly newer).
 */
async function initFromWeights(
  file: string,
  model: Module,
  kind: "autoencoder" | "text-to-video",
  cfg: ModelConfig,
): Promise<void> {
  const saved = await readWeights(file);
  if (saved.kind !== kind)
    throw new Error(`--init ${file}: holds ${saved.kind} weights, not ${kind} weights`);
  const savedCfg = saved.config as Record<string, unknown>;
  let expected: unknown;
  if (kind === "autoencoder") expected = { ...cfg.ae, latentScale: savedCfg.latentScale };
  else {
    // The timestep distribution and the loss weighting are how the network is trained, not what
    // it is: a new run may change them (reported), but nothing of the architecture.
    const savedT2v = savedCfg as Partial<ModelConfig>;
    expected = {
      ...cfg,
      // A candidate config's weights may start a run under the name they ship as.
      name: savedCfg.name,
      ae: savedCfg.ae,
      flow: savedT2v.flow,
      dit: { ...cfg.dit, objectWeight: savedT2v.dit?.objectWeight },
    };
    const changes = [
      ...(["logitMean", "logitStd", "baseTokens"] as const).map(
        (k) => [`flow.${k}`, savedT2v.flow?.[k], cfg.flow[k]] as const,
      ),
      ["dit.objectWeight", savedT2v.dit?.objectWeight, cfg.dit.objectWeight] as const,
    ].filter(([, was, now]) => was !== now);
    for (const [what, was, now] of changes)
      say(`--init ${file}: training setting ${what} changes from ${was} to ${now}`);
    if (savedT2v.name !== cfg.name)
      say(`--init ${file}: trained as config ${savedT2v.name}, goes on as ${cfg.name}`);
  }
  await loadWeights(file, model, kind, expected, saved);
}

/** The clip stream a run trains on, from its options (saved in its checkpoints). */
function worldData(opts: TrainCliOptions, buckets: Bucket[]): WorldData {
  return {
    seed: opts.seed,
    buckets,
    fps: opts.fps,
    batchSize: opts.batch,
    ...(opts.objectCounts ? { objectCounts: opts.objectCounts } : {}),
  };
}

/** The metadata of the run's newest checkpoint. */
async function latestMetadata(out: string): Promise<Record<string, string>> {
  const latest = (await readFile(join(out, "latest"), "utf8")).trim();
  return (await readWeightFile(join(out, latest, "model.safetensors"))).metadata;
}

/** An option's value as the user would type it, for the resume refusals. */
function shownOption(v: unknown): string {
  if (v === undefined) return "(not given)";
  if (Array.isArray(v))
    return v.map((x) => (typeof x === "object" ? bucketKey(x as Bucket) : String(x))).join(",");
  return String(v);
}

/**
 * A resumed run goes on with the clip stream it started with: its checkpoint keeps the data
 * position, which means other clips under other data options. (Runs from before the options were
 * saved are not checked.)
 */
function checkResumedData(metadata: Record<string, string>, data: WorldData): void {
  if (metadata.data === undefined) return;
  const was = JSON.parse(metadata.data) as WorldData;
  const flags: [keyof WorldData, string][] = [
    ["seed", "--seed"],
    ["buckets", "--buckets"],
    ["fps", "--fps"],
    ["batchSize", "--batch"],
    ["objectCounts", "--object-counts"],
  ];
  for (const [key, flag] of flags)
    if (JSON.stringify(was[key]) !== JSON.stringify(data[key]))
      throw new Error(
        `--resume: the run trained with ${flag} ${shownOption(was[key])}, not ${shownOption(data[key])}; resume it with the options it started with`,
      );
}

/**
 * A resumed run goes on with the training settings it started with (--object-weight, and for the
 * transformer --logit-mean): its checkpoint's config records them, and the optimiser's state was
 * built under them. (Runs from before the config was saved are not checked.)
 */
function checkResumedSettings(
  metadata: Record<string, string>,
  what: "ae" | "dit",
  cfg: ModelConfig,
): void {
  if (metadata.config === undefined) return;
  const was = JSON.parse(metadata.config);
  const settings: [string, unknown, unknown][] =
    what === "dit"
      ? [
          ["--object-weight", was.dit?.objectWeight, cfg.dit.objectWeight],
          ["--logit-mean", was.flow?.logitMean, cfg.flow.logitMean],
        ]
      : [["--object-weight", was.objectWeight, cfg.ae.objectWeight]];
  for (const [flag, before, now] of settings)
    if (before !== now)
      throw new Error(
        `--resume: the run trained with ${flag} ${shownOption(before)}, not ${shownOption(now)}; resume it with the options it started with`,
      );
}

/**
 * A decoder-only run resumes only as one, and a whole-autoencoder run only as that; a grown
 * decoder resumes with the --decoder-blocks it was grown to (its checkpoint has those blocks).
 */
function checkResumedKind(
  metadata: Record<string, string>,
  opts: TrainCliOptions,
  ae: AutoencoderConfig,
): void {
  const wasDecoderOnly = metadata.decoderOnly === "true";
  if (wasDecoderOnly !== Boolean(opts.decoderOnly))
    throw new Error(
      wasDecoderOnly
        ? `--out ${opts.out} trains only a decoder: resume it with --decoder-only and its --ae`
        : `--out ${opts.out} trains the whole autoencoder: resume it without --decoder-only`,
    );
  const trained = metadata.denoiser;
  const asked = denoiserMetadata(opts).denoiser;
  if (wasDecoderOnly && trained !== asked) {
    const latents = (d?: string) => (d ? `denoised latents (${d})` : "the encoder's latents alone");
    throw new Error(
      `--resume: the run's decoder trained on ${latents(trained)}, not ${latents(asked)}; resume it with the --denoiser options it started with`,
    );
  }
  if (!wasDecoderOnly || metadata.config === undefined) return;
  const was = decoderBlocks(JSON.parse(metadata.config) as AutoencoderConfig);
  if (was !== decoderBlocks(ae))
    throw new Error(
      `--resume: the run's decoder has ${was} blocks per level, this one would have ${decoderBlocks(ae)}; resume it with --decoder-blocks ${was}`,
    );
}

/** How a decoder-only run's denoised latents are made, as its checkpoints record it. */
function denoiserMetadata(opts: TrainCliOptions): { denoiser?: string } {
  if (!opts.denoiser) return {};
  const share = opts.denoiseShare ?? DENOISE_SHARE;
  const maxT = opts.denoiseMaxT ?? DENOISE_MAX_T;
  return {
    denoiser: `${resolve(opts.denoiser)}, share ${share}, max t ${maxT}, guidance ${DEFAULT_GUIDANCE}`,
  };
}

/**
 * The frozen text-to-video model of --denoiser, checked to work in the latent space of the
 * decoder's encoder (the file records the autoencoder it trained on).
 */
async function loadDenoiser(
  file: string,
  device: Device,
  ae: AutoencoderConfig,
): Promise<TextToVideo> {
  const saved = await readWeights(file);
  if (saved.kind !== "text-to-video")
    throw new Error(`--denoiser ${file}: holds ${saved.kind} weights, not a text-to-video model's`);
  const cfg = saved.config as ModelConfig;
  const mismatch = (["latentChannels", "temporalDown", "latentScale"] as const).filter(
    (k) => cfg.ae?.[k] !== ae[k],
  );
  if (cfg.dit.latentChannels !== ae.latentChannels || mismatch.length > 0)
    throw new Error(
      `--denoiser ${file}: trained on another latent space than the encoder of --ae (${mismatch.map((k) => `${k} ${cfg.ae?.[k]} vs ${ae[k]}`).join(", ") || "latent channels"})`,
    );
  const model = new TextToVideo(device, new Rng(0), cfg);
  await loadWeights(file, model, "text-to-video", cfg, saved);
  return model;
}

export async function trainAction(what: string, opts: TrainCliOptions): Promise<void> {
  if (what !== "ae" && what !== "dit")
    throw new Error(
      `train: say what to train, "ae" (the autoencoder) or "dit" (the text-to-video model), not "${what}"`,
    );
  const cfg = getConfig(opts.config);
  const hasRun = await stat(join(opts.out, "latest")).catch(() => null);
  if (hasRun && !opts.resume)
    throw new Error(
      `--out ${opts.out} already holds a training run; add --resume to continue it, or give a new folder`,
    );
  if (!hasRun && opts.resume)
    throw new Error(`--out ${opts.out}: no checkpoint to resume (no ${join(opts.out, "latest")})`);
  if (what === "dit" && !opts.ae)
    throw new Error("train dit: give the trained autoencoder with --ae <autoencoder.safetensors>");
  if (what === "dit" && opts.decoderOnly)
    throw new Error("--decoder-only is for train ae (the autoencoder's decoder), not train dit");
  if (what === "ae" && opts.logitMean !== undefined)
    throw new Error("--logit-mean is for train dit (its diffusion timesteps), not train ae");
  if (what === "ae" && opts.decoderOnly && !opts.ae)
    throw new Error(
      "train ae --decoder-only: give the autoencoder whose decoder to train (and whose encoder stays as it is) with --ae <autoencoder.safetensors>",
    );
  if (what === "ae" && opts.ae && !opts.decoderOnly)
    throw new Error(
      "train ae: --ae is for train dit, or with --decoder-only to train that autoencoder's decoder",
    );
  if (opts.decoderBlocks !== undefined && !(what === "ae" && opts.decoderOnly))
    throw new Error(
      "--decoder-blocks grows the decoder of a trained autoencoder: it needs train ae --decoder-only --ae <file>",
    );
  if (
    (opts.denoiser || opts.denoiseShare !== undefined || opts.denoiseMaxT !== undefined) &&
    !(what === "ae" && opts.decoderOnly)
  )
    throw new Error(
      "--denoiser (with --denoise-share, --denoise-max-t) trains a decoder on a text-to-video model's latents: it needs train ae --decoder-only --ae <file>",
    );
  if ((opts.denoiseShare !== undefined || opts.denoiseMaxT !== undefined) && !opts.denoiser)
    throw new Error(
      "--denoise-share and --denoise-max-t set how --denoiser's latents are made: give --denoiser <text-to-video.safetensors>",
    );
  if (opts.decoderOnly && (opts.init || opts.transfer))
    throw new Error(
      `train ae --decoder-only starts from the decoder of --ae; --${opts.init ? "init" : "transfer"} does not apply`,
    );
  const starts = (["init", "transfer", "resume"] as const).filter((k) => opts[k]);
  if (starts.length > 1)
    throw new Error(
      `--init and --transfer start a new run from saved weights, --resume continues a run: give one, not ${starts.map((k) => `--${k}`).join(" and ")}`,
    );

  if (opts.ae) {
    // The autoencoder trained on decides the latent shapes, so it is read first.
    const saved = await readWeights(opts.ae);
    if (saved.kind !== "autoencoder")
      throw new Error(`--ae ${opts.ae}: holds ${saved.kind} weights, not an autoencoder's`);
    cfg.ae = saved.config as AutoencoderConfig;
    if (opts.decoderBlocks !== undefined) {
      if (opts.decoderBlocks < decoderBlocks(cfg.ae))
        throw new Error(
          `--decoder-blocks ${opts.decoderBlocks}: the decoder of --ae ${opts.ae} already has ${decoderBlocks(cfg.ae)} blocks per level; a decoder grows, it is not cut`,
        );
      cfg.ae.decoderBlocks = opts.decoderBlocks;
    }
  }
  // Training settings, not part of the network: the loss weight on object cells, and where the
  // transformer's training timesteps centre (above 0 trains the noisier steps more often).
  if (opts.objectWeight !== undefined) {
    if (what === "dit") cfg.dit.objectWeight = opts.objectWeight;
    else cfg.ae.objectWeight = opts.objectWeight;
  }
  if (opts.logitMean !== undefined) cfg.flow = { ...cfg.flow, logitMean: opts.logitMean };
  const buckets = opts.buckets ?? defaultBuckets(cfg);
  checkBuckets(cfg, buckets, what === "dit");
  if (hasRun && opts.resume) {
    const metadata = await latestMetadata(opts.out);
    if (what === "ae") checkResumedKind(metadata, opts, cfg.ae);
    checkResumedData(metadata, worldData(opts, buckets));
    checkResumedSettings(metadata, what, cfg);
  }
  // The run folder is made one level at a time (a recursive mkdir spins forever on paths such
  // as /proc/x); a new one is removed again if the run fails before its first checkpoint.
  const created = await makeFolders(resolve(opts.out), `--out ${opts.out}`);
  try {
    await runTraining(opts, cfg, buckets);
  } catch (err) {
    const checkpointed = await stat(join(opts.out, "latest")).catch(() => null);
    if (created.length > 0 && !checkpointed) await rm(created[0], { recursive: true, force: true });
    throw err;
  } finally {
    created.forEach(untrackCreatedFolder);
  }
}

async function runTraining(
  opts: TrainCliOptions,
  cfg: ModelConfig,
  buckets: Bucket[],
): Promise<void> {
  const device = await createDevice({ kind: "onnx" });
  const data = worldData(opts, buckets);
  const rng = new Rng(opts.seed);
  const ae = new VideoAutoencoder(device, rng, cfg.ae);
  let t2v: TextToVideo | null = null;
  if (opts.ae) {
    // The trained autoencoder, checked against the file's own config (--object-weight may have
    // changed cfg.ae's for a decoder-only run, whose resumed checkpoint then loads over it).
    const saved = await readWeights(opts.ae);
    const file = saved.config as AutoencoderConfig;
    if (decoderBlocks(cfg.ae) > decoderBlocks(file)) {
      const grown = await loadIntoGrownDecoder(opts.ae, ae);
      say(
        `--decoder-blocks ${decoderBlocks(cfg.ae)}: the decoder of ${opts.ae} grown by ${grown.join(", ")}, which start as the identity`,
      );
    } else await loadWeights(opts.ae, ae, "autoencoder", saved.config, saved);
  }
  if (opts.ae && !opts.decoderOnly) {
    if (cfg.ae.latentChannels !== cfg.dit.latentChannels)
      throw new Error(
        `--ae ${opts.ae}: makes ${cfg.ae.latentChannels}-channel latents, config ${cfg.name}'s DiT takes ${cfg.dit.latentChannels}`,
      );
    t2v = new TextToVideo(device, rng, cfg);
  }
  if (opts.init)
    await initFromWeights(opts.init, t2v ?? ae, t2v ? "text-to-video" : "autoencoder", cfg);
  if (opts.transfer) {
    const got = await loadMatchingWeights(
      opts.transfer,
      t2v ?? ae,
      t2v ? "text-to-video" : "autoencoder",
    );
    const grown = t2v ? await startFreshBlocksAsIdentity(t2v, got.kept) : [];
    // More input channels than the file's (a layout): the shared ones keep their projection.
    const widened = t2v && (await widenPatchEmbed(t2v, (await readWeights(opts.transfer)).tensors));
    const fresh = got.kept.filter(
      (p) =>
        !grown.some((i) => p.startsWith(`dit.block${i}.`)) &&
        !(widened && p === "dit.patch_embed.weight"),
    );
    say(
      `--transfer ${opts.transfer}: ${got.loaded.length} parameters taken${widened ? ", the patch projection widened for the new input channels (zero)" : ""}, ${got.kept.length - (widened ? 1 : 0)} fresh${fresh.length ? ` (${fresh.join(", ")})` : ""}${grown.length ? `${fresh.length ? ";" : ":"} new blocks ${grown.join(", ")} start as the identity` : ""}${got.unused.length ? `; ${got.unused.length} of the file's not used` : ""}`,
    );
  }
  // Checkpoints keep the data options too, so that a resume can be checked against them.
  const dataMeta = { data: JSON.stringify(data) };
  const task = t2v
    ? textToVideoTask(t2v, ae, data, { ...dataMeta, config: JSON.stringify(cfg) })
    : opts.decoderOnly
      ? decoderTask(
          ae,
          data,
          {
            ...dataMeta,
            config: JSON.stringify(cfg.ae),
            decoderOnly: "true",
            // Where the frozen encoder is, for the benches that read a checkpoint (its EMA holds
            // the decoder alone).
            decoderOf: resolve(opts.ae ?? ""),
            ...denoiserMetadata(opts),
          },
          opts.denoiser
            ? {
                model: await loadDenoiser(opts.denoiser, device, cfg.ae),
                share: opts.denoiseShare ?? DENOISE_SHARE,
                maxT: opts.denoiseMaxT ?? DENOISE_MAX_T,
                guidance: DEFAULT_GUIDANCE,
              }
            : undefined,
        )
      : autoencoderTask(ae, data, { ...dataMeta, config: JSON.stringify(cfg.ae) });

  // Ctrl-C or SIGTERM stops the loop, which checkpoints and returns, and so does the end of
  // --minutes (a piece of a long run: resume it with --resume). The CLI's own handlers (clean up
  // and exit) are set aside while training and run on a second signal; restored afterwards.
  const stop = new AbortController();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const others = new Map(signals.map((sig) => [sig, process.listeners(sig)]));
  for (const sig of signals) process.removeAllListeners(sig);
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      for (const l of others.get(sig as (typeof signals)[number]) ?? []) l(sig);
      process.exit(sig === "SIGINT" ? 130 : 143);
    }
    process.stderr.write(`\nstopping (${sig}): saving a checkpoint (again to quit at once)\n`);
    stop.abort();
  };
  for (const sig of signals) process.on(sig, onSignal);
  const budget =
    opts.minutes === undefined
      ? undefined
      : setTimeout(() => {
          process.stderr.write(`\n--minutes ${opts.minutes}: time is up; saving a checkpoint\n`);
          stop.abort();
        }, opts.minutes * 60_000);
  let result: Awaited<ReturnType<typeof train>>;
  try {
    result = await train(task, {
      steps: opts.steps,
      schedule: { lr: opts.lr, warmup: opts.warmup, decay: "cosine" },
      emaDecay: 0.999,
      clipNorm: 1,
      seed: opts.seed,
      runDir: opts.out,
      checkpointEvery: opts.every,
      resume: opts.resume,
      signal: stop.signal,
      onStep: progress,
    });
  } finally {
    clearTimeout(budget);
    for (const sig of signals) {
      process.removeListener(sig, onSignal);
      for (const l of others.get(sig) ?? []) process.on(sig, l as NodeJS.SignalsListener);
    }
  }

  if (!(await stat(join(opts.out, "latest")).catch(() => null))) {
    say(`stopped before the first step; nothing to save in ${opts.out}`);
    return;
  }
  // The EMA of the weights is what ships.
  const modelDir = join(opts.out, "model");
  await mkdir(modelDir, { recursive: true });
  const extra: Record<string, string> = { step: String(result.step), seed: String(opts.seed) };
  if (opts.init) extra.init = opts.init;
  if (opts.transfer) extra.transfer = opts.transfer;
  if (opts.objectCounts) extra.objectCounts = opts.objectCounts.join(",");
  if (opts.decoderOnly) {
    // The encoder and its latent scale are the file's, unchanged: its latents are what a
    // text-to-video model was (or will be) trained on.
    extra.decoderOf = opts.ae ?? "";
    await loadEma(opts.out, ae.decoder);
    await saveWeights(join(modelDir, AE_FILE), ae, "autoencoder", cfg.ae, extra);
  } else if (t2v) {
    await loadEma(opts.out, t2v);
    await saveWeights(join(modelDir, T2V_FILE), t2v, "text-to-video", cfg, extra);
    await saveWeights(join(modelDir, AE_FILE), ae, "autoencoder", cfg.ae, extra);
  } else {
    await loadEma(opts.out, ae);
    // Unit-variance latents, measured on 8 clips of each bucket (the scale is a property of the
    // data as much as of the network: a few clips of one kind can be off by tens of percent).
    const scales: number[] = [];
    for (const [i, b] of buckets.entries()) {
      const clips = Array.from({ length: 8 }, (_, k) =>
        makeWorldClip(opts.seed + 7919 * (i + 1) + k, b, opts.fps),
      );
      const x = videosToTensor(
        device,
        clips.map((c) => c.video),
      );
      scales.push(await measureLatentScale(ae, x));
      x.dispose();
    }
    const sorted = scales.sort((a, b) => a - b);
    const latentScale = sorted[Math.floor(sorted.length / 2)];
    const saved = { ...cfg.ae, latentScale };
    await saveWeights(join(modelDir, AE_FILE), ae, "autoencoder", saved, extra);
  }
  say(
    `${result.stopped ? "stopped" : "finished"} at step ${result.step}/${opts.steps}; checkpoint in ${opts.out}, log in ${join(opts.out, "log.csv")}, model in ${modelDir}`,
  );
}
