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
 *
 * Commands driven: world render and dataset, eval, generate, image, train ae|dit, export --onnx,
 * the modes (animate, extend, loop, edit, connect), and serve and worker for argument validation
 * only (every serve or worker line has a value they refuse: one that started would listen until
 * killed). The model commands run on a tiny model with random weights (and damaged copies of it),
 * kept cheap: 1 to 3 steps, 16 or 32 px, at most a second, training batches of 1 or 2. Their
 * outputs are checked as they promise them: an MP4 complete (checkMp4), a PNG ending in its IEND
 * chunk, a training run whose `latest` names a complete checkpoint (and, finished, its model in
 * model/), an ONNX export all or nothing (a manifest listing exactly the graphs there).
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
import { encodePng } from "../server/png.ts";
import { writeTinyModel } from "../testing/tiny-model.ts";
import { Rng } from "../util/rng.ts";
import { expandPrompt } from "../world/expand.ts";
import { simulate } from "../world/simulate.ts";
import { AE_FILE, T2V_FILE } from "./model-files.ts";
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
  await makeModelCorpus(dir, rng);
}

/**
 * For the model commands: the tiny model (random weights) and damaged copies of it, clips and
 * pictures at sizes it makes (sides in multiples of 16, 1 + 2·k frames) and too short, a finished
 * training run to resume, and folders for `export --onnx` (empty, not empty).
 */
async function makeModelCorpus(dir: string, rng: Rng): Promise<void> {
  const model = await writeTinyModel(join(dir, "model"));
  const ae = await readFile(join(model, AE_FILE));
  const t2v = await readFile(join(model, T2V_FILE));
  const hugeHeader = Buffer.from(ae);
  hugeHeader.writeBigUInt64LE(2n ** 60n, 0);
  const copies: Record<string, Record<string, Uint8Array>> = {
    "model-cut": { [AE_FILE]: ae.subarray(0, ae.length >> 1), [T2V_FILE]: t2v },
    "model-garbage": {
      [AE_FILE]: ae,
      [T2V_FILE]: Uint8Array.from({ length: 4000 }, () => rng.int(0, 255)),
    },
    "model-header": { [AE_FILE]: hugeHeader, [T2V_FILE]: t2v },
    "model-missing": { [AE_FILE]: ae },
    "model-swapped": { [AE_FILE]: t2v, [T2V_FILE]: ae },
  };
  for (const [folder, files] of Object.entries(copies)) {
    await mkdir(join(dir, folder));
    for (const [name, data] of Object.entries(files))
      await writeFile(join(dir, folder, name), data);
  }
  const { scene } = expandPrompt("a blue box sliding left", 3);
  const clip = (width: number, height: number, frames: number) => {
    const { video } = simulate(scene, { width, height, fps: 8, seconds: 2 });
    return { ...video, frames: video.frames.slice(0, frames) };
  };
  await writeMp4(clip(16, 16, 9), join(dir, "clip-16.mp4"));
  await writeMp4(clip(32, 16, 5), join(dir, "clip-32x16.mp4"));
  await writeMp4(clip(16, 16, 1), join(dir, "clip-1f.mp4"));
  await writeMp4(clip(24, 16, 5), join(dir, "clip-24x16.mp4"));
  const still = clip(16, 16, 1);
  await writeFile(join(dir, "pic-16.png"), encodePng(still.frames[0], 16, 16));
  const wide = clip(32, 16, 1);
  await writeFile(join(dir, "pic-32x16.png"), encodePng(wide.frames[0], 32, 16));
  const run = await runLauncher(
    ["train", "ae", "--out", "run-ae", "--config", "tiny", "--steps", "1", "--batch", "1"],
    dir,
    120_000,
  );
  if (run.code !== 0) throw new Error(`fuzz corpus: train failed: ${run.stderr}`);
  await mkdir(join(dir, "run-nolatest"));
  await writeFile(join(dir, "run-nolatest", "log.csv"), "step,loss,lr,seconds\n");
  await mkdir(join(dir, "onnx-empty"));
  await mkdir(join(dir, "onnx-full"));
  await writeFile(join(dir, "onnx-full", "keep.txt"), "not to be removed\n");
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

/** Hostile values for the model commands' options: each is refused or cheap to run. */
const BAD_INT = ["-1", "0", "1e309", "NaN", "1.5", "", "99999999999999999999", "Infinity", "12abc"];
const BAD_SIZE = ["-1", "0", "7", "8", "24", "2049", "NaN", "12abc", "0x10", " 16 ", ""];
const BAD_SECONDS = ["-1", "0", "0.01", "NaN", "1e309", "121", "abc", ""];
const BAD_FPS = ["0", "-1", "121", "NaN", "0.5", "30"];
const MODELS = [
  "model",
  "model",
  "model",
  "model",
  "model-cut",
  "model-garbage",
  "model-header",
  "model-missing",
  "model-swapped",
  "missing-model",
  "notes.txt",
  "ds",
  "/dev/null",
  "",
];
/** Inputs for the modes: clips and pictures of sizes the tiny model makes, and ones it does not. */
const CLIPS = ["clip-16.mp4", "clip-16.mp4", "clip-32x16.mp4", "clip-1f.mp4", "clip-24x16.mp4"];
const STILLS = ["pic-16.png", "pic-16.png", "pic-32x16.png", "clip-16.mp4", "image.png"];
const MP4_OUTPUTS = ["out.mp4", "out.mp4", "new/deeper/out.mp4", "good.mp4", "clip-16.mp4"];
const PNG_OUTPUTS = ["out.png", "out.png", "new/pic.png", "pic-16.png", "image.png", "cut.png"];

/**
 * Half the model-command lines are calm: every value valid (the tiny model, inputs of its sizes,
 * prompts the world knows), so that runs which write outputs are common; the others mix in
 * hostile values.
 */
let calm = false;
const CALM_PROMPTS = ["a red ball bouncing", "a blue box sliding left", "two green balls at night"];

/** An option's value: valid (from `valid`) most of the time, else hostile. */
function value(rng: Rng, valid: () => string, hostile: string[], pHostile = 0.15): string {
  return !calm && rng.chance(pHostile) ? rng.pick(hostile) : valid();
}

/** Picks from `valid` when calm (or at `p`), else from `hostile`. */
function choose(rng: Rng, valid: string[], hostile: string[], p = 0.75): string {
  return calm || rng.chance(p) ? rng.pick(valid) : rng.pick(hostile);
}

function modelPrompt(rng: Rng): string {
  return calm ? rng.pick(CALM_PROMPTS) : prompt(rng);
}

function inputOf(rng: Rng, valid: string[]): string {
  return choose(rng, calm ? valid.slice(0, 2) : valid, INPUTS);
}

/** -o and the sampling options of generate, image and the modes; small and few steps. */
function samplingArgs(rng: Rng, outputs: string[]): string[] {
  const args: string[] = [];
  if (calm || rng.chance(0.95)) args.push("-o", choose(rng, outputs, OUTPUTS, 0.8));
  // Always some --steps: the default (30) is slow at a bad size.
  args.push(
    "--steps",
    value(rng, () => String(rng.int(1, 3)), BAD_INT),
  );
  if (rng.chance(0.3))
    args.push(
      "--guidance",
      value(rng, () => rng.pick(["0", "1", "4", "30"]), ["-1", "31", "x"]),
    );
  if (rng.chance(0.3))
    args.push(
      "--seed",
      value(rng, () => String(rng.int(0, 99)), ["-1", "4294967296", "x"]),
    );
  if (rng.chance(0.2)) args.push("--method", choose(rng, ["euler", "heun"], ["HEUN", "rk4", ""]));
  if (calm) args.push("--model", "model");
  else if (rng.chance(0.97)) args.push("--model", rng.pick(MODELS));
  return args;
}

function sizeArgs(rng: Rng): string[] {
  const args: string[] = [];
  for (const side of ["--width", "--height"])
    if (calm || rng.chance(0.9))
      args.push(
        side,
        value(rng, () => rng.pick(["16", "16", "32"]), BAD_SIZE),
      );
  return args;
}

function secondsArg(rng: Rng, p = 0.85): string[] {
  if (!rng.chance(p)) return [];
  return ["--seconds", value(rng, () => rng.pick(["0.25", "0.5", "1"]), BAD_SECONDS)];
}

function fpsArg(rng: Rng): string[] {
  return rng.chance(0.5) ? ["--fps", value(rng, () => rng.pick(["4", "8", "12"]), BAD_FPS)] : [];
}

/** generate or image: prompt → MP4 or PNG with the tiny model (or a damaged or missing one). */
function generateArgs(rng: Rng): string[] {
  calm = rng.chance(0.5);
  const image = rng.chance(0.35);
  const args = [image ? "image" : "generate"];
  if (calm || rng.chance(0.95)) args.push(modelPrompt(rng));
  args.push(...samplingArgs(rng, image ? PNG_OUTPUTS : MP4_OUTPUTS), ...sizeArgs(rng));
  if (!image) args.push(...secondsArg(rng), ...fpsArg(rng));
  else if (!calm && rng.chance(0.1)) args.push("--seconds", "1"); // not an option of image
  return args;
}

/** animate, extend, loop, edit, connect on the corpus's clips and pictures. */
function modeArgs(rng: Rng): string[] {
  calm = rng.chance(0.5);
  const mode = rng.pick(["animate", "extend", "loop", "edit", "connect"]);
  const args = [mode];
  const optionalPrompt = () => (rng.chance(0.6) ? [modelPrompt(rng)] : []);
  if (mode === "animate") args.push(inputOf(rng, STILLS), modelPrompt(rng), ...fpsArg(rng));
  if (mode === "extend") {
    args.push(inputOf(rng, CLIPS), ...optionalPrompt());
    const way = rng.int(0, 4);
    if (way === 1) args.push("--forward");
    if (way === 2) args.push("--backward");
    if (way === 3 && !calm) args.push("--forward", "--backward");
  }
  if (mode === "loop") args.push(inputOf(rng, CLIPS), ...optionalPrompt());
  if (mode === "edit") {
    args.push(inputOf(rng, CLIPS), modelPrompt(rng));
    if (rng.chance(0.6))
      args.push(
        "--strength",
        value(rng, () => rng.pick(["0", "0.3", "1"]), ["-0.1", "1.5", "NaN", ""]),
      );
  }
  if (mode === "connect") {
    // Calm: two clips of one size.
    const a = inputOf(rng, CLIPS);
    args.push(a, calm ? a : inputOf(rng, CLIPS), ...optionalPrompt());
  }
  if (mode !== "edit") args.push(...secondsArg(rng, mode === "loop" ? 0.6 : 0.85));
  // Now and then a missing argument or a stray one.
  if (!calm && rng.chance(0.05)) args.splice(1, 1);
  if (!calm && rng.chance(0.03)) args.push("stray");
  return [...args, ...samplingArgs(rng, MP4_OUTPUTS)];
}

/** train ae|dit: 1 to 3 steps of the tiny config into sandbox run folders. */
function trainArgs(rng: Rng): string[] {
  calm = rng.chance(0.5);
  const what = choose(rng, ["ae", "dit"], ["", "vae", "AE"], 0.9);
  const args = ["train", what];
  const resume = rng.chance(0.25);
  // Calm: a new folder, or the finished run with --resume.
  const runs = calm
    ? resume
      ? ["run-ae"]
      : ["run", "new/run", "run-nolatest", "onnx-empty"]
    : ["run", "run", "new/run", "run-ae", "run-nolatest", "onnx-empty"];
  if (calm || rng.chance(0.95))
    args.push("--out", choose(rng, runs, [...OUTPUTS, "/proc/fuzz/run", "model"], 0.8));
  // Always --steps and --batch (the defaults, 1000 steps of 8 clips, would run for minutes).
  args.push(
    "--steps",
    value(rng, () => String(rng.int(1, 3)), BAD_INT),
  );
  args.push(
    "--batch",
    value(rng, () => String(rng.int(1, 2)), [...BAD_INT, "4097"]),
  );
  let config = "tiny";
  if (!calm && rng.chance(0.1)) config = rng.pick(["world-s", "nope", "", "TINY"]);
  if (calm || rng.chance(0.9)) args.push("--config", config);
  if (config === "world-s") args.push("--buckets", "16x16x1");
  else if (!resume && rng.chance(0.25))
    args.push(
      "--buckets",
      choose(
        rng,
        ["16x16x1", "16x16x3", "32x32x5,16x16x1"],
        ["16x16x4", "24x16x3", "8x8x1", "0x0x0"],
        0.5,
      ),
    );
  if (calm || rng.chance(0.8))
    args.push(
      "--every",
      value(rng, () => "1", ["0", "-1", "x"]),
    );
  if (resume) args.push("--resume");
  if (rng.chance(0.15)) args.push("--lr", choose(rng, ["1e-3", "0.01"], ["0", "2", "NaN"], 0.5));
  if (rng.chance(0.15)) args.push("--warmup", choose(rng, ["0", "1"], ["-1"]));
  if (rng.chance(0.15)) args.push("--fps", choose(rng, ["4", "12"], ["0", "121"]));
  if (rng.chance(0.2)) args.push("--seed", choose(rng, ["0", "7"], ["-1"]));
  if (what === "dit" ? calm || rng.chance(0.9) : !calm && rng.chance(0.05))
    args.push(
      "--ae",
      choose(
        rng,
        ["model/autoencoder.safetensors", "run-ae/model/autoencoder.safetensors"],
        [
          "model-cut/autoencoder.safetensors",
          "model-header/autoencoder.safetensors",
          "model/text-to-video.safetensors",
          "missing.safetensors",
          "notes.txt",
          "model",
        ],
        0.7,
      ),
    );
  return args;
}

/** export --onnx into new, empty, not-empty and impossible folders. */
function exportArgs(rng: Rng): string[] {
  calm = rng.chance(0.5);
  const args = ["export"];
  if (calm || rng.chance(0.95))
    args.push(
      "--onnx",
      choose(
        rng,
        ["onnx", "new/onnx", "onnx-empty"],
        [
          "onnx-full",
          "model",
          "notes.txt",
          "notes.txt/x",
          "/proc/fuzz/onnx",
          "/dev/null",
          "",
          "ds",
        ],
        0.6,
      ),
    );
  if (calm) args.push("--model", "model");
  else if (rng.chance(0.95)) args.push("--model", rng.pick(MODELS));
  args.push(...sizeArgs(rng));
  if (rng.chance(0.4))
    args.push(
      "--frames",
      value(rng, () => rng.pick(["1", "3", "5"]), ["4", "0", "-1", "10001", "NaN"], 0.4),
    );
  return args;
}

/**
 * serve and worker, argument validation only: every line has a value they refuse (a port, a
 * concurrency, an upload size, a rate, a host that is no address, or --no-auth on a remote
 * address), so neither ever starts listening or working. Valid lines are left out on purpose:
 * a server that starts runs until killed, which the fuzzer would count as a hang.
 */
function serveArgs(rng: Rng): string[] {
  if (rng.chance(0.3))
    return [
      "worker",
      "--data-dir",
      "srv",
      "--concurrency",
      rng.pick(["0", "65", "-1", "x", "", "1.5"]),
    ];
  const args = ["serve", "--data-dir", "srv"];
  const bad = rng.int(0, 5);
  args.push("--port", bad === 0 ? rng.pick(["-1", "65536", "NaN", "abc", "", "80.5"]) : "0");
  if (bad === 1) args.push("--concurrency", rng.pick(["-1", "65", "x"]));
  if (bad === 2) args.push("--max-upload-mib", rng.pick(["0", "4097", "-5"]));
  if (bad === 3) args.push(rng.pick(["--rate", "--burst"]), rng.pick(["-1", "x", "", "1e309"]));
  if (bad === 4) args.push("--host", rng.pick(["example.com", "256.1.1.1", "", " ", "1.2.3"]));
  if (bad === 5) args.push("--host", rng.pick(["0.0.0.0", "10.1.2.3", "::"]), "--no-auth");
  if (bad < 4 && rng.chance(0.4)) args.push("--host", rng.pick(["127.0.0.1", "localhost", "::1"]));
  return args;
}

/** One random command line (paths relative to the sandbox). */
export function randomArgs(rng: Rng): string[] {
  const kind = rng.int(0, 19);
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
  if (kind <= 11) return generateArgs(rng);
  if (kind <= 14) return modeArgs(rng);
  if (kind <= 16) return trainArgs(rng);
  if (kind === 17) return exportArgs(rng);
  if (kind === 18) return serveArgs(rng);
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
    ["train"],
    ["export"],
    ["generate", "--help"],
    ["connect", "clip-16.mp4"],
    ["serve", "--help"],
    ["image", "-o", "out.png"],
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
    if (["-o", "--output", "--truth", "--json", "--out", "--onnx"].includes(args[i]))
      outs.push(args[i + 1]);
  }
  return outs;
}

/** The sandbox paths the arguments name as inputs (never to be changed). */
function inputsOf(args: string[]): string[] {
  const ins: string[] = [];
  if (args[0] === "eval" && args[1] !== undefined) ins.push(args[1]);
  // The modes' clips and pictures.
  if (["animate", "extend", "loop", "edit", "connect"].includes(args[0]) && args[1] !== undefined)
    ins.push(args[1]);
  if (args[0] === "connect" && args[2] !== undefined) ins.push(args[2]);
  for (let i = 0; i < args.length - 1; i++)
    if (["--reference", "--model", "--ae"].includes(args[i])) ins.push(args[i + 1]);
  return ins;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** The IEND chunk every complete PNG ends with (length 0, type, CRC). */
const PNG_END = Buffer.from("0000000049454e44ae426082", "hex");

/**
 * Whether a training run folder is consistent: `latest` names a complete checkpoint, every
 * checkpoint folder is complete, and a finished run (`done`) has its model in model/.
 */
async function runProblem(
  dir: string,
  names: string[],
  done: "ae" | "dit" | null,
): Promise<string | null> {
  const latest = (await readFile(join(dir, "latest"), "utf8").catch(() => "")).trim();
  if (!/^step-\d{6,}$/.test(latest)) return `latest names ${JSON.stringify(latest)}`;
  const steps = names.filter((n) => /^step-\d{6,}$/.test(n));
  if (!steps.includes(latest)) return `latest names ${latest}, which is missing`;
  for (const step of steps)
    for (const file of ["model.safetensors", "optimizer.safetensors", "state.json"])
      if (!names.includes(`${step}/${file}`)) return `${step} lacks ${file}`;
  const wanted = done === "dit" ? [AE_FILE, T2V_FILE] : done === "ae" ? [AE_FILE] : [];
  for (const file of wanted)
    if (!names.includes(`model/${file}`)) return `finished, but model/${file} is missing`;
  return null;
}

/**
 * Whether an ONNX export folder is all or nothing: a manifest whose every graph is there (with
 * its external data) and no graph it does not list; or no graph at all.
 */
async function onnxProblem(dir: string, names: string[]): Promise<string | null> {
  const graphs = names.filter((n) => !n.includes("/") && /\.onnx(\.data)?$/.test(n));
  if (!names.includes("manifest.json"))
    return graphs.length > 0 ? `${graphs.length} ONNX files but no manifest.json` : null;
  let manifest: { graphs?: Record<string, { file: string }> };
  try {
    manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
  } catch {
    return "manifest.json does not parse";
  }
  const listed = Object.values(manifest.graphs ?? {}).map((g) => g.file);
  if (listed.length === 0) return "manifest.json lists no graph";
  for (const file of listed) if (!names.includes(file)) return `manifest lists ${file}, missing`;
  for (const file of graphs.filter((n) => n.endsWith(".onnx")))
    if (!listed.includes(file)) return `${file} is not in the manifest`;
  return null;
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
  if (text.subarray(0, 8).equals(PNG_SIGNATURE) && !text.subarray(-12).equals(PNG_END))
    return "incomplete PNG (no IEND at its end)";
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
  const reason = `${args[0] ?? ""}: ${r.code === 0 ? "ok" : (/^error: (.{0,60})/m.exec(r.stderr)?.[1] ?? "?")}`;
  counts.outcomes[reason] = (counts.outcomes[reason] ?? 0) + 1;

  const inputs = new Set(inputsOf(args));
  const outputs = new Set(outputsOf(args).filter((o) => !inputs.has(o)));
  const after = await snapshot(sandbox);
  let clobbered = 0;
  let half = 0;
  for (const [rel, before] of pristine) {
    const now = after.get(rel);
    const named = outputs.has(rel);
    // Inside a folder named as the output (a dataset, a training run, an export), files may
    // change as the command writes (the folder's consistency is checked below).
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
    if (/\.tmp$|\.partial(-\d+)?$/.test(base)) {
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
      // A failed run may leave dataset clips that landed, and checkpoints of a run it resumed.
      const resumed = [...outputs].some(
        (o) => pristine.has(`${o}/latest`) && rel.startsWith(`${o}/`),
      );
      if (
        !before &&
        r.code !== 0 &&
        !resumed &&
        !/(^|\/)(clip-\d+\/[^/]+|index\.json)$/.test(rel)
      ) {
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
  // Every training run and ONNX export folder that changed is consistent.
  const changed = (rel: string) =>
    [...after].some(
      ([k, e]) => (k === rel || k.startsWith(`${rel}/`)) && pristine.get(k)?.hash !== e.hash,
    );
  for (const [rel, now] of after) {
    if (now.kind !== "dir" || !changed(rel)) continue;
    const names = [...after.keys()]
      .filter((k) => k.startsWith(`${rel}/`))
      .map((k) => k.slice(rel.length + 1));
    const trained =
      r.code === 0 && args[0] === "train" && outputs.has(rel) ? (args[1] as "ae" | "dit") : null;
    if (names.includes("latest") || trained) {
      const bad = await runProblem(join(sandbox, rel), names, trained);
      if (bad) {
        half += 1;
        problem(`run folder ${rel}: ${bad}`);
      }
    }
    const exported = r.code === 0 && args[0] === "export" && outputs.has(rel);
    if (exported && !names.includes("manifest.json")) {
      half += 1;
      problem(`export succeeded but ${rel} has no manifest.json`);
    }
    const bad = await onnxProblem(join(sandbox, rel), names);
    if (bad) {
      half += 1;
      problem(`ONNX folder ${rel}: ${bad}`);
    }
  }
  // A picture `image` says it wrote is a PNG.
  const pictureOut = args[0] === "image" && r.code === 0 ? outputsOf(args)[0] : undefined;
  if (pictureOut && after.get(pictureOut)?.kind === "file") {
    const head = (await readFile(join(sandbox, pictureOut))).subarray(0, 8);
    if (!head.equals(PNG_SIGNATURE)) {
      half += 1;
      problem(`image wrote ${pictureOut}, which is not a PNG`);
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
