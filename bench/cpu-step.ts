/**
 * The compiled CPU path against PyTorch on the same cores, in one run: a DiT block's whole
 * training step (forward, backward, AdamW) and its forward, compiled to one ONNX Runtime graph
 * each, beside PyTorch fp32 and bf16 autocast on the same architecture and shapes
 * (bench/cpu-step.py, Debian's python3-torch), and the eager CPU reference (forward only: a
 * training step takes minutes there).
 *
 * With --model (default world-s, the bundled config; repeatable or comma-separated; none for
 * the DiT blocks alone), also a model's whole steps beside the same networks in PyTorch: the
 * autoencoder's training step, the text + DiT training step, one guided sampling step and the
 * decode, from bench/model-step.ts run as a child once per task (--task ae, t2v, sample), so
 * that each row's peak RSS, zoetrope's and PyTorch's, is that task's own process's.
 *
 *   node --import tsx bench/cpu-step.ts [--json] [--reps 7] [--rounds 3] [--no-eager]
 *     [--shapes small|all] [--model world-s[,tiny]|none]
 *
 * Contenders alternate in rounds (zoetrope, torch fp32, torch bf16, …) so that the shared
 * machine's drift hits all of them; each figure is the median over rounds × reps after warm-up
 * (--reps and --rounds pass to bench/model-step.ts too). The table gives each row's peak RSS;
 * --json writes {"cpu", "rows"} (rows as bench/bench-common.ts's Row) to stdout, the rest to
 * stderr.
 * Needs: apt-get install python3-torch libopenblas0-openmp (Debian's torch uses the reference
 * BLAS until OpenBLAS is installed). ZOETROPE_PYTHON picks the interpreter (default
 * /usr/bin/python3, Debian's, where its torch lives).
 */
import { execFileSync } from "node:child_process";
import { compile } from "../src/compile/compile.ts";
import { createDevice, type Device } from "../src/devices.ts";
import { noGrad, tidy } from "../src/tensor/engine.ts";
import { mseLoss } from "../src/tensor/ops/loss.ts";
import { mean } from "../src/tensor/ops/reduce.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { choosePrecision } from "../src/train/mixed-precision.ts";
import { Trainer } from "../src/train/trainer.ts";
import { Rng } from "../src/util/rng.ts";
import {
  peakRss,
  type Row,
  startTorch,
  summarise,
  type TorchChild,
  timeIt,
} from "./bench-common.ts";
import { cpuModel } from "./cpu-info.ts";
import { DitBlock, ditBlockFlops } from "./dit-block.ts";

interface Shape {
  name: string;
  B: number;
  T: number;
  D: number;
  H: number;
}

const SHAPES: Shape[] = [
  { name: "dit-block B8 T256 D256", B: 8, T: 256, D: 256, H: 4 },
  { name: "dit-block B8 T512 D384", B: 8, T: 512, D: 384, H: 6 },
];

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const JSON_OUT = flag("--json");
const REPS = option("--reps", 5);
const ROUNDS = option("--rounds", 3);
const EAGER = !flag("--no-eager");
const ONLY_SMALL = argv.includes("small");
/** Every --model value, split at commas; world-s when none is given, nothing for "none". */
const MODELS = argv
  .flatMap((a, i) => (argv[i - 1] === "--model" ? a.split(",") : []))
  .filter(Boolean);
if (!MODELS.length) MODELS.push("world-s");
if (MODELS.includes("none")) MODELS.length = 0;
const log = (s: string) => (JSON_OUT ? process.stderr : process.stdout).write(`${s}\n`);

function inputs(device: Device, s: Shape, seed: number) {
  const rng = new Rng(seed);
  return {
    x: device.randn([s.B, s.T, s.D], rng),
    c: device.randn([s.B, s.D], rng),
    target: device.randn([s.B, s.T, s.D], rng),
  };
}

/** The training step, the forward in f32, and the forward with int8 weight matmuls. */
const TASKS = ["train", "forward", "forward-int8"] as const;

async function benchShape(s: Shape, torch: TorchChild | null): Promise<Row[]> {
  const device = await createDevice({ kind: "onnx" });
  const block = new DitBlock(device, new Rng(0), s.D, s.H);
  const trainer = new Trainer(block.parameters(), {
    policy: choosePrecision(device, "f32"),
    optimizer: { lr: 1e-4, weightDecay: 0 },
  });
  const { x, c, target } = inputs(device, s, 1);
  type Batch = { x: Tensor; c: Tensor; target: Tensor };
  const train = compile((b: Batch) => ({
    loss: trainer.step(() => mseLoss(block.forward(b.x, b.c), b.target)).loss,
  }));
  const forward = compile((b: { x: Tensor; c: Tensor }) =>
    noGrad(() => mean(block.forward(b.x, b.c))),
  );
  const t0 = performance.now();
  await train({ x, c, target });
  const compileMs = performance.now() - t0;
  const p = [...train.programs.values()][0];
  log(
    `${s.name}: compiled the training step (${p.ops} op calls → ${p.nodes} ONNX nodes) in ${compileMs.toFixed(0)} ms`,
  );
  // Sampling with int8 weight matmuls (compile's `weights: "int8"`): weights fixed at compile.
  const forwardInt8 = compile(
    (b: { x: Tensor; c: Tensor }) => noGrad(() => mean(block.forward(b.x, b.c))),
    { weights: "int8" },
  );
  await forward({ x, c });
  await forwardInt8({ x, c });
  if (torch) await torch.ask({ setup: s });
  const times: Record<string, number[]> = {};
  const add = (k: string, ms: number[]) => {
    times[k] = [...(times[k] ?? []), ...ms];
  };
  for (const task of TASKS) {
    // Warm up every contender, then alternate them round by round.
    const zo = () =>
      task === "train"
        ? train({ x, c, target }).then((r) => r.loss.dispose())
        : (task === "forward" ? forward : forwardInt8)({ x, c }).then((r) => r.dispose());
    const torchTask = task === "train" ? "train" : "forward";
    await timeIt(zo, 2);
    if (torch)
      for (const dtype of ["fp32", "bf16"]) await torch.ask({ time: torchTask, dtype, reps: 2 });
    for (let round = 0; round < ROUNDS; round++) {
      add(`${task}/zoetrope`, await timeIt(zo, REPS));
      if (torch) {
        for (const dtype of ["fp32", "bf16"]) {
          const r = await torch.ask({ time: torchTask, dtype, reps: REPS });
          add(`${task}/torch_${dtype}`, r.ms as number[]);
        }
      }
    }
  }
  const memory = await peakRss(torch);
  let eagerMs: number | null = null;
  if (EAGER && s.T <= 256) {
    // The eager reference: forward only, best of two (a training step takes minutes).
    const cpu = await createDevice({ kind: "cpu" });
    const ref = new DitBlock(cpu, new Rng(0), s.D, s.H);
    const ri = inputs(cpu, s, 1);
    const ms = await timeIt(async () => noGrad(() => tidy(() => void ref.forward(ri.x, ri.c))), 2);
    eagerMs = Math.min(...ms);
  }
  const fwd = ditBlockFlops(s.B, s.T, s.D);
  return TASKS.map((task) => ({
    name: s.name,
    task,
    ...summarise(times, task),
    eager_ms: task === "forward" ? eagerMs : null,
    gflop: (task === "train" ? 3 : 1) * fwd * 1e-9,
    ...memory,
  }));
}

/** bench/model-step.ts --json for one task of one model config, in its own process. */
function modelRows(model: string, task: "ae" | "t2v" | "sample"): Row[] {
  const script = new URL("./model-step.ts", import.meta.url).pathname;
  const args = ["--config", model, "--task", task, "--json"];
  args.push("--reps", String(REPS), "--rounds", String(ROUNDS));
  const out = execFileSync(process.execPath, [...process.execArgv, script, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out).rows;
}

const cpu = cpuModel();
log(`CPU: ${cpu.model}; SIMD: ${cpu.flags}`);
const torch = startTorch("./cpu-step.py", log);
const rows: Row[] = [];
for (const s of ONLY_SMALL ? SHAPES.slice(0, 1) : SHAPES)
  rows.push(...(await benchShape(s, torch)));
torch?.close();
for (const model of MODELS)
  for (const task of ["ae", "t2v", "sample"] as const) rows.push(...modelRows(model, task));
const f = (v: number | null) => (v === null ? "—" : v.toFixed(1));
log(
  `\n| step | task | zoetrope ms | GFLOP/s | torch fp32 ms | ratio vs fp32 | torch bf16 ms | ratio vs bf16 | eager ms | peak RSS MiB | torch peak RSS MiB |`,
);
log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const ratio = (t: number | null) => (t === null ? "—" : `${(t / r.zoetrope_ms).toFixed(2)}×`);
  log(
    `| ${r.name} | ${r.task} | ${f(r.zoetrope_ms)} (${r.spread.zoetrope}) | ${(r.gflop / (r.zoetrope_ms / 1000)).toFixed(0)} | ${f(r.torch_fp32_ms)} | ${ratio(r.torch_fp32_ms)} | ${f(r.torch_bf16_ms)} | ${ratio(r.torch_bf16_ms)} | ${f(r.eager_ms)} | ${r.peak_rss_mib.toFixed(0)} | ${r.torch_peak_rss_mib?.toFixed(0) ?? "—"} |`,
  );
}
log("ratio = PyTorch ms / zoetrope ms (above 1: the compiled step is faster)");
if (JSON_OUT) process.stdout.write(`${JSON.stringify({ cpu, rows }, null, 1)}\n`);
