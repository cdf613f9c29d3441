/**
 * The compiled CPU path against PyTorch on the same cores, in one run: a DiT block's whole
 * training step (forward, backward, AdamW) and its forward, compiled to one ONNX Runtime graph
 * each, beside PyTorch fp32 and bf16 autocast on the same architecture and shapes
 * (bench/cpu-step.py, Debian's python3-torch), and the eager CPU reference (forward only: a
 * training step takes minutes there).
 *
 *   node --import tsx bench/cpu-step.ts [--json] [--reps 7] [--rounds 3] [--no-eager] [--shapes small|all]
 *
 * Contenders alternate in rounds (zoetrope, torch fp32, torch bf16, …) so that the shared
 * machine's drift hits all of them; each figure is the median over rounds × reps after warm-up.
 * Needs: apt-get install python3-torch libopenblas0-openmp (Debian's torch uses the reference
 * BLAS until OpenBLAS is installed). ZOETROPE_PYTHON picks the interpreter (default
 * /usr/bin/python3, Debian's, where its torch lives).
 */
import { type ChildProcessWithoutNullStreams, execSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { compile } from "../src/compile/compile.ts";
import { createDevice, type Device } from "../src/devices.ts";
import { noGrad, tidy } from "../src/tensor/engine.ts";
import { mseLoss } from "../src/tensor/ops/loss.ts";
import { mean } from "../src/tensor/ops/reduce.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { choosePrecision } from "../src/train/mixed-precision.ts";
import { Trainer } from "../src/train/trainer.ts";
import { Rng } from "../src/util/rng.ts";
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
const log = (s: string) => (JSON_OUT ? process.stderr : process.stdout).write(`${s}\n`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : Number.NaN;
};
const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? `${s[0].toFixed(1)}–${s[s.length - 1].toFixed(1)}` : "";
};

/** PyTorch in a child process that answers one JSON command per line. */
class Torch {
  private proc: ChildProcessWithoutNullStreams;
  private lines: AsyncIterator<string>;
  constructor(python: string) {
    this.proc = spawn(python, [new URL("./cpu-step.py", import.meta.url).pathname], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.proc.stderr.on("data", (d) => process.stderr.write(d));
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async ask(cmd: object): Promise<Record<string, unknown>> {
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error("PyTorch process ended (is python3-torch installed?)");
    return JSON.parse(next.value);
  }
  close(): void {
    this.proc.stdin.end();
  }
}

function findTorch(): string | null {
  const python =
    process.env.ZOETROPE_PYTHON ??
    (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  try {
    execSync(`${python} -c "import torch"`, { stdio: "ignore" });
    return python;
  } catch {
    return null;
  }
}

function inputs(device: Device, s: Shape, seed: number) {
  const rng = new Rng(seed);
  return {
    x: device.randn([s.B, s.T, s.D], rng),
    c: device.randn([s.B, s.D], rng),
    target: device.randn([s.B, s.T, s.D], rng),
  };
}

async function timeIt(run: () => Promise<unknown>, reps: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** The training step, the forward in f32, and the forward with int8 weight matmuls. */
const TASKS = ["train", "forward", "forward-int8"] as const;

interface Row {
  name: string;
  task: (typeof TASKS)[number];
  zoetrope_ms: number;
  torch_fp32_ms: number | null;
  torch_bf16_ms: number | null;
  eager_ms: number | null;
  gflop: number;
  spread: Record<string, string>;
}

async function benchShape(s: Shape, torch: Torch | null): Promise<Row[]> {
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
  const memory = process.resourceUsage().maxRSS;
  const torchMemory = torch ? ((await torch.ask({ memory: true })).max_rss_kb as number) : null;
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
  const rows: Row[] = TASKS.map((task) => ({
    name: s.name,
    task,
    zoetrope_ms: median(times[`${task}/zoetrope`]),
    torch_fp32_ms: torch ? median(times[`${task}/torch_fp32`]) : null,
    torch_bf16_ms: torch ? median(times[`${task}/torch_bf16`]) : null,
    eager_ms: task === "forward" ? eagerMs : null,
    gflop: (task === "train" ? 3 : 1) * fwd * 1e-9,
    spread: Object.fromEntries(
      Object.entries(times)
        .filter(([k]) => k.startsWith(`${task}/`))
        .map(([k, v]) => [k.split("/")[1], spread(v)]),
    ),
  }));
  log(
    `  peak RSS: zoetrope process ${(memory / 1024).toFixed(0)} MiB${torchMemory ? `, PyTorch process ${(torchMemory / 1024).toFixed(0)} MiB` : ""}`,
  );
  return rows.map((r) => ({
    ...r,
    peak_rss_mib: memory / 1024,
    torch_peak_rss_mib: torchMemory ? torchMemory / 1024 : null,
  }));
}

const cpu = cpuModel();
log(`CPU: ${cpu.model}; SIMD: ${cpu.flags}`);
const python = findTorch();
if (!python)
  log(
    "PyTorch not found: apt-get install -y python3-torch libopenblas0-openmp (Debian), or set ZOETROPE_PYTHON. Timing zoetrope alone.",
  );
const torch = python ? new Torch(python) : null;
const rows: Row[] = [];
for (const s of ONLY_SMALL ? SHAPES.slice(0, 1) : SHAPES)
  rows.push(...(await benchShape(s, torch)));
torch?.close();
const f = (v: number | null) => (v === null ? "—" : v.toFixed(1));
log(
  `\n| shape | task | zoetrope ms | GFLOP/s | torch fp32 ms | ratio vs fp32 | torch bf16 ms | ratio vs bf16 | eager ms |`,
);
log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const ratio = (t: number | null) => (t === null ? "—" : `${(t / r.zoetrope_ms).toFixed(2)}×`);
  log(
    `| ${r.name} | ${r.task} | ${f(r.zoetrope_ms)} (${r.spread.zoetrope}) | ${(r.gflop / (r.zoetrope_ms / 1000)).toFixed(0)} | ${f(r.torch_fp32_ms)} | ${ratio(r.torch_fp32_ms)} | ${f(r.torch_bf16_ms)} | ${ratio(r.torch_bf16_ms)} | ${f(r.eager_ms)} |`,
  );
}
log("ratio = PyTorch ms / zoetrope ms (above 1: the compiled step is faster)");
if (JSON_OUT) process.stdout.write(`${JSON.stringify({ cpu, rows }, null, 1)}\n`);
