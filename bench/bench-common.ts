/**
 * What bench/cpu-step.ts and bench/model-step.ts share: the row both print and write with
 * `--json`, the timing and its summary, and PyTorch in a child process (bench/cpu-step.py,
 * bench/model-step.py) that answers one JSON command per line.
 */
import { execSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** One timed step against PyTorch, as the tables print it and `--json` writes it. */
export interface Row {
  name: string;
  /** "train": forward, backward and the optimiser; "forward": inference (int8 weight matmuls). */
  task: "train" | "forward" | "forward-int8";
  zoetrope_ms: number;
  torch_fp32_ms: number | null;
  torch_bf16_ms: number | null;
  eager_ms: number | null;
  gflop: number;
  /** Fastest–slowest timing per contender: zoetrope, torch_fp32, torch_bf16. */
  spread: Record<string, string>;
  /** Peak resident memory of the process that ran the step, and of its PyTorch child. */
  peak_rss_mib: number;
  torch_peak_rss_mib: number | null;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : Number.NaN;
};

const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? `${s[0].toFixed(1)}–${s[s.length - 1].toFixed(1)}` : "";
};

/** Milliseconds of each of `reps` runs. */
export async function timeIt(run: () => Promise<unknown>, reps: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/**
 * A row's timings from `times`, keyed `<step>/zoetrope`, `<step>/torch_fp32` and
 * `<step>/torch_bf16`: the median of each contender's runs and their spread.
 */
export function summarise(times: Record<string, number[]>, step: string) {
  const of = (who: string) => times[`${step}/${who}`];
  const ms = (who: string) => (of(who) ? median(of(who)) : null);
  return {
    zoetrope_ms: median(of("zoetrope")),
    torch_fp32_ms: ms("torch_fp32"),
    torch_bf16_ms: ms("torch_bf16"),
    spread: Object.fromEntries(
      ["zoetrope", "torch_fp32", "torch_bf16"]
        .filter((who) => of(who))
        .map((who) => [who, spread(of(who))]),
    ),
  };
}

export interface TorchChild {
  /** Sends one command, returns its answer; an `{"error": ...}` answer throws. */
  ask(cmd: object): Promise<Record<string, unknown>>;
  close(): void;
}

/**
 * `script` (a path beside this file) under Debian's python3 (ZOETROPE_PYTHON overrides), or
 * null after saying so when that python has no torch.
 */
export function startTorch(script: string, log: (s: string) => void): TorchChild | null {
  const python =
    process.env.ZOETROPE_PYTHON ??
    (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  try {
    execSync(`${python} -c "import torch, numpy"`, { stdio: "ignore" });
  } catch {
    log(
      "PyTorch not found: apt-get install -y python3-torch python3-numpy libopenblas0-openmp (Debian), or set ZOETROPE_PYTHON. Timing zoetrope alone.",
    );
    return null;
  }
  const proc = spawn(python, [new URL(script, import.meta.url).pathname], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return {
    async ask(cmd) {
      proc.stdin.write(`${JSON.stringify(cmd)}\n`);
      const next = await lines.next();
      if (next.done) throw new Error(`${script}: the PyTorch process ended`);
      const answer = JSON.parse(next.value);
      if (answer.error) throw new Error(`${script}: ${answer.error}`);
      return answer;
    },
    close: () => proc.stdin.end(),
  };
}

/**
 * Peak resident memory of this process in MiB: Linux's VmHWM, the high-water mark of this
 * process's own address space. (process.resourceUsage().maxRSS carries the parent's resident
 * size at fork across exec: a 39 MiB child of a 500 MiB node process reads 504 MiB.)
 */
export function ownPeakRssMib(): number {
  try {
    const kb = readFileSync("/proc/self/status", "utf8").match(/^VmHWM:\s*(\d+) kB/m)?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // Not Linux: fall back to getrusage.
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Peak resident memory in MiB of this process and of the PyTorch child (bench/peak_rss.py). */
export async function peakRss(torch: TorchChild | null) {
  const torchKb = torch ? ((await torch.ask({ memory: true })).max_rss_kb as number) : null;
  return {
    peak_rss_mib: ownPeakRssMib(),
    torch_peak_rss_mib: torchKb === null ? null : torchKb / 1024,
  };
}
