/**
 * A fuzzer for the `zoetrope` command: every command driven with random and hostile arguments
 * and input files (random bytes; truncated and corrupted MP4, PNG and JSON; huge, negative and
 * malformed numbers; odd paths; devices, pipes, folders), each run in a sandbox folder through
 * the real launcher. After each run it counts:
 *
 * - crashes: the process died by a signal, or stderr shows a stack trace or a raw JS error;
 * - hangs: the run passed its time limit;
 * - clobbered files: a file that existed before changed although the command failed or was not
 *   asked to write it (inputs above all), or a device stopped being one;
 * - half-written files: temporary or staging names left behind, an output that is not whole
 *   (an MP4 that fails checkMp4, JSON that does not parse, a dataset that does not match its
 *   index), or a folder the command made and left empty after failing;
 * - unclear failures: a non-zero exit without an "error:" line.
 *
 * All must be 0. The quick version runs in the tests (test/cli-fuzz.test.ts), the full one in
 * bench/cli-fuzz.ts. Deterministic by seed (the argument lists; timing may vary).
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { checkClip, readDatasetIndex } from "../data/dataset-index.ts";
import { writeState } from "../data/state-file.ts";
import { runFfmpeg } from "../media/ffmpeg.ts";
import { checkMp4 } from "../media/mp4-boxes.ts";
import { writeMp4 } from "../media/write-mp4.ts";
import { Rng } from "../util/rng.ts";
import { expandPrompt } from "../world/expand.ts";
import { simulate } from "../world/simulate.ts";
import { LAUNCHER } from "./run-cli.ts";

export interface FuzzCounts {
  runs: number;
  crashes: number;
  hangs: number;
  clobbered: number;
  halfWritten: number;
  unclear: number;
  /** Runs that exited 0 / non-zero (for the record, neither is wrong in itself). */
  succeeded: number;
  failed: number;
  /** One line per problem found, with the arguments that caused it. */
  problems: string[];
  /** How runs ended: "ok" or the start of the error line, with counts. */
  outcomes: Record<string, number>;
}

export function emptyCounts(): FuzzCounts {
  return {
    runs: 0,
    crashes: 0,
    hangs: 0,
    clobbered: 0,
    halfWritten: 0,
    unclear: 0,
    succeeded: 0,
    failed: 0,
    problems: [],
    outcomes: {},
  };
}

/** The sandbox's input files: made once, restored after every run that touches them. */
export async function makeCorpus(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { scene } = expandPrompt("a red ball bouncing at night", 2);
  const { video, truth } = simulate(scene, { width: 32, height: 24, fps: 8, seconds: 1 });
  const good = join(dir, "good.mp4");
  await writeMp4(video, good);
  await writeState(join(dir, "good.json"), 2, truth);
  const mp4 = await readFile(good);
  const rng = new Rng(99);
  const corrupt = Buffer.from(mp4);
  for (let i = 0; i < 40; i++) corrupt[rng.int(0, corrupt.length - 1)] = rng.int(0, 255);
  const files: Record<string, Uint8Array | string> = {
    "cut-half.mp4": mp4.subarray(0, mp4.length >> 1),
    "cut-tail.mp4": mp4.subarray(0, mp4.length - 7),
    "cut-head.mp4": mp4.subarray(0, 24),
    "corrupt.mp4": corrupt,
    "random.mp4": Uint8Array.from({ length: 5000 }, () => rng.int(0, 255)),
    "empty.mp4": "",
    "text.mp4": "a red ball bouncing\n",
    "cut.json": (await readFile(join(dir, "good.json"), "utf8")).slice(0, 300),
    "wrong-types.json": JSON.stringify({
      scene: null,
      width: -5,
      height: "x",
      fps: "1e309",
      frames: {},
      events: 3,
    }),
    "huge-numbers.json": JSON.stringify({ ...truth, width: 1e12, height: 2 ** 53, fps: -1 }),
    "deep.json": `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
    "null.json": "null",
    "random.json": Uint8Array.from({ length: 2000 }, () => rng.int(0, 255)),
    "notes.txt": "not a video",
  };
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  const png = join(dir, "image.png");
  const made = await runFfmpeg([
    ...["-f", "lavfi", "-i", "color=c=blue:s=20x10", "-frames:v", "1", "-y", png],
  ]);
  if (made.code !== 0) throw new Error(`fuzz corpus: ffmpeg could not make a PNG: ${made.stderr}`);
  const pngBytes = await readFile(png);
  await writeFile(join(dir, "cut.png"), pngBytes.subarray(0, pngBytes.length >> 1));
  await writeFile(join(dir, "png-named.mp4"), pngBytes);
  await mkdir(join(dir, "a folder.mp4"));
  await symlink("loop-b", join(dir, "loop-a"));
  await symlink("loop-a", join(dir, "loop-b"));
  await symlink("missing-target", join(dir, "dangling.mp4"));
  execFileSync("mkfifo", [join(dir, "fifo.mp4")]);
  await writeFile(join(dir, "-starts-with-dash.mp4"), mp4);
  await writeFile(join(dir, "ünïcødé clip.mp4"), mp4);
  // A small finished dataset, and a damaged copy of its index.
  const ds = await runLauncher(
    [
      "world",
      "dataset",
      "--count",
      "2",
      "-o",
      join(dir, "ds"),
      "--width",
      "16",
      "--height",
      "16",
    ].concat(["--seconds", "1", "--fps", "4"]),
    dir,
    60_000,
  );
  if (ds.code !== 0) throw new Error(`fuzz corpus: dataset failed: ${ds.stderr}`);
}

const INPUTS = [
  "good.mp4",
  "cut-half.mp4",
  "cut-tail.mp4",
  "cut-head.mp4",
  "corrupt.mp4",
  "random.mp4",
  "empty.mp4",
  "text.mp4",
  "image.png",
  "cut.png",
  "png-named.mp4",
  "a folder.mp4",
  "loop-a",
  "dangling.mp4",
  "fifo.mp4",
  "-starts-with-dash.mp4",
  "ünïcødé clip.mp4",
  "ds",
  "missing.mp4",
  "/dev/zero",
  "/dev/null",
  "/proc/self/status",
  "",
];
const JSONS = [
  "good.json",
  "cut.json",
  "wrong-types.json",
  "huge-numbers.json",
  "deep.json",
  "null.json",
  "random.json",
  "notes.txt",
  "good.mp4",
  "missing.json",
  "ds/index.json",
];
const OUTPUTS = [
  "out.mp4",
  "new/deeper/out.mp4",
  "good.mp4",
  "good.json",
  "a folder.mp4",
  "fifo.mp4",
  "dangling.mp4",
  "loop-a",
  "notes.txt/x.mp4",
  "/dev/null",
  "/dev/full",
  "/proc/fuzz/x.mp4",
  "-o",
  "-starts-with-dash.mp4",
  `${"n".repeat(300)}.mp4`,
  "new line\nname.mp4",
  "ds",
  "ds/index.json",
  "",
  ".",
];
const NUMBERS = [
  "-1",
  "0",
  "1",
  "7",
  "8",
  "9",
  "33",
  "2049",
  "1e309",
  "NaN",
  "0x10",
  "1.5",
  " 12 ",
  "",
  "99999999999999999999",
  "-0",
  "Infinity",
  "12abc",
];
const WORDS = [
  "red",
  "blue",
  "ball",
  "balls",
  "box",
  "two",
  "bouncing",
  "sliding",
  "left",
  "at",
  "night",
  "a",
  "the",
  "no",
  "not",
  "without",
  "flurble",
  "zorp",
  "behind",
  "pillar",
  "underwater",
  "panning",
  "and",
  "five",
  "ßüñ",
  "🙂",
  "\u0007\u001b[31m",
  "--",
];

function prompt(rng: Rng): string {
  if (rng.chance(0.05)) return "x".repeat(rng.pick([999, 1001, 20_000]));
  if (rng.chance(0.05)) return rng.pick(["", " ", "\n", "\t"]);
  return Array.from({ length: rng.int(1, 7) }, () => rng.pick(WORDS)).join(" ");
}

/** A small in-range clip shape (so valid runs stay quick), or a hostile value now and then. */
function shapeArgs(rng: Rng): string[] {
  const args: string[] = [];
  const num = (valid: () => string) => (rng.chance(0.25) ? rng.pick(NUMBERS) : valid());
  if (rng.chance(0.7))
    args.push(
      "--width",
      num(() => String(rng.int(8, 48))),
    );
  if (rng.chance(0.7))
    args.push(
      "--height",
      num(() => String(rng.int(8, 48))),
    );
  if (rng.chance(0.6))
    args.push(
      "--fps",
      num(() => String(rng.int(1, 12))),
    );
  if (rng.chance(0.6))
    args.push(
      "--seconds",
      num(() => String(rng.pick([0.1, 0.5, 1]))),
    );
  if (rng.chance(0.4))
    args.push(
      "--seed",
      num(() => String(rng.int(0, 1000))),
    );
  if (rng.chance(0.2)) args.push("--lossless");
  return args;
}

/** One random command line (paths relative to the sandbox). */
export function randomArgs(rng: Rng): string[] {
  const kind = rng.int(0, 9);
  if (kind <= 3) {
    const args = ["world", "render"];
    if (rng.chance(0.9)) args.push("--prompt", prompt(rng));
    if (rng.chance(0.9)) args.push("-o", rng.pick(OUTPUTS));
    if (rng.chance(0.3)) args.push("--truth", rng.pick([...OUTPUTS, "truth.json"]));
    return [...args, ...shapeArgs(rng)];
  }
  if (kind <= 5) {
    const args = ["world", "dataset"];
    if (rng.chance(0.8))
      args.push("--count", rng.chance(0.3) ? rng.pick(NUMBERS) : String(rng.int(1, 3)));
    if (rng.chance(0.9)) args.push("-o", rng.pick(["set", "ds", "new/set", ...OUTPUTS]));
    if (rng.chance(0.2)) args.push("--resume");
    if (rng.chance(0.2))
      args.push(
        "--buckets",
        rng.pick(["16x16x2", "16x16x2,24x16x3", "8x8", "0x0x0", "3000x8x1", ","]),
      );
    return [...args, ...shapeArgs(rng)];
  }
  if (kind <= 8) {
    const args = ["eval", rng.pick(INPUTS)];
    if (rng.chance(0.5)) args.push("--prompt", prompt(rng));
    if (rng.chance(0.3)) args.push("--json", rng.pick([...OUTPUTS, "report.json"]));
    if (rng.chance(0.3)) args.push("--reference", rng.pick(JSONS));
    if (rng.chance(0.3)) args.push("--context-frames", rng.chance(0.5) ? rng.pick(NUMBERS) : "2");
    return args;
  }
  // Junk: unknown commands, stray options, help.
  return rng.pick([
    ["paint"],
    ["--help"],
    ["world"],
    ["world", "render", "--help"],
    ["eval", "--json"],
    ["world", "render", "--prompt"],
    ["--version"],
    ["world", "dataset", "--count", "1", "-o", "x", "extra", "args"],
    ["-o", "x.mp4"],
  ]);
}

interface Entry {
  kind: "file" | "dir" | "link" | "fifo" | "other";
  hash?: string;
}

async function snapshot(root: string): Promise<Map<string, Entry>> {
  const map = new Map<string, Entry>();
  const walk = async (dir: string) => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const info = await lstat(path);
      const rel = relative(root, path);
      if (info.isSymbolicLink()) map.set(rel, { kind: "link" });
      else if (info.isFIFO()) map.set(rel, { kind: "fifo" });
      else if (info.isDirectory()) {
        map.set(rel, { kind: "dir" });
        await walk(path);
      } else if (info.isFile()) {
        const hash = createHash("sha256")
          .update(await readFile(path))
          .digest("hex");
        map.set(rel, { kind: "file", hash });
      } else map.set(rel, { kind: "other" });
    }
  };
  await walk(root);
  return map;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runLauncher(args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [LAUNCHER, ...args],
      { cwd, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 1 << 26, encoding: "latin1" },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
        resolve({
          code: child.exitCode,
          signal: child.signalCode,
          stdout,
          stderr,
          timedOut: e?.killed === true && child.signalCode === "SIGKILL",
        });
      },
    );
  });
}

const STACK =
  /^\s+at .+(:\d+:\d+\)?|\(native\))$|node:internal|\b(TypeError|ReferenceError|SyntaxError|RangeError)\b(?!.*error:)/m;

/** The sandbox paths the arguments name as outputs. */
function outputsOf(args: string[]): string[] {
  const outs: string[] = [];
  for (let i = 0; i < args.length - 1; i++) {
    if (["-o", "--output", "--truth", "--json"].includes(args[i])) outs.push(args[i + 1]);
  }
  return outs;
}

/** The sandbox paths the arguments name as inputs (never to be changed). */
function inputsOf(args: string[]): string[] {
  const ins: string[] = [];
  if (args[0] === "eval" && args[1] !== undefined) ins.push(args[1]);
  for (let i = 0; i < args.length - 1; i++) if (args[i] === "--reference") ins.push(args[i + 1]);
  return ins;
}

/** Whether a new or replaced output file is whole. */
async function wholeOutput(path: string): Promise<string | null> {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) return null;
  const text = await readFile(path);
  if (text.subarray(4, 8).toString("latin1") === "ftyp") {
    const check = await checkMp4(path);
    return check.complete ? null : `incomplete MP4 (${check.problem})`;
  }
  if (path.endsWith(".json") && info.size > 0 && text[0] === 0x7b) {
    try {
      JSON.parse(text.toString("utf8"));
    } catch {
      return "JSON that does not parse";
    }
  }
  return null;
}

/** Runs one command in `sandbox` and adds what it finds to `counts`. */
export async function fuzzOne(
  args: string[],
  sandbox: string,
  pristine: Map<string, Entry>,
  corpus: string,
  counts: FuzzCounts,
  timeoutMs: number,
): Promise<void> {
  const r = await runLauncher(args, sandbox, timeoutMs);
  counts.runs += 1;
  const shown = JSON.stringify(args).slice(0, 300);
  const problem = (what: string) => counts.problems.push(`${what}: ${shown}`);
  if (r.timedOut) {
    counts.hangs += 1;
    problem(`hang (over ${timeoutMs / 1000} s)`);
  } else if (r.signal !== null || STACK.test(r.stderr)) {
    counts.crashes += 1;
    problem(
      `crash (${r.signal ?? `exit ${r.code}`}): ${r.stderr.split("\n").slice(0, 3).join(" | ")}`,
    );
  } else if (r.code !== 0 && !/^error: /m.test(r.stderr)) {
    counts.unclear += 1;
    problem(`unclear failure (exit ${r.code}): ${r.stderr.slice(0, 200)}`);
  }
  if (r.code === 0) counts.succeeded += 1;
  else counts.failed += 1;
  const reason = r.code === 0 ? "ok" : (/^error: (.{0,60})/m.exec(r.stderr)?.[1] ?? "?");
  counts.outcomes[reason] = (counts.outcomes[reason] ?? 0) + 1;

  const inputs = new Set(inputsOf(args));
  const outputs = new Set(outputsOf(args).filter((o) => !inputs.has(o)));
  const after = await snapshot(sandbox);
  let clobbered = 0;
  let half = 0;
  for (const [rel, before] of pristine) {
    const now = after.get(rel);
    const named = outputs.has(rel);
    // Inside a dataset folder named as the output, clips and the index may change as clips land
    // (their consistency is checked below).
    const inDataset = [...outputs].some((o) => o !== "" && rel.startsWith(`${o}/`));
    if (!now) {
      if (inDataset) continue;
      clobbered += 1;
      problem(`removed ${rel}`);
    } else if (now.kind !== before.kind || now.hash !== before.hash) {
      const allowed =
        (r.code === 0 && named && now.kind === "file" && before.kind === "file") || inDataset;
      if (!allowed) {
        clobbered += 1;
        problem(`changed ${rel} (${before.kind} → ${now.kind})`);
      }
    }
  }
  for (const [rel, now] of after) {
    const base = rel.split("/").at(-1) ?? rel;
    if (/\.tmp$|\.partial-\d+$/.test(base)) {
      half += 1;
      problem(`left ${rel}`);
      continue;
    }
    const before = pristine.get(rel);
    if (now.kind === "file" && (!before || before.hash !== now.hash)) {
      const bad = await wholeOutput(join(sandbox, rel));
      if (bad) {
        half += 1;
        problem(`${rel} is an ${bad}`);
      }
      if (!before && r.code !== 0 && !/(^|\/)(clip-\d+\/[^/]+|index\.json)$/.test(rel)) {
        half += 1;
        problem(`failed run left a new file ${rel}`);
      }
    }
    if (now.kind === "dir" && !before && r.code !== 0) {
      const inside = [...after.keys()].some((k) => k.startsWith(`${rel}/`));
      const isDataset = await readDatasetIndex(join(sandbox, rel)).catch(() => null);
      if (!inside && !isDataset) {
        half += 1;
        problem(`failed run left an empty folder ${rel}`);
      }
    }
  }
  // Every dataset folder (new or old) is consistent: the index lists exactly the whole clips.
  for (const [rel, now] of after) {
    if (now.kind !== "dir" || !after.has(`${rel}/index.json`)) continue;
    const index = await readDatasetIndex(join(sandbox, rel)).catch(() => null);
    if (!index) continue;
    const folders = [...after.keys()].filter((k) =>
      new RegExp(`^${escapeRegExp(rel)}/clip-\\d+$`).test(k),
    );
    const listed = index.clips.map((c) => `${rel}/${c.name}`);
    if (folders.sort().join() !== listed.sort().join()) {
      half += 1;
      problem(`dataset ${rel} does not match its index`);
    }
    for (const clip of index.clips) {
      const bad = await checkClip(join(sandbox, rel), clip, true);
      if (bad) {
        half += 1;
        problem(`dataset ${rel}: ${bad}`);
      }
    }
  }
  if (!(await lstat("/dev/null")).isCharacterDevice()) {
    clobbered += 1;
    problem("/dev/null is no longer a device");
  }
  counts.clobbered += clobbered;
  counts.halfWritten += half;
  await restore(sandbox, corpus, pristine, after);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Puts the sandbox back as the corpus is: new things removed, changed files copied back. */
async function restore(
  sandbox: string,
  corpus: string,
  pristine: Map<string, Entry>,
  after: Map<string, Entry>,
): Promise<void> {
  let dirty = false;
  for (const [rel, now] of after) {
    const before = pristine.get(rel);
    if (!before || before.kind !== now.kind || before.hash !== now.hash) dirty = true;
  }
  for (const rel of pristine.keys()) if (!after.has(rel)) dirty = true;
  if (!dirty) return;
  await rm(sandbox, { recursive: true, force: true });
  execFileSync("cp", ["-a", corpus, sandbox]);
}

/** Makes the corpus and `workers` sandboxes under `root`; returns what fuzzOne needs. */
export async function prepareFuzz(
  root: string,
  workers: number,
): Promise<{ corpus: string; sandboxes: string[]; pristine: Map<string, Entry> }> {
  const corpus = join(root, "corpus");
  await makeCorpus(corpus);
  const sandboxes: string[] = [];
  for (let w = 0; w < workers; w++) {
    const box = join(root, `sandbox-${w}`);
    execFileSync("cp", ["-a", corpus, box]);
    sandboxes.push(box);
  }
  return { corpus, sandboxes, pristine: await snapshot(corpus) };
}

/**
 * Runs random commands from `seed` on `workers` sandboxes until `budgetMs` has passed (or
 * `maxRuns` is reached); each run limited to `timeoutMs`.
 */
export async function fuzz(opts: {
  root: string;
  seed: number;
  budgetMs: number;
  maxRuns?: number;
  workers?: number;
  timeoutMs?: number;
  onRun?: (counts: FuzzCounts) => void;
}): Promise<FuzzCounts> {
  const workers = opts.workers ?? 2;
  const { corpus, sandboxes, pristine } = await prepareFuzz(opts.root, workers);
  const counts = emptyCounts();
  const rng = new Rng(opts.seed);
  const deadline = Date.now() + opts.budgetMs;
  let issued = 0;
  const worker = async (box: string) => {
    while (Date.now() < deadline && issued < (opts.maxRuns ?? Infinity)) {
      issued += 1;
      await fuzzOne(randomArgs(rng), box, pristine, corpus, counts, opts.timeoutMs ?? 60_000);
      opts.onRun?.(counts);
    }
  };
  await Promise.all(sandboxes.map(worker));
  return counts;
}
