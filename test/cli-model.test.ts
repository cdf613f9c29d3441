import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { type CliResult, runCli, runCliUntil } from "../src/cli/run-cli.ts";
import { createDevice } from "../src/devices.ts";
import { readWeights as readWeightFile, writeWeights } from "../src/io/safetensors.ts";
import { readMp4Metadata } from "../src/media/mp4-metadata.ts";
import { readVideo } from "../src/media/read-video.ts";
import type { ModelConfig } from "../src/models/config.ts";
import { getConfig } from "../src/models/registry.ts";
import { TextToVideo } from "../src/models/text-to-video.ts";
import { readWeights } from "../src/models/weights.ts";
import { noGrad } from "../src/tensor/engine.ts";
import { scaledError } from "../src/testing/op-check.ts";
import { writeTinyModel } from "../src/testing/tiny-model.ts";
import { Rng } from "../src/util/rng.ts";

let dir = "";
let model = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-cli-model-"));
  // A randomly initialised tiny model: the plumbing, not the quality.
  model = await writeTinyModel(join(dir, "tiny-model"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function assertUserError(r: CliResult, message: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got success: ${r.stdout}`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /^error: /m);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
}

const small = ["--width", "32", "--height", "16", "--steps", "2", "--fps", "8", "--seconds", "0.5"];

describe("zoetrope generate / image", () => {
  it("writes a video from a prompt, prints the caption, and is deterministic by seed", async () => {
    const a = join(dir, "a.mp4");
    const b = join(dir, "b.mp4");
    const prompt = "a red ball bounces at sunset";
    const args = [...small, "--seed", "3", "--model", model];
    const r1 = await runCli(["generate", prompt, "-o", a, ...args]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /red|scarlet|crimson/i, "the expanded caption is printed");
    assert.match(r1.stdout, /wrote .*a\.mp4: 32×16, 5 frames at 8 fps \(model tiny/);
    assert.match(r1.stderr, /denoising .* 2\/2/);
    const r2 = await runCli(["generate", prompt, "-o", b, ...args]);
    assert.equal(r2.code, 0, r2.stderr);
    const va = await readVideo(a);
    const vb = await readVideo(b);
    assert.deepEqual([va.width, va.height, va.frames.length, va.fps], [32, 16, 5, 8]);
    assert.deepEqual(va.frames, vb.frames, "same seed and settings, same video");
    // The file says what made it: prompt, the caption the model saw, seed, settings, model.
    const tags = await readMp4Metadata(a);
    assert.equal(tags.prompt, prompt);
    assert.ok(r1.stdout.includes(tags.caption), `caption tag ${tags.caption}`);
    assert.equal(tags.seed, "3");
    assert.match(tags.zoetrope_version, /^\d+\.\d+\.\d+/);
    assert.equal(tags.model, "tiny");
    assert.match(tags.model_sha256, /^[0-9a-f]{64}$/);
    assert.match(r1.stdout, new RegExp(`weights sha256 ${tags.model_sha256.slice(0, 16)}`));
    const settings = JSON.parse(tags.settings);
    assert.deepEqual(
      [settings.width, settings.height, settings.frames, settings.fps, settings.steps],
      [32, 16, 5, 8, 2],
    );
    const c = join(dir, "c.mp4");
    const r3 = await runCli([
      "generate",
      prompt,
      "-o",
      c,
      ...small,
      "--seed",
      "4",
      "--model",
      model,
    ]);
    assert.equal(r3.code, 0, r3.stderr);
    assert.notDeepEqual((await readVideo(c)).frames, va.frames, "another seed, another video");
  });

  it("--image-first samples the first frame as an image, then the clip, and tags it", async () => {
    const prompt = "a green box slides left at night";
    const args = [...small, "--seed", "5", "--model", model];
    const first = join(dir, "first.mp4");
    const r = await runCli(["generate", prompt, "-o", first, ...args, "--image-first"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /denoising .* 4\/4/, "the image's 2 steps, then the clip's 2");
    assert.equal(JSON.parse((await readMp4Metadata(first)).settings).imageFirst, true);
    const plain = join(dir, "plain.mp4");
    assert.equal((await runCli(["generate", prompt, "-o", plain, ...args])).code, 0);
    assert.equal(JSON.parse((await readMp4Metadata(plain)).settings).imageFirst, undefined);
    // That frame 0 is exactly the picture is tested on the library's generate (the MP4 here is
    // lossy, and a random model's frames are noise that H.264 keeps poorly).
    const [a, b] = [await readVideo(first), await readVideo(plain)];
    assert.equal(a.frames.length, 5);
    assert.notDeepEqual(a.frames[0], b.frames[0], "frame 0 comes from the image stage");
    const help = await runCli(["image", "--help"]);
    assert.doesNotMatch(help.stdout, /--image-first/, "a picture has no motion to start");
  });

  it("writes a one-frame picture as PNG", async () => {
    const out = join(dir, "pic.png");
    const r = await runCli([
      ...["image", "a blue box on sand", "-o", out, "--width", "16", "--height", "32"],
      // Guidance 1 is unguided sampling (the conditional velocity alone).
      ...["--steps", "1", "--guidance", "1", "--model", model],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const png = await readFile(out);
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from("PNG")]);
    assert.equal(png.readUInt32BE(16), 16);
    assert.equal(png.readUInt32BE(20), 32);
  });

  it("says what sizes the model makes, and leaves an existing file untouched", async () => {
    const out = join(dir, "keep.mp4");
    await writeFile(out, "precious");
    const r = await runCli(["generate", "a ball", "-o", out, "--width", "24", "--model", model]);
    assertUserError(r, /cannot make width 24; it makes widths that are multiples of 16/);
    assert.equal(await readFile(out, "utf8"), "precious");
  });

  it("the README's main command: the bundled model makes a 2-second 64×64 clip", async () => {
    // As the README runs it, in a fresh folder, with fewer steps (the sampler, not the step
    // count, is under test).
    const cwd = await mkdtemp(join(dir, "readme-"));
    const r = await runCli(
      ["generate", "a red ball bounces on a sunny day", "-o", "clip.mp4", "--steps", "3"],
      cwd,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /model world-s/);
    assert.doesNotMatch(r.stderr, /does not know/, "the README's prompt is all known words");
    const out = join(cwd, "clip.mp4");
    const v = await readVideo(out);
    assert.deepEqual([v.width, v.height, v.frames.length, v.fps], [64, 64, 17, 8]);
    const tags = await readMp4Metadata(out);
    assert.equal(tags.model, "world-s");
    assert.match(tags.model_sha256, /^[0-9a-f]{64}$/);
  });

  it("explains a missing folder and a corrupt weight file", async () => {
    const out = join(dir, "none.mp4");
    const missing = await runCli(["generate", "a ball", "-o", out, "--model", join(dir, "nope")]);
    assertUserError(missing, /--model .*nope: no such folder/);
    const broken = join(dir, "broken");
    await mkdir(broken);
    await writeFile(join(broken, "autoencoder.safetensors"), "garbage");
    await writeFile(
      join(broken, "text-to-video.safetensors"),
      await readFile(join(model, "text-to-video.safetensors")),
    );
    const corrupt = await runCli(["generate", "a ball", "-o", out, "--model", broken]);
    assertUserError(corrupt, /autoencoder\.safetensors/);
    const whole = await readFile(join(model, "autoencoder.safetensors"));
    await writeFile(join(broken, "autoencoder.safetensors"), whole.subarray(0, whole.length >> 1));
    const truncated = await runCli(["generate", "a ball", "-o", out, "--model", broken]);
    assertUserError(truncated, /broken\/autoencoder\.safetensors/);
    await assert.rejects(stat(out), "no output is left behind");
  });

  it("rejects an unknown sampler", async () => {
    const r = await runCli(["generate", "a ball", "-o", join(dir, "x.mp4"), "--method", "rk4"]);
    assertUserError(r, /euler.*heun/);
  });
});

describe("zoetrope export --onnx", () => {
  it("writes graphs that a plain ONNX Runtime session runs to the engine's outputs", async () => {
    const out = join(dir, "onnx");
    const r = await runCli([
      ...["export", "--onnx", out, "--model", model, "--width", "32", "--height", "16"],
      ...["--frames", "5"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8"));
    assert.equal(manifest.model, "tiny");
    assert.deepEqual(manifest.latent, [4, 3, 2, 4]);
    const vel = manifest.graphs.velocity;
    assert.deepEqual(
      vel.inputs.map((i: { name: string }) => i.name),
      ["x", "t", "tokens", "pooled"],
    );
    assert.deepEqual(vel.outputs, [{ name: "v", shape: [1, 4, 3, 2, 4] }]);
    for (const g of ["text-encoder", "velocity", "velocity-guided", "encoder", "decoder"])
      assert.ok((await readdir(out)).includes(`${g}.onnx`), g);

    // The same random inputs through the exported velocity graph and the engine's own.
    const device = await createDevice({ kind: "cpu" });
    const cfg = getConfig("tiny");
    const t2v = new TextToVideo(device, new Rng(2), cfg);
    const rng = new Rng(9);
    const x = device.randn([1, 4, 3, 2, 4], rng);
    const tokens = device.randn([1, cfg.text.maxTokens, cfg.text.dim], rng);
    const pooled = device.randn([1, cfg.text.dim], rng);
    const t = device.tensor([0.3], [1]);
    const expected = await noGrad(() => t2v.velocity({ x, t, tokens, pooled })).toArray();
    const session = await ort.InferenceSession.create(join(out, "velocity.onnx"));
    const feed = async (v: typeof x) => new ort.Tensor("float32", await v.toArray(), [...v.shape]);
    const res = await session.run({
      x: await feed(x),
      t: await feed(t),
      tokens: await feed(tokens),
      pooled: await feed(pooled),
    });
    const err = scaledError(res.v.data as Float32Array, expected);
    assert.ok(err <= 1e-4, `exported velocity vs engine: scaled error ${err}`);
  });

  it("refuses a folder that is not empty", async () => {
    const out = join(dir, "full");
    await mkdir(out);
    await writeFile(join(out, "keep.txt"), "mine");
    const r = await runCli(["export", "--onnx", out, "--model", model]);
    assertUserError(r, /not empty/);
    assert.deepEqual(await readdir(out), ["keep.txt"]);
  });
});

describe("zoetrope train", () => {
  const stream = ["--batch", "2", "--buckets", "32x32x5,32x32x1", "--warmup", "1"];
  /** train ae --decoder-only of `aeFile` into `out` for `steps` (lr 1e-2, the tiny stream). */
  const decoderRunOf =
    (aeFile: string) =>
    (out: string, steps: string, ...more: string[]) =>
      runCli([
        "train",
        "ae",
        "--decoder-only",
        "--ae",
        aeFile,
        "--out",
        out,
        "--steps",
        steps,
        ...more,
        "--lr",
        "1e-2",
        ...stream,
      ]);
  /** Each command is refused with its message, and leaves no run folder (its last argument). */
  const assertRefused = async (cases: [string[], RegExp][]) => {
    for (const [args, message] of cases) {
      assertUserError(await runCli(args), message);
      assert.equal(await stat(args[args.length - 1]).catch(() => null), null, "no run folder made");
    }
  };

  it("trains ae then dit into run folders whose model generates, with exact-resume refusals", async () => {
    const aeRun = join(dir, "run-ae");
    const r = await runCli([
      "train",
      "ae",
      "--out",
      aeRun,
      "--steps",
      "3",
      "--every",
      "2",
      ...stream,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /step 3\/3 loss \d+\.\d+ .* samples\/s ETA/);
    assert.equal((await readFile(join(aeRun, "latest"), "utf8")).trim(), "step-000003");
    const log = (await readFile(join(aeRun, "log.csv"), "utf8")).trim().split("\n");
    assert.equal(log.length, 4, "a header and one row per step");
    const aeFile = join(aeRun, "model", "autoencoder.safetensors");
    const saved = await readWeights(aeFile);
    const scale = (saved.config as { latentScale: number }).latentScale;
    assert.ok(scale > 0 && scale !== 1, `measured latent scale stored, got ${scale}`);

    const again = await runCli(["train", "ae", "--out", aeRun, "--steps", "4", ...stream]);
    assertUserError(again, /already holds a training run; add --resume/);
    // A resume on another clip stream than the run's is refused, naming the option.
    const resumeWith = (...extra: string[]) =>
      runCli(["train", "ae", "--out", aeRun, "--steps", "4", "--resume", ...stream, ...extra]);
    assertUserError(
      await resumeWith("--object-counts", "1,1"),
      /the run trained with --object-counts \(not given\), not 1,1; resume it with the options it started with/,
    );
    assertUserError(await resumeWith("--seed", "5"), /trained with --seed 0, not 5/);
    // And with the training settings it started with; --logit-mean is the transformer's alone.
    assertUserError(
      await resumeWith("--object-weight", "9"),
      /the run trained with --object-weight \(not given\), not 9; resume it with the options/,
    );
    assertUserError(await resumeWith("--logit-mean", "1"), /--logit-mean is for train dit/);
    assertUserError(
      await resumeWith("--object-counts", "0,0"),
      /object counts: give 1 to 4 relative frequencies .* not all zero; got 0,0/,
    );
    assertUserError(
      await resumeWith("--object-counts", "2,x"),
      /Expected numbers separated by commas/,
    );
    assert.equal((await readFile(join(aeRun, "latest"), "utf8")).trim(), "step-000003");
    const resumed = await runCli([
      "train",
      "ae",
      "--out",
      aeRun,
      "--steps",
      "4",
      "--resume",
      ...stream,
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((await readFile(join(aeRun, "latest"), "utf8")).trim(), "step-000004");

    const ditRun = join(dir, "run-dit");
    const noAe = await runCli(["train", "dit", "--out", ditRun, "--steps", "2", ...stream]);
    assertUserError(noAe, /--ae/);
    const d = await runCli([
      "train",
      "dit",
      "--out",
      ditRun,
      "--steps",
      "2",
      "--ae",
      aeFile,
      "--logit-mean",
      "0.5",
      ...stream,
    ]);
    assert.equal(d.code, 0, d.stderr);
    // The run's timesteps centred where asked: its model file and checkpoint record it, and a
    // resume under other timesteps is refused, as is a mean out of range.
    const dit = await readWeights(join(ditRun, "model", "text-to-video.safetensors"));
    assert.equal((dit.config as ModelConfig).flow.logitMean, 0.5);
    const ditAgain = (...extra: string[]) =>
      runCli([
        "train",
        "dit",
        "--out",
        ditRun,
        "--steps",
        "3",
        "--ae",
        aeFile,
        "--resume",
        ...stream,
        ...extra,
      ]);
    assertUserError(
      await ditAgain(),
      /the run trained with --logit-mean 0.5, not 0; resume it with the options it started with/,
    );
    assertUserError(await ditAgain("--logit-mean", "4"), /--logit-mean.*from -3 to 3/);
    const g = await runCli([
      ...[
        "generate",
        "a red ball",
        "-o",
        join(dir, "trained.mp4"),
        "--model",
        join(ditRun, "model"),
      ],
      ...["--width", "32", "--height", "32", "--steps", "2"],
    ]);
    assert.equal(g.code, 0, g.stderr);

    // --init may change how the network is trained (timesteps, loss weighting), not what it is.
    const t2vFile = join(ditRun, "model", "text-to-video.safetensors");
    const source = await readWeights(t2vFile);
    const restated = async (name: string, edit: (c: ModelConfig) => void) => {
      const config = structuredClone(source.config) as ModelConfig;
      edit(config);
      const file = join(dir, `${name}.safetensors`);
      const metadata = { ...source.metadata, config: JSON.stringify(config) };
      await writeWeights(file, { tensors: source.tensors, metadata });
      return file;
    };
    const otherSchedule = await restated("other-schedule", (c) => {
      c.flow.baseTokens = 3;
      c.dit.objectWeight = 7;
      c.name = "tiny-candidate";
    });
    const tiny = getConfig("tiny");
    const init = (file: string, out: string, ...more: string[]) =>
      runCli([
        "train",
        "dit",
        "--out",
        join(dir, out),
        "--ae",
        aeFile,
        "--init",
        file,
        "--steps",
        "1",
        ...stream,
        ...more,
      ]);
    const ok = await init(otherSchedule, "run-init-schedule");
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      new RegExp(`flow.baseTokens changes from 3 to ${tiny.flow.baseTokens}`),
    );
    assert.match(
      ok.stdout,
      new RegExp(`dit.objectWeight changes from 7 to ${tiny.dit.objectWeight}`),
    );
    // A candidate config's weights go on under the name of the same model in the registry.
    assert.match(ok.stdout, /trained as config tiny-candidate, goes on as tiny/);
    // --object-weight sets that training setting for the new run; the model file records it.
    const weighted = await init(t2vFile, "run-init-weight", "--object-weight", "0.5");
    assert.equal(weighted.code, 0, weighted.stderr);
    assert.match(
      weighted.stdout,
      new RegExp(`dit.objectWeight changes from ${tiny.dit.objectWeight} to 0.5`),
    );
    const trained = await readWeights(
      join(dir, "run-init-weight", "model", "text-to-video.safetensors"),
    );
    assert.equal((trained.config as ModelConfig).dit.objectWeight, 0.5);
    assertUserError(
      await init(t2vFile, "run-init-weight-bad", "--object-weight", "-1"),
      /--object-weight/,
    );
    const wider = await restated("other-width", (c) => {
      c.dit.heads = c.dit.heads * 2;
    });
    assertUserError(
      await init(wider, "run-init-width"),
      /was trained with another config: config\.dit\.heads/,
    );
  });

  it("--init starts a new run from saved weights with a fresh optimiser", async () => {
    const first = join(dir, "run-init-a");
    // A large rate, so that 3 steps take the weights well away from their initialisation.
    const a = await runCli([
      "train",
      "ae",
      "--out",
      first,
      "--steps",
      "3",
      ...stream,
      "--lr",
      "1e-2",
    ]);
    assert.equal(a.code, 0, a.stderr);
    const aeFile = join(first, "model", "autoencoder.safetensors");
    // One step at a negligible learning rate: a run started from the file ends where it began
    // (its EMA starts as a copy of the loaded weights), while a fresh run (seed 0 both times,
    // so the same initialisation) does not.
    const tinyStep = ["--steps", "1", "--lr", "1e-12", ...stream];
    const fromFile = join(dir, "run-init-b");
    const b = await runCli(["train", "ae", "--out", fromFile, "--init", aeFile, ...tinyStep]);
    assert.equal(b.code, 0, b.stderr);
    const fresh = join(dir, "run-init-c");
    const c = await runCli(["train", "ae", "--out", fresh, ...tinyStep]);
    assert.equal(c.code, 0, c.stderr);
    const source = await readWeights(aeFile);
    const started = await readWeights(join(fromFile, "model", "autoencoder.safetensors"));
    const scratch = await readWeights(join(fresh, "model", "autoencoder.safetensors"));
    assert.equal(started.metadata.init, aeFile, "the model file says where the run started");
    let same = 0;
    let differ = 0;
    for (const [name, t] of Object.entries(source.tensors)) {
      assert.ok(scaledError(started.tensors[name].data, t.data) < 1e-5, `${name} kept`);
      if (scaledError(scratch.tensors[name].data, t.data) > 1e-2) differ++;
      same++;
    }
    assert.ok(differ > same / 2, `a fresh run starts elsewhere (${differ} of ${same} differ)`);

    const both = await runCli(["train", "ae", "--out", fromFile, "--init", aeFile, "--resume"]);
    assertUserError(
      both,
      /--init and --transfer start a new run .* --resume continues a run: give one, not --init and --resume/,
    );
    // --transfer takes what matches in name and shape: here the same config, so everything.
    const moved = join(dir, "run-transfer");
    const t = await runCli(["train", "ae", "--out", moved, "--transfer", aeFile, ...tinyStep]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, new RegExp(`--transfer ${aeFile}: ${same} parameters taken, 0 fresh`));
    const transferred = await readWeights(join(moved, "model", "autoencoder.safetensors"));
    assert.equal(transferred.metadata.transfer, aeFile);
    for (const [name, tensor] of Object.entries(source.tensors))
      assert.ok(scaledError(transferred.tensors[name].data, tensor.data) < 1e-5, `${name} taken`);
    const wrong = await runCli([
      "train",
      "dit",
      "--out",
      join(dir, "run-init-d"),
      "--ae",
      aeFile,
      "--init",
      aeFile,
      ...tinyStep,
    ]);
    assertUserError(wrong, /--init .* holds autoencoder weights, not text-to-video/);
  });

  it("--decoder-only trains the decoder on the frozen encoder's latents", async () => {
    const source = join(dir, "run-dec-src");
    const a = await runCli(["train", "ae", "--out", source, "--steps", "2", ...stream]);
    assert.equal(a.code, 0, a.stderr);
    const aeFile = join(source, "model", "autoencoder.safetensors");
    const run = join(dir, "run-dec");
    const decoderRun = decoderRunOf(aeFile);
    const d = await decoderRun(run, "2");
    assert.equal(d.code, 0, d.stderr);
    const resumed = await decoderRun(run, "3", "--resume");
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((await readFile(join(run, "latest"), "utf8")).trim(), "step-000003");
    const before = await readWeights(aeFile);
    const after = await readWeights(join(run, "model", "autoencoder.safetensors"));
    assert.equal(after.metadata.decoderOf, aeFile);
    // The latent space is the source's: same encoder, same scale, so no re-measured scale.
    assert.deepEqual(after.config, before.config);
    let moved = 0;
    const names = Object.keys(before.tensors);
    assert.deepEqual(Object.keys(after.tensors).sort(), [...names].sort());
    for (const name of names) {
      const err = scaledError(after.tensors[name].data, before.tensors[name].data);
      if (name.startsWith("encoder.")) assert.equal(err, 0, `${name} is frozen`);
      else if (err > 1e-3) moved++;
    }
    const decoderParams = names.filter((n) => n.startsWith("decoder.")).length;
    assert.ok(decoderParams > 0);
    assert.ok(
      moved > decoderParams / 2,
      `the decoder trained (${moved} of ${decoderParams} moved)`,
    );

    // Grown: two blocks per decoder level; the encoder and latent scale stay the file's.
    const grownRun = join(dir, "run-dec-grown");
    const g = await decoderRun(grownRun, "2", "--decoder-blocks", "2");
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stderr + g.stdout, /grown by block0_1, block1_1, block2_1/);
    const noFlag = await decoderRun(grownRun, "3", "--resume");
    assertUserError(noFlag, /decoder has 2 blocks per level.*resume it with --decoder-blocks 2/);
    const g2 = await decoderRun(grownRun, "3", "--resume", "--decoder-blocks", "2");
    assert.equal(g2.code, 0, g2.stderr);
    // Its checkpoints hold the decoder alone and name the encoder they go with (for the benches).
    const checkpoint = await readWeightFile(join(grownRun, "step-000003", "ema.safetensors"));
    assert.equal(checkpoint.metadata.decoderOf, resolve(aeFile));
    assert.ok(Object.keys(checkpoint.tensors).every((n) => !n.startsWith("encoder.")));
    const grownFile = join(grownRun, "model", "autoencoder.safetensors");
    const grown = await readWeights(grownFile);
    assert.deepEqual(grown.config, { ...(before.config as object), decoderBlocks: 2 });
    for (const name of names.filter((n) => n.startsWith("encoder.")))
      assert.deepEqual(grown.tensors[name].data, before.tensors[name].data, `${name} is frozen`);
    assert.ok(Object.keys(grown.tensors).some((n) => n.startsWith("decoder.block2_1.")));
    const cut = await runCli([
      "train",
      "ae",
      "--decoder-only",
      "--ae",
      grownFile,
      "--decoder-blocks",
      "1",
      "--out",
      join(dir, "r-cut"),
      ...stream,
    ]);
    assertUserError(cut, /already has 2 blocks per level; a decoder grows, it is not cut/);

    const bad: [string[], RegExp][] = [
      [
        ["train", "ae", "--decoder-only", "--out", join(dir, "r1")],
        /--decoder-only: give the autoencoder .* --ae/,
      ],
      [
        ["train", "ae", "--ae", aeFile, "--out", join(dir, "r2")],
        /--ae is for train dit, or with --decoder-only/,
      ],
      [
        ["train", "dit", "--decoder-only", "--ae", aeFile, "--out", join(dir, "r3")],
        /--decoder-only is for train ae/,
      ],
      [
        [
          "train",
          "ae",
          "--decoder-only",
          "--ae",
          aeFile,
          "--init",
          aeFile,
          "--out",
          join(dir, "r4"),
        ],
        /starts from the decoder of --ae; --init does not apply/,
      ],
      [
        ["train", "ae", "--decoder-blocks", "2", "--out", join(dir, "r5")],
        /--decoder-blocks grows the decoder .* needs train ae --decoder-only/,
      ],
    ];
    await assertRefused(bad);
    // A whole-autoencoder run's checkpoint is not a decoder's: refused, named.
    const wrong = await decoderRun(source, "3", "--resume");
    assertUserError(wrong, /trains the whole autoencoder: resume it without --decoder-only/);
    const wrong2 = await runCli([
      "train",
      "ae",
      "--out",
      run,
      "--steps",
      "4",
      "--resume",
      ...stream,
    ]);
    assertUserError(wrong2, /trains only a decoder: resume it with --decoder-only and its --ae/);
  });

  it("--denoiser trains the decoder on a text-to-video model's one-step denoised latents", async () => {
    const source = join(dir, "run-den-src");
    const a = await runCli(["train", "ae", "--out", source, "--steps", "1", ...stream]);
    assert.equal(a.code, 0, a.stderr);
    const aeFile = join(source, "model", "autoencoder.safetensors");
    const ditRun = join(dir, "run-den-dit");
    const d = await runCli([
      "train",
      "dit",
      "--out",
      ditRun,
      "--steps",
      "1",
      "--ae",
      aeFile,
      ...stream,
    ]);
    assert.equal(d.code, 0, d.stderr);
    const t2vFile = join(ditRun, "model", "text-to-video.safetensors");
    const run = join(dir, "run-den");
    const decoderRun = (steps: string, ...more: string[]) =>
      decoderRunOf(aeFile)(run, steps, ...more);
    const r = await decoderRun("2", "--denoiser", t2vFile, "--denoise-share", "1");
    assert.equal(r.code, 0, r.stderr);
    const after = await readWeights(join(run, "model", "autoencoder.safetensors"));
    const before = await readWeights(aeFile);
    assert.deepEqual(after.config, before.config, "the latent space stays the encoder's");
    const moved = Object.keys(before.tensors).filter(
      (n) =>
        n.startsWith("decoder.") &&
        scaledError(after.tensors[n].data, before.tensors[n].data) > 1e-3,
    );
    assert.ok(moved.length > 0, "the decoder trained");
    // The checkpoint records how its latents were made; a resume must make them the same way.
    const checkpoint = await readWeightFile(join(run, "step-000002", "model.safetensors"));
    assert.equal(
      checkpoint.metadata.denoiser,
      `${resolve(t2vFile)}, share 1, max t 0.4, guidance 2`,
    );
    assertUserError(
      await decoderRun("3", "--resume", "--denoiser", t2vFile),
      /trained on denoised latents \(.*share 1, max t 0.4.*\), not denoised latents \(.*share 0.75.*\); resume it with the --denoiser options it started with/,
    );
    assertUserError(
      await decoderRun("3", "--resume"),
      /not the encoder's latents alone; resume it with the --denoiser options/,
    );
    const resumed = await decoderRun(
      "3",
      "--resume",
      "--denoiser",
      t2vFile,
      "--denoise-share",
      "1",
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((await readFile(join(run, "latest"), "utf8")).trim(), "step-000003");

    const bad: [string[], RegExp][] = [
      [
        ["train", "ae", "--denoiser", t2vFile, "--out", join(dir, "rd1")],
        /--denoiser .* needs train ae --decoder-only --ae <file>/,
      ],
      [
        [
          "train",
          "ae",
          "--decoder-only",
          "--ae",
          aeFile,
          "--denoise-max-t",
          "0.2",
          "--out",
          join(dir, "rd2"),
        ],
        /--denoise-max-t set how --denoiser's latents are made: give --denoiser/,
      ],
      [
        [
          "train",
          "ae",
          "--decoder-only",
          "--ae",
          aeFile,
          "--denoiser",
          t2vFile,
          "--denoise-share",
          "0",
          "--out",
          join(dir, "rd3"),
        ],
        /--denoise-share.*Must be above 0 and at most 1/,
      ],
      [
        [
          "train",
          "ae",
          "--decoder-only",
          "--ae",
          aeFile,
          "--denoiser",
          aeFile,
          "--out",
          join(dir, "rd4"),
        ],
        /--denoiser .*holds autoencoder weights, not a text-to-video model's/,
      ],
    ];
    // The tiny stream's options after "train ae", the run folder still last.
    await assertRefused(bad.map(([[t, ae, ...rest], m]) => [[t, ae, ...stream, ...rest], m]));
  });

  it("stops on Ctrl-C with a checkpoint and a model file", async () => {
    const run = join(dir, "run-stop");
    const r = await runCliUntil(
      ["train", "ae", "--out", run, "--steps", "100000", "--every", "100000", ...stream],
      (err) => /step 2\//.test(err),
      "SIGINT",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stopped at step \d+\/100000/);
    const latest = (await readFile(join(run, "latest"), "utf8")).trim();
    assert.match(latest, /^step-\d+$/);
    await stat(join(run, "model", "autoencoder.safetensors"));
  });

  it("stops on SIGTERM the same way, and --resume carries on from that checkpoint", async () => {
    const run = join(dir, "run-term");
    const args = ["train", "ae", "--out", run, "--steps", "100000", "--every", "100000", ...stream];
    const r = await runCliUntil(args, (err) => /step 2\//.test(err), "SIGTERM");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stopping \(SIGTERM\): saving a checkpoint/);
    const stoppedAt = Number(r.stdout.match(/stopped at step (\d+)\/100000/)?.[1]);
    assert.ok(stoppedAt >= 2, r.stdout);
    await stat(join(run, "model", "autoencoder.safetensors"));
    const again = await runCliUntil(
      [...args, "--resume"],
      (err) => new RegExp(`step ${stoppedAt + 2}/`).test(err),
      "SIGINT",
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /stopped at step \d+\/100000/);
    assert.ok(Number(again.stdout.match(/stopped at step (\d+)/)?.[1]) > stoppedAt, again.stdout);
  });

  it("--minutes ends a piece with a checkpoint and the model; a bad budget is refused", async () => {
    const run = join(dir, "run-minutes");
    const r = await runCli([
      "train",
      "ae",
      "--out",
      run,
      "--steps",
      "100000",
      "--every",
      "100000",
      "--minutes",
      "0.05",
      ...stream,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--minutes 0\.05: time is up; saving a checkpoint/);
    assert.match(r.stdout, /stopped at step \d+\/100000/);
    assert.match((await readFile(join(run, "latest"), "utf8")).trim(), /^step-\d+$/);
    await stat(join(run, "model", "autoencoder.safetensors"));
    for (const bad of ["0", "-1", "40000", "soon"]) {
      const refused = await runCli(["train", "ae", "--out", join(dir, "run-m"), "--minutes", bad]);
      assertUserError(refused, /--minutes/);
    }
  });
});
