/**
 * The bundled model's steps on this CPU, compiled into ONNX Runtime: the autoencoder's training
 * step, the text encoder + diffusion transformer's training step, and one sampling step
 * (classifier-free guidance batched) with the decode of the finished latent — the figures that
 * size the model and its training (issue 10). Alternates contenders in rounds, medians over
 * rounds × reps after warm-up; prints the CPU.
 *
 * Beside each step: the same networks in PyTorch (bench/model-step.py mirrors src/models layer
 * for layer; it prints the same parameter counts), fp32 and bf16 autocast, on the same cores.
 *
 *   node --import tsx bench/model-step.ts [--config world-s] [--task ae|t2v|sample|all]
 *     [--ae-batch 8] [--dit-batch 32] [--reps 3] [--rounds 2] [--no-torch] [--json]
 *
 * --task builds, compiles and times only one task's networks, here and in the PyTorch child, so
 * that each row's peak RSS is that task's own: ae (the autoencoder's training step), t2v (the
 * text + DiT training step) or sample (the guided sampling step and the decode: text encoder,
 * DiT and autoencoder). The default, all, runs the four steps in one process, their peak RSS
 * shared. --json writes only {"cpu", "rows"} to stdout (rows as bench/bench-common.ts's Row,
 * named "<config>: <step>"), the rest to stderr; bench/cpu-step.ts --model runs this once per
 * task so.
 */
import { compile } from "../src/compile/compile.ts";
import { createDevice } from "../src/devices.ts";
import { latentSize, VideoAutoencoder } from "../src/models/autoencoder.ts";
import {
  autoencoderForwardFlops,
  ditForwardFlops,
  getConfig,
  textForwardFlops,
} from "../src/models/registry.ts";
import { TextToVideo } from "../src/models/text-to-video.ts";
import { noGrad } from "../src/tensor/engine.ts";
import { fill } from "../src/tensor/ops/elementwise.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { choosePrecision } from "../src/train/mixed-precision.ts";
import { Trainer } from "../src/train/trainer.ts";
import { Rng } from "../src/util/rng.ts";
import {
  median,
  peakRss,
  type Row,
  startTorch,
  summarise,
  type TorchChild,
  timeIt,
} from "./bench-common.ts";
import { cpuModel } from "./cpu-info.ts";

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const cfg = getConfig(opt("--config", "world-s"));
const AE_BATCH = Number(opt("--ae-batch", "8"));
const DIT_BATCH = Number(opt("--dit-batch", "32"));
const REPS = Number(opt("--reps", "3"));
const ROUNDS = Number(opt("--rounds", "2"));
const JSON_OUT = argv.includes("--json");
const [FRAMES, HEIGHT, WIDTH] = [17, 64, 64];
const ALL_TASKS = ["ae", "t2v", "sample"] as const;
type Task = (typeof ALL_TASKS)[number];
const taskArg = opt("--task", "all");
if (taskArg !== "all" && !ALL_TASKS.includes(taskArg as Task))
  throw new Error(`model-step: --task ${taskArg}; expected ${ALL_TASKS.join("|")}|all`);
const TASKS: readonly Task[] = taskArg === "all" ? ALL_TASKS : [taskArg as Task];
const log = (s: string) => (JSON_OUT ? process.stderr : process.stdout).write(`${s}\n`);

const cpu = cpuModel();
log(`CPU: ${cpu.model}; config ${cfg.name}; clip ${FRAMES}×${HEIGHT}×${WIDTH}`);

const device = await createDevice({ kind: "onnx" });
const rng = new Rng(0);
const [cz, lt, lh, lw] = [cfg.ae.latentChannels, ...latentSize(cfg.ae, FRAMES, HEIGHT, WIDTH)];

/** One timed step: `kind` names it to bench/model-step.py's "time" command. */
interface Step {
  label: string;
  kind: "ae" | "dit" | "velocity" | "decode";
  task: Row["task"];
  run: () => Promise<void>;
  flops: number;
  /** Clips (training samples) per step, for samples/s. */
  samples: number;
}

// Built on first use, so that a single task builds only its own networks.
let aeModel: VideoAutoencoder | undefined;
let t2vModel: TextToVideo | undefined;
const autoencoder = () => (aeModel ??= new VideoAutoencoder(device, rng, cfg.ae));
const textToVideo = () => (t2vModel ??= new TextToVideo(device, rng, cfg));

/** Runs a step once, which compiles it, and says how long that took. */
async function compiled(what: string, first: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  await first();
  log(`${what} in ${(performance.now() - t0).toFixed(0)} ms`);
}

/** The autoencoder's training step on clips in [-1, 1]. */
async function aeSteps(): Promise<Step[]> {
  const ae = autoencoder();
  const trainer = new Trainer(ae.parameters(), {
    policy: choosePrecision(device, "f32"),
    clipNorm: 1,
  });
  const step = compile((b: { x: Tensor; noise: Tensor }) => ({
    loss: trainer.step(() => ae.loss(b.x, b.noise).loss).loss,
  }));
  const args = {
    x: device.rand([AE_BATCH, 3, FRAMES, HEIGHT, WIDTH], rng, -1, 1),
    noise: device.randn([AE_BATCH, cz, lt, lh, lw], rng),
  };
  const run = () => step(args).then((r) => r.loss.dispose());
  await compiled("autoencoder: compiled its training step", run);
  return [
    {
      label: `autoencoder training step, batch ${AE_BATCH}`,
      kind: "ae",
      task: "train",
      run,
      flops: 3 * autoencoderForwardFlops(cfg.ae, FRAMES, HEIGHT, WIDTH) * AE_BATCH,
      samples: AE_BATCH,
    },
  ];
}

/** Text encoder + DiT forward FLOPs for a batch of one. */
const t2vForwardFlops = (t2v: TextToVideo) =>
  ditForwardFlops(cfg.dit, t2v.tokenCount(lt, lh, lw), cfg.text.maxTokens) +
  textForwardFlops(cfg.text);

/** The text-to-video training step on latents. */
async function t2vSteps(): Promise<Step[]> {
  const t2v = textToVideo();
  const trainer = new Trainer(t2v.parameters(), {
    policy: choosePrecision(device, "f32"),
    clipNorm: 1,
  });
  const x0 = device.randn([DIT_BATCH, cz, lt, lh, lw], rng);
  const captions = Array.from(
    { length: DIT_BATCH },
    () => "a red ball bounces on the grass at sunset",
  );
  const drawn = t2v.drawBatch(rng, x0, captions);
  type DitArgs = Record<
    "x0" | "ids" | "noise" | "t" | "tGrid" | "mask" | "clean" | "weight",
    Tensor
  >;
  const step = compile((a: DitArgs) => ({
    loss: trainer.step(() =>
      t2v.loss(a.x0, {
        ids: a.ids,
        draws: { noise: a.noise, t: a.t, tGrid: a.tGrid },
        known: { mask: a.mask, clean: a.clean, weight: a.weight },
        dispose: () => {},
      }),
    ).loss,
  }));
  const known = drawn.known;
  if (!known) throw new Error("model-step: expected known-frame tensors");
  const args: DitArgs = {
    x0,
    ids: drawn.ids,
    noise: drawn.draws.noise,
    t: drawn.draws.t,
    tGrid: drawn.draws.tGrid,
    mask: known.mask,
    clean: known.clean,
    weight: known.weight,
  };
  const run = () => step(args).then((r) => r.loss.dispose());
  await compiled("text-to-video: compiled its training step", run);
  return [
    {
      label: `text + DiT training step, batch ${DIT_BATCH} (${t2v.tokenCount(lt, lh, lw)} tokens)`,
      kind: "dit",
      task: "train",
      run,
      flops: 3 * t2vForwardFlops(t2v) * DIT_BATCH,
      samples: DIT_BATCH,
    },
  ];
}

/** One guided sampling step for one clip (condition and empty caption batched), and the decode. */
async function sampleSteps(): Promise<Step[]> {
  const t2v = textToVideo();
  const ae = autoencoder();
  const velocity = compile((a: { x: Tensor; t: Tensor; ids: Tensor }) =>
    noGrad(() => t2v.dit.forward(a.x, a.t, t2v.text.forward(a.ids))),
  );
  const x = device.randn([2, cz, lt, lh, lw], rng);
  const velArgs = {
    x,
    t: fill(x, 0.5, [2]),
    ids: t2v.tokenize(["a red ball bounces on the grass at sunset", ""]),
  };
  const decode = compile((a: { z: Tensor }) => noGrad(() => ae.decode(a.z)));
  const decArgs = { z: device.randn([1, cz, lt, lh, lw], rng) };
  const runVelocity = () => velocity(velArgs).then((r) => r.dispose());
  const runDecode = () => decode(decArgs).then((r) => r.dispose());
  await compiled("sampling: compiled its guided step", runVelocity);
  await compiled("sampling: compiled the decode", runDecode);
  return [
    {
      label: "one sampling step, guidance batched (2 × 1 clip)",
      kind: "velocity",
      task: "forward",
      run: runVelocity,
      flops: 2 * t2vForwardFlops(t2v),
      samples: 1,
    },
    {
      label: "decode one clip (≈ half the AE forward FLOPs)",
      kind: "decode",
      task: "forward",
      run: runDecode,
      flops: autoencoderForwardFlops(cfg.ae, FRAMES, HEIGHT, WIDTH) / 2,
      samples: 1,
    },
  ];
}

const builders: Record<Task, () => Promise<Step[]>> = {
  ae: aeSteps,
  t2v: t2vSteps,
  sample: sampleSteps,
};
const steps: Step[] = [];
for (const task of TASKS) steps.push(...(await builders[task]()));

const torch = argv.includes("--no-torch") ? null : startTorch("./model-step.py", log);
if (torch) {
  const r = await torch.ask({
    setup: {
      config: cfg,
      ae_batch: AE_BATCH,
      dit_batch: DIT_BATCH,
      frames: FRAMES,
      height: HEIGHT,
      width: WIDTH,
      tasks: TASKS,
    },
  });
  log(`PyTorch ${r.torch}: parameters: ${parameterCounts(r.ae_params, r.t2v_params)}`);
}

/** "autoencoder n, text + DiT m", of the networks built (the others undefined). */
function parameterCounts(ae: unknown, t2v: unknown): string {
  return [
    ae === undefined ? "" : `autoencoder ${Number(ae).toLocaleString()}`,
    t2v === undefined ? "" : `text + DiT ${Number(t2v).toLocaleString()}`,
  ]
    .filter(Boolean)
    .join(", ");
}

/** Every step in every round: zoetrope, then PyTorch fp32 and bf16, each after its warm-up. */
async function timeSteps(torch: TorchChild | null): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = {};
  const add = (k: string, ms: number[]) => {
    times[k] = [...(times[k] ?? []), ...ms];
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of steps) {
      await timeIt(s.run, 2);
      add(`${s.kind}/zoetrope`, await timeIt(s.run, REPS));
      if (!torch) continue;
      for (const dtype of ["fp32", "bf16"]) {
        await torch.ask({ time: s.kind, dtype, reps: 1 });
        const r = await torch.ask({ time: s.kind, dtype, reps: REPS });
        add(`${s.kind}/torch_${dtype}`, r.ms as number[]);
      }
    }
  }
  return times;
}

const times = await timeSteps(torch);
const memory = await peakRss(torch);
torch?.close();
const rows: Row[] = steps.map((s) => ({
  name: `${cfg.name}: ${s.label}`,
  task: s.task,
  ...summarise(times, s.kind),
  eager_ms: null,
  gflop: s.flops / 1e9,
  ...memory,
}));

log(`\nparameters: ${parameterCounts(aeModel?.parameterCount(), t2vModel?.parameterCount())}`);
log(
  "\n| step | zoetrope ms | GFLOP | GFLOP/s | samples/s | torch fp32 ms | ratio | torch bf16 ms | ratio |",
);
log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
steps.forEach((s, i) => {
  const ms = rows[i].zoetrope_ms;
  const cell = (t: number | null) =>
    t === null ? "— | —" : `${t.toFixed(0)} | ${(t / ms).toFixed(2)}×`;
  log(
    `| ${s.label} | ${ms.toFixed(0)} | ${(s.flops / 1e9).toFixed(1)} | ${(s.flops / 1e9 / (ms / 1000)).toFixed(0)} | ${((s.samples * 1000) / ms).toFixed(1)} | ${cell(rows[i].torch_fp32_ms)} | ${cell(rows[i].torch_bf16_ms)} |`,
  );
});
log("ratio = PyTorch ms / zoetrope ms (above 1: zoetrope is faster)");
log(
  `peak RSS (${TASKS.join(" + ")}): zoetrope process ${memory.peak_rss_mib.toFixed(0)} MiB${memory.torch_peak_rss_mib === null ? "" : `, PyTorch process ${memory.torch_peak_rss_mib.toFixed(0)} MiB`}`,
);
const msOf = (kind: Step["kind"]) => median(times[`${kind}/zoetrope`] ?? []);
if (TASKS.includes("sample"))
  log(
    `\n25 guided steps + decode ≈ ${((25 * msOf("velocity") + msOf("decode")) / 1000).toFixed(2)} s per clip`,
  );
const perHour = [
  TASKS.includes("ae") ? `≈ ${Math.floor(3600e3 / msOf("ae"))} autoencoder steps` : "",
  TASKS.includes("t2v") ? `≈ ${Math.floor(3600e3 / msOf("dit"))} text-to-video steps` : "",
].filter(Boolean);
if (perHour.length) log(`one hour trains ${perHour.join(" or ")}`);
if (JSON_OUT) process.stdout.write(`${JSON.stringify({ cpu, rows }, null, 1)}\n`);
