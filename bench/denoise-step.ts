/**
 * Issue 10's speed bar: one denoising step of a model folder's networks — one guided velocity
 * evaluation for one clip (the caption and the empty caption batched), compiled into ONNX
 * Runtime as generate runs it once per sampling step — against PyTorch on the CPU running the
 * same architecture on the same weights (bench/model-step.py's mirror, which reads our
 * safetensors), in the same run. Also the decode of the finished latent into 17 frames.
 *
 * Before timing, both sides compute the guided velocity of the same inputs (a 64×64×17 clip's
 * latent noise, a world caption's token ids from our tokenizer, guidance 4) and the decode of the
 * same latent; each must agree to 1e-3 of the output's RMS, or the run fails. Timing alternates
 * the contenders rep by rep after a warm-up and prints medians, the CPU and the ratio.
 *
 *   npx tsx bench/denoise-step.ts [--model <dir>] [--reps 20] [--random world-s] [--runs 3]
 *
 * Then, from start to finished file, the commands a user runs: `zoetrope generate` of a 2-second
 * 64×64 clip and `zoetrope image` of a 64×64 picture at the default settings (30 steps, guidance
 * 2), each a fresh process timed with /usr/bin/time (wall seconds and peak resident memory),
 * alternating, median of --runs. Beside them, what PyTorch's sampling loop of the same networks
 * would take from the medians just measured (30 guided steps + the decode; loading, text
 * encoding and writing the file left out, so the estimate is on PyTorch's side).
 *
 * --model defaults to the bundled models/world-s. --random <config> writes a randomly
 * initialised model of that config to a temporary folder instead (the text-to-video network in
 * f16 shards, the autoencoder as one f32 file, so that both of the reader's paths are used).
 * Parameters that start constant (zero-init adaLN and output layers, biases, norm gains) get
 * small noise there: otherwise the velocity is identically zero and a swapped or misplaced
 * tensor would go unnoticed.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AE_FILE, DEFAULT_MODEL_DIR, loadModel, T2V_FILE } from "../src/cli/model-files.ts";
import { compile } from "../src/compile/compile.ts";
import { createDevice } from "../src/devices.ts";
import { latentSize, VideoAutoencoder } from "../src/models/autoencoder.ts";
import { getConfig } from "../src/models/registry.ts";
import { DEFAULT_GUIDANCE, DEFAULT_STEPS } from "../src/models/sampling-defaults.ts";
import { TextToVideo } from "../src/models/text-to-video.ts";
import { saveWeights } from "../src/models/weights.ts";
import { noGrad, tidy } from "../src/tensor/engine.ts";
import { Rng } from "../src/util/rng.ts";
import { captionScene } from "../src/world/caption.ts";
import { sampleScene } from "../src/world/sample.ts";
import { startTorch } from "./bench-common.ts";
import { cpuModel } from "./cpu-info.ts";

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const REPS = Number(opt("--reps", "20"));
const RUNS = Number(opt("--runs", "3"));
const WARMUP = 2;
const RANDOM = opt("--random", "");
const [FRAMES, HEIGHT, WIDTH] = [17, 64, 64];
const GUIDANCE = 4;
const FLOW_TIME = 0.7;
/** Largest max |Δ| between the two sides, as a fraction of the output's RMS. */
const TOLERANCE = 1e-3;

if (RANDOM && argv.includes("--model")) throw new Error("denoise-step: give --model or --random");
const device = await createDevice({ kind: "onnx" });

/** A randomly initialised model of config `name`, saved as a model folder in a temporary dir. */
async function writeRandomModel(name: string): Promise<string> {
  const cfg = getConfig(name);
  const rng = new Rng(1);
  const dir = await mkdtemp(join(tmpdir(), `zoetrope-${name}-`));
  const ae = new VideoAutoencoder(device, rng, cfg.ae);
  const t2v = new TextToVideo(device, rng, cfg);
  for (const m of [ae, t2v]) {
    const state = await m.stateDict();
    for (const v of Object.values(state))
      if (v.every((x) => x === v[0]))
        for (let i = 0; i < v.length; i++) v[i] += 0.02 * rng.normal();
    m.loadStateDict(state);
  }
  const files = await saveWeights(join(dir, AE_FILE), ae, "autoencoder", cfg.ae);
  const shards = await saveWeights(
    join(dir, T2V_FILE),
    t2v,
    "text-to-video",
    cfg,
    {},
    {
      dtype: "F16",
      shardBytes: 4 * 1024 * 1024,
    },
  );
  ae.dispose();
  t2v.dispose();
  console.log(`random ${name} model written to ${dir} (${files.length + shards.length} files)`);
  return dir;
}

let dir = resolve(opt("--model", DEFAULT_MODEL_DIR));
if (RANDOM) {
  dir = await writeRandomModel(RANDOM);
} else if (!existsSync(dir)) {
  console.error(
    `denoise-step: no model at ${dir}${dir === DEFAULT_MODEL_DIR ? " (the bundled model is not trained yet)" : ""}; pass --model <dir>, or --random world-s to time a randomly initialised one`,
  );
  process.exit(1);
}

/** The PyTorch mirror (bench/model-step.py); this benchmark needs it. */
function startMirror() {
  const child = startTorch("./model-step.py", (line) => console.error(`denoise-step: ${line}`));
  if (!child) process.exit(1);
  return {
    ask: (cmd: object) => child.ask(cmd) as Promise<Record<string, unknown> & Partial<HostArray>>,
    close: () => child.close(),
  };
}

interface HostArray {
  shape: number[];
  data: number[];
}

const inputs = new Rng(0);
function randn(shape: number[]): HostArray {
  const n = shape.reduce((p, d) => p * d, 1);
  return { shape, data: Array.from({ length: n }, () => inputs.normal()) };
}

/** Max |a − b| as a fraction of a's RMS; prints it and returns whether it is within tolerance. */
function agree(
  what: string,
  ours: ArrayLike<number>,
  theirs: HostArray,
  shape: readonly number[],
): boolean {
  if (theirs.shape.join() !== shape.join() || theirs.data.length !== ours.length) {
    console.log(`${what}: PyTorch gave [${theirs.shape}], zoetrope [${shape}]`);
    return false;
  }
  let maxAbs = 0;
  let sq = 0;
  for (let i = 0; i < ours.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(ours[i] - theirs.data[i]));
    sq += ours[i] * ours[i];
  }
  const rms = Math.sqrt(sq / ours.length);
  const rel = maxAbs / rms;
  const ok = rel <= TOLERANCE; // false for NaN too
  console.log(
    `${what} [${shape}]: max |Δ| ${maxAbs.toExponential(2)}, RMS ${rms.toPrecision(3)} → ${rel.toExponential(2)} of the RMS (limit ${TOLERANCE}) ${ok ? "ok" : "FAILED"}`,
  );
  return ok;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const cpu = cpuModel();
console.log(`CPU: ${cpu.model} [${cpu.flags}]`);
const model = await loadModel(device, dir);
const { ae, t2v } = model;
const torch = startMirror();
try {
  const loaded = await torch.ask({ load: { dir } });
  console.log(
    `model ${model.name} (${dir}): autoencoder ${ae.parameterCount().toLocaleString()} parameters, text + DiT ${t2v.parameterCount().toLocaleString()}; PyTorch ${loaded.torch} (${loaded.threads} threads) loaded ${Number(loaded.ae_params).toLocaleString()} and ${Number(loaded.t2v_params).toLocaleString()}`,
  );
  if (loaded.ae_params !== ae.parameterCount() || loaded.t2v_params !== t2v.parameterCount())
    throw new Error("denoise-step: the PyTorch mirror has other parameter counts");

  // The same inputs on both sides: the latent noise of one 64×64×17 clip, the flow time, and a
  // caption of the world's grammar with the empty caption (ids from our tokenizer). Each side
  // encodes the ids with its own text encoder, so the velocity check covers its weights too; the
  // timed step, like a sampling step, reuses the encoded caption.
  const [lt, lh, lw] = latentSize(ae.cfg, FRAMES, HEIGHT, WIDTH);
  const latent = [1, t2v.cfg.dit.latentChannels, lt, lh, lw];
  const seed = 7;
  const caption = captionScene(sampleScene(seed), seed);
  console.log(`caption: "${caption}"`);
  const ids = t2v.tokenize([caption, ""]); // [2, L]
  const x = randn(latent);
  const z = randn(latent);
  const cond = noGrad(() => tidy(() => t2v.text.forward(ids)));
  const args = {
    x: device.tensor(x.data, x.shape),
    t: device.tensor([FLOW_TIME, FLOW_TIME], [2]),
    tokens: cond.tokens,
    pooled: cond.pooled,
    guidance: device.tensor([GUIDANCE], [1]),
  };
  const zT = device.tensor(z.data, z.shape);
  // What sampleLatents compiles for each step (TextToVideo.compiledVelocity, which is private).
  const step = compile((a: typeof args) => noGrad(() => t2v.velocity(a)), { name: "denoise-step" });

  const v = await step(args);
  const vPy = await torch.ask({
    velocity_check: {
      x,
      t: [FLOW_TIME, FLOW_TIME],
      ids: { shape: ids.shape, data: Array.from(await ids.toArray()) },
      guidance: GUIDANCE,
    },
  });
  const frames = await ae.decodeLatent(zT);
  const framesPy = await torch.ask({ decode_check: { z } });
  const ok = [
    agree(`guided velocity (guidance ${GUIDANCE})`, await v.toArray(), vPy as HostArray, v.shape),
    agree("decode", await frames.toArray(), framesPy as HostArray, frames.shape),
  ];
  const outShape = frames.shape;
  v.dispose();
  frames.dispose();
  if (!ok.every(Boolean)) throw new Error("denoise-step: zoetrope and PyTorch disagree");

  /** Medians of zoetrope's and PyTorch's ms, alternating (and swapping who goes first) each rep. */
  async function race(ours: () => Promise<void>, kind: string): Promise<[number, number]> {
    const theirs = async () =>
      ((await torch.ask({ time: kind, dtype: "fp32", reps: 1 })).ms as number[])[0];
    const timeOurs = async () => {
      const t0 = performance.now();
      await ours();
      return performance.now() - t0;
    };
    for (let i = 0; i < WARMUP; i++) {
      await ours();
      await theirs();
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < REPS; i++) {
      if (i % 2 === 0) {
        a.push(await timeOurs());
        b.push(await theirs());
      } else {
        b.push(await theirs());
        a.push(await timeOurs());
      }
    }
    return [median(a), median(b)];
  }
  const rows: [string, number, number][] = [
    [
      `one denoising step: guided velocity, 1 clip (DiT batch 2, ${t2v.tokenCount(lt, lh, lw)} tokens)`,
      ...(await race(() => step(args).then((r) => r.dispose()), "step")),
    ],
    [
      `decode: latent [${latent}] → [${outShape}]`,
      ...(await race(() => ae.decodeLatent(zT).then((r) => r.dispose()), "decode")),
    ],
  ];
  console.log(
    `\nzoetrope: ONNX Runtime (compiled, ${availableParallelism()} threads), f32; PyTorch ${loaded.torch}: eager (${loaded.threads} threads), fp32; median of ${REPS} after ${WARMUP} warm-up`,
  );
  console.log("| step | zoetrope ms | PyTorch ms | ratio |");
  console.log("| --- | --- | --- | --- |");
  for (const [name, ours, theirs] of rows)
    console.log(
      `| ${name} | ${ours.toFixed(1)} | ${theirs.toFixed(1)} | ${(theirs / ours).toFixed(2)}× |`,
    );
  console.log("ratio = PyTorch ms / zoetrope ms (1 or above: zoetrope is no slower)");
  const [stepRow, decodeRow] = rows;
  await endToEnd(dir, 30 * stepRow[2] + decodeRow[2], 30 * stepRow[2]);
  for (const t of [args.x, args.t, args.guidance, cond.tokens, cond.pooled, ids, zT]) t.dispose();
} finally {
  torch.close();
  if (RANDOM) await rm(dir, { recursive: true, force: true });
}

/** One CLI run as a fresh process: wall seconds and peak RSS (MiB) from /usr/bin/time. */
function timeCli(args: string[]): Promise<{ seconds: number; rssMiB: number }> {
  const bin = new URL("../bin/zoetrope.mjs", import.meta.url).pathname;
  return new Promise((done, fail) => {
    const proc = spawn("/usr/bin/time", ["-f", "%e %M", process.execPath, bin, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    proc.stderr.on("data", (d) => {
      err += d;
    });
    proc.on("error", fail);
    proc.on("close", (code) => {
      const last = err.trim().split("\n").at(-1) ?? "";
      const [seconds, kib] = last.split(" ").map(Number);
      if (code !== 0 || !Number.isFinite(seconds) || !Number.isFinite(kib))
        fail(new Error(`denoise-step: zoetrope ${args[0]} failed (${code}): ${err.slice(-500)}`));
      else done({ seconds, rssMiB: kib / 1024 });
    });
  });
}

/** `zoetrope generate` and `zoetrope image` from start to finished file, beside PyTorch's loop. */
async function endToEnd(dir: string, torchClipMs: number, torchImageMs: number): Promise<void> {
  if (!existsSync("/usr/bin/time")) {
    console.log("\nend to end: skipped, /usr/bin/time is missing (apt-get install -y time)");
    return;
  }
  const out = await mkdtemp(join(tmpdir(), "zoetrope-e2e-"));
  const prompt = "a red ball bounces on the grass";
  const commands: [string, string[], number, number][] = [
    [
      "zoetrope generate, 2 s 64×64 (17 frames) → MP4",
      ["generate", prompt, "-o", join(out, "clip.mp4"), "--model", dir],
      10,
      torchClipMs,
    ],
    [
      "zoetrope image, 64×64 → PNG",
      ["image", prompt, "-o", join(out, "image.png"), "--model", dir],
      2,
      // One frame's latent is 1/5 of the clip's tokens: scale PyTorch's clip steps by that share.
      torchImageMs / 5,
    ],
  ];
  try {
    const runs = commands.map(() => [] as { seconds: number; rssMiB: number }[]);
    for (let r = 0; r < RUNS + 1; r++) {
      for (const [i, [, args]] of commands.entries()) {
        const run = await timeCli(args);
        if (r > 0) runs[i].push(run); // the first round warms the disk cache and the compiler's
      }
    }
    console.log(
      `\nend to end (fresh process each, median of ${RUNS} after one warm-up round; default settings: ${DEFAULT_STEPS} steps, guidance ${DEFAULT_GUIDANCE})`,
    );
    console.log("| command | wall s | peak RSS MiB | target s | PyTorch loop estimate s |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const [i, [name, , target, torchMs]] of commands.entries()) {
      const wall = median(runs[i].map((x) => x.seconds));
      const rss = median(runs[i].map((x) => x.rssMiB));
      console.log(
        `| ${name} | ${wall.toFixed(2)} | ${rss.toFixed(0)} | ≤ ${target} ${wall <= target ? "met" : "MISSED"} | ${(torchMs / 1000).toFixed(2)} |`,
      );
    }
    console.log(
      "PyTorch loop estimate: 30 × its guided-step median + its decode median from the table above (the image: a fifth of the steps' time, no decode); no start-up, loading, text encoding or file writing",
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
