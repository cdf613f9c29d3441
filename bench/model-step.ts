/**
 * The bundled model's steps on this CPU, compiled into ONNX Runtime: the autoencoder's training
 * step, the text encoder + diffusion transformer's training step, and one sampling step
 * (classifier-free guidance batched) with the decode of the finished latent — the figures that
 * size the model and its training (issue 10). Alternates contenders in rounds, medians after
 * warm-up; prints the CPU.
 *
 * Beside each step: the same networks in PyTorch (bench/model-step.py mirrors src/models layer
 * for layer; it prints the same parameter counts), fp32 and bf16 autocast, on the same cores.
 *
 *   node --import tsx bench/model-step.ts [--config world-s] [--ae-batch 8] [--dit-batch 32] [--reps 3] [--no-torch]
 */
import { execSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { compile } from "../src/compile/compile.ts";
import { createDevice } from "../src/devices.ts";
import { VideoAutoencoder } from "../src/models/autoencoder.ts";
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

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const cfg = getConfig(opt("--config", "world-s"));
const AE_BATCH = Number(opt("--ae-batch", "8"));
const DIT_BATCH = Number(opt("--dit-batch", "32"));
const REPS = Number(opt("--reps", "3"));
const [FRAMES, HEIGHT, WIDTH] = [17, 64, 64];

const lscpu = execSync("lscpu", { encoding: "utf8" });
console.log(
  `CPU: ${lscpu.match(/^Model name:\s*(.*)$/m)?.[1]}; config ${cfg.name}; clip ${FRAMES}×${HEIGHT}×${WIDTH}`,
);

const device = await createDevice({ kind: "onnx" });
const rng = new Rng(0);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
async function time(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

// The autoencoder's training step on clips in [-1, 1].
const ae = new VideoAutoencoder(device, rng, cfg.ae);
const aeTrainer = new Trainer(ae.parameters(), {
  policy: choosePrecision(device, "f32"),
  clipNorm: 1,
});
const clips = device.rand([AE_BATCH, 3, FRAMES, HEIGHT, WIDTH], rng, -1, 1);
const aeNoise = noGrad(() => ae.encoder.forward(clips));
const aeStep = compile((b: { x: Tensor; noise: Tensor }) => ({
  loss: aeTrainer.step(() => ae.loss(b.x, b.noise).loss).loss,
}));
const aeArgs = { x: clips, noise: device.randn(aeNoise.shape, rng) };
let t0 = performance.now();
await aeStep(aeArgs);
console.log(`autoencoder: compiled its training step in ${(performance.now() - t0).toFixed(0)} ms`);

// The text-to-video training step on latents.
const t2v = new TextToVideo(device, rng, cfg);
const ditTrainer = new Trainer(t2v.parameters(), {
  policy: choosePrecision(device, "f32"),
  clipNorm: 1,
});
const [, cz, lt, lh, lw] = aeNoise.shape;
const x0 = device.randn([DIT_BATCH, cz, lt, lh, lw], rng);
const captions = Array.from(
  { length: DIT_BATCH },
  () => "a red ball bounces on the grass at sunset",
);
const drawn = t2v.drawBatch(rng, x0, captions);
type DitArgs = Record<"x0" | "ids" | "noise" | "t" | "tGrid" | "mask" | "clean" | "weight", Tensor>;
const ditStep = compile((a: DitArgs) => ({
  loss: ditTrainer.step(() =>
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
const ditArgs: DitArgs = {
  x0,
  ids: drawn.ids,
  noise: drawn.draws.noise,
  t: drawn.draws.t,
  tGrid: drawn.draws.tGrid,
  mask: known.mask,
  clean: known.clean,
  weight: known.weight,
};
t0 = performance.now();
await ditStep(ditArgs);
console.log(
  `text-to-video: compiled its training step in ${(performance.now() - t0).toFixed(0)} ms`,
);

// One guided sampling step for one clip (condition and empty caption batched), and the decode.
const ids2 = t2v.tokenize(["a red ball bounces on the grass at sunset", ""]);
const velocity = compile((a: { x: Tensor; t: Tensor; ids: Tensor }) =>
  noGrad(() => t2v.dit.forward(a.x, a.t, t2v.text.forward(a.ids))),
);
const velArgs = { x: device.randn([2, cz, lt, lh, lw], rng), t: fill(x0, 0.5, [2]), ids: ids2 };
await velocity(velArgs);
const decode = compile((a: { z: Tensor }) => noGrad(() => ae.decode(a.z)));
const decArgs = { z: device.randn([1, cz, lt, lh, lw], rng) };
await decode(decArgs);

/** The PyTorch mirror in a child process, one JSON command per line. */
function startTorch() {
  const python =
    process.env.ZOETROPE_PYTHON ??
    (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  try {
    execSync(`${python} -c "import torch"`, { stdio: "ignore" });
  } catch {
    console.log(
      "PyTorch not found: apt-get install -y python3-torch libopenblas0-openmp; timing zoetrope alone",
    );
    return null;
  }
  const proc = spawn(python, [new URL("./model-step.py", import.meta.url).pathname], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return {
    async ask(cmd: object): Promise<Record<string, unknown>> {
      proc.stdin.write(`${JSON.stringify(cmd)}\n`);
      const next = await lines.next();
      if (next.done) throw new Error("the PyTorch process ended");
      return JSON.parse(next.value);
    },
    close: () => proc.stdin.end(),
  };
}
const torch = argv.includes("--no-torch") ? null : startTorch();
if (torch) {
  const r = await torch.ask({
    setup: {
      config: cfg,
      ae_batch: AE_BATCH,
      dit_batch: DIT_BATCH,
      frames: FRAMES,
      height: HEIGHT,
      width: WIDTH,
    },
  });
  console.log(
    `PyTorch ${r.torch}: autoencoder ${Number(r.ae_params).toLocaleString()} parameters, text + DiT ${Number(r.t2v_params).toLocaleString()}`,
  );
}
const torchTimes: Record<string, number[]> = {};
async function torchTime(kind: string, dtype: string): Promise<void> {
  if (!torch) return;
  await torch.ask({ time: kind, dtype, reps: 1 });
  const r = await torch.ask({ time: kind, dtype, reps: REPS });
  const key = `${kind}/${dtype}`;
  torchTimes[key] = [...(torchTimes[key] ?? []), median(r.ms as number[])];
}

const rows: [string, number, number, number, string][] = [];
const tokens = t2v.tokenCount(lt, lh, lw);
const aeFlops = 3 * autoencoderForwardFlops(cfg.ae, FRAMES, HEIGHT, WIDTH) * AE_BATCH;
const ditFlops =
  3 *
  (ditForwardFlops(cfg.dit, tokens, cfg.text.maxTokens) + textForwardFlops(cfg.text)) *
  DIT_BATCH;
const velFlops =
  2 * (ditForwardFlops(cfg.dit, tokens, cfg.text.maxTokens) + textForwardFlops(cfg.text));
const decFlops = autoencoderForwardFlops(cfg.ae, FRAMES, HEIGHT, WIDTH) / 2;
const times = { ae: [] as number[], dit: [] as number[], vel: [] as number[], dec: [] as number[] };
for (let round = 0; round < 2; round++) {
  times.ae.push(await time(() => aeStep(aeArgs).then((r) => r.loss.dispose())));
  for (const d of ["fp32", "bf16"]) await torchTime("ae", d);
  times.dit.push(await time(() => ditStep(ditArgs).then((r) => r.loss.dispose())));
  for (const d of ["fp32", "bf16"]) await torchTime("dit", d);
  times.vel.push(await time(() => velocity(velArgs).then((r) => r.dispose())));
  for (const d of ["fp32", "bf16"]) await torchTime("velocity", d);
  times.dec.push(await time(() => decode(decArgs).then((r) => r.dispose())));
  for (const d of ["fp32", "bf16"]) await torchTime("decode", d);
}
rows.push([
  `autoencoder training step, batch ${AE_BATCH}`,
  median(times.ae),
  aeFlops,
  AE_BATCH,
  "ae",
]);
rows.push([
  `text + DiT training step, batch ${DIT_BATCH} (${tokens} tokens)`,
  median(times.dit),
  ditFlops,
  DIT_BATCH,
  "dit",
]);
rows.push([
  "one sampling step, guidance batched (2 × 1 clip)",
  median(times.vel),
  velFlops,
  1,
  "velocity",
]);
rows.push([
  "decode one clip (≈ half the AE forward FLOPs)",
  median(times.dec),
  decFlops,
  1,
  "decode",
]);
const torchMemory = torch ? ((await torch.ask({ memory: true })).max_rss_kb as number) : null;
torch?.close();
console.log(
  `\nparameters: autoencoder ${ae.parameterCount().toLocaleString()}, text + DiT ${t2v.parameterCount().toLocaleString()}`,
);
console.log(
  "\n| step | zoetrope ms | GFLOP | GFLOP/s | samples/s | torch fp32 ms | ratio | torch bf16 ms | ratio |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const [name, ms, flops, n, kind] of rows) {
  const cell = (t?: number[]) =>
    t ? `${median(t).toFixed(0)} | ${(median(t) / ms).toFixed(2)}×` : "— | —";
  console.log(
    `| ${name} | ${ms.toFixed(0)} | ${(flops / 1e9).toFixed(1)} | ${(flops / 1e9 / (ms / 1000)).toFixed(0)} | ${((n * 1000) / ms).toFixed(1)} | ${cell(torchTimes[`${kind}/fp32`])} | ${cell(torchTimes[`${kind}/bf16`])} |`,
  );
}
console.log("ratio = PyTorch ms / zoetrope ms (above 1: zoetrope is faster)");
console.log(
  `peak RSS: zoetrope process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB${torchMemory ? `, PyTorch process ${(torchMemory / 1024).toFixed(0)} MiB` : ""}`,
);
const sampling25 = 25 * median(times.vel) + median(times.dec);
console.log(`\n25 guided steps + decode ≈ ${(sampling25 / 1000).toFixed(2)} s per clip`);
console.log(
  `one hour trains ≈ ${Math.floor(3600e3 / median(times.ae))} autoencoder steps or ≈ ${Math.floor(3600e3 / median(times.dit))} text-to-video steps`,
);
