/**
 * The trajectory denoised beside the latent (`dit.trajectoryInput`): its noisy copy is an input,
 * the trajectory's velocity lands on the head's clean estimate, sampling returns the latent alone
 * (the same on the compiled device), a model grown from one without the input samples exactly as
 * it did, and the head learns to read the noisy trajectory.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createDevice, type Device } from "../devices.ts";
import { noGrad } from "../tensor/engine.ts";
import { lerp } from "../tensor/ops/fused.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { assertClose } from "../testing/op-check.ts";
import { loadAndGenerate, randomizeParameters } from "../testing/tiny-model.ts";
import { choosePrecision } from "../train/mixed-precision.ts";
import { Trainer } from "../train/trainer.ts";
import { Rng } from "../util/rng.ts";
import type { ModelConfig } from "./config.ts";
import { widenPatchEmbed } from "./grow.ts";
import { getConfig } from "./registry.ts";
import { TextToVideo } from "./text-to-video.ts";
import { TRAJECTORY_CHANNELS } from "./trajectory-target.ts";
import { loadMatchingWeights, readWeights, saveWeights } from "./weights.ts";

const device = await createDevice({ kind: "cpu" });
const tiny = getConfig("tiny");
const headed: ModelConfig = {
  ...tiny,
  name: "tiny-trajectory",
  dit: { ...tiny.dit, trajectoryWeight: 0.5 },
};
const joint: ModelConfig = {
  ...tiny,
  name: "tiny-joint",
  dit: { ...headed.dit, trajectoryInput: true },
};
const LATENT = [2, 4, 3, 4, 4] as const; // [B, C, T, H, W] latent of the tiny config
const TRAJ = [2, TRAJECTORY_CHANNELS, 3, 4, 4] as const;
const CAPTIONS = ["a red ball bounces", "two blue boxes slide"];

const read = async (x: Tensor) => Array.from(await x.toArray());

async function sample(m: TextToVideo, seed = 3): Promise<number[]> {
  const z = await m.sampleLatents([CAPTIONS[0]], [4, 3, 4, 4], { seed, steps: 3, guidance: 2 });
  assert.deepEqual(z.shape, [1, 4, 3, 4, 4], "the latent alone comes back");
  const v = await read(z);
  z.dispose();
  return v;
}

describe("trajectory denoised beside the latent", () => {
  it("reads the noisy trajectory as an input, which the model needs", async () => {
    const model = new TextToVideo(device, new Rng(1), joint);
    await randomizeParameters(model, new Rng(2), 0.2);
    const x = device.randn([...LATENT], new Rng(3));
    const t = device.tensor([0.3, 0.8], [2]);
    const cond = noGrad(() => model.text.forward(model.tokenize(CAPTIONS)));
    const a = device.randn([...TRAJ], new Rng(4));
    const b = device.randn([...TRAJ], new Rng(5));
    const outA = noGrad(() => model.dit.forwardWithTrajectory(x, t, cond, undefined, undefined, a));
    const outB = noGrad(() => model.dit.forwardWithTrajectory(x, t, cond, undefined, undefined, b));
    const moved = (p: number[], q: number[]) => p.some((v, i) => Math.abs(v - q[i]) > 1e-4);
    assert.ok(moved(await read(outA.velocity), await read(outB.velocity)), "velocity");
    assert.ok(moved(await read(outA.trajectory), await read(outB.trajectory)), "estimate");
    assert.throws(() => model.dit.forward(x, t, cond), /give its noisy trajectory/);
    assert.throws(
      () => model.dit.forward(x, t, cond, undefined, undefined, device.zeros([2, 3, 1, 4, 4])),
      /trajectory \[2, 3, 1, 4, 4\] must be \[2, 3, 3, 4, 4\]/,
    );
    // A model without the input refuses one; the input needs the head.
    const plain = new TextToVideo(device, new Rng(1), headed);
    assert.throws(
      () => plain.dit.forwardWithTrajectory(x, t, cond, undefined, undefined, a),
      /takes no trajectory input/,
    );
    assert.throws(
      () =>
        new TextToVideo(device, new Rng(1), {
          ...tiny,
          dit: { ...tiny.dit, trajectoryInput: true },
        }),
      /needs the trajectory head/,
    );
  });

  it("the trajectory's velocity steps onto the head's clean estimate", async () => {
    const model = new TextToVideo(device, new Rng(1), joint);
    await randomizeParameters(model, new Rng(6), 0.2);
    const x = device.randn([2, 4 + TRAJECTORY_CHANNELS, 3, 4, 4], new Rng(7));
    const times = [0.25, 0.9];
    const t = device.tensor(times, [2]);
    const cond = noGrad(() => model.text.forward(model.tokenize(CAPTIONS)));
    const v = await read(noGrad(() => model.velocity({ x, t, ...cond })));
    // Channels [from, to) of a [2, 7, 3, 4, 4] state, 48 values per channel.
    const xs = await read(x);
    const split = (values: number[], from: number, to: number) =>
      [0, 1].flatMap((b) => values.slice((b * 7 + from) * 48, (b * 7 + to) * 48));
    const lat = device.tensor(split(xs, 0, 4), [...LATENT]);
    const noisy = device.tensor(split(xs, 4, 7), [...TRAJ]);
    const out = noGrad(() =>
      model.dit.forwardWithTrajectory(lat, t, cond, undefined, undefined, noisy),
    );
    assertClose(split(v, 0, 4), await read(out.velocity), 1e-6, "the latent's velocity");
    // x_traj − t·v_traj is the head's estimate.
    const est = await read(out.trajectory);
    const vTraj = split(v, 4, 7);
    const landed = split(xs, 4, 7).map((value, i) => value - times[Math.floor(i / 144)] * vTraj[i]);
    assertClose(landed, est, 1e-5, "x_traj − t·v_traj");
  });

  it("samples the latent alone, the same for the same seed and on the compiled device", async () => {
    const model = new TextToVideo(device, new Rng(1), joint);
    await randomizeParameters(model, new Rng(8), 0.2);
    const first = await sample(model);
    assert.deepEqual(await sample(model), first);
    assert.ok(
      (await sample(model, 4)).some((v, i) => v !== first[i]),
      "another seed, another clip",
    );
    const onnx: Device = await createDevice({ kind: "onnx" });
    const compiled = new TextToVideo(onnx, new Rng(1), joint);
    compiled.loadStateDict(await model.stateDict());
    assertClose(await sample(compiled), first, 1e-4, "compiled vs eager sample");
  });

  it("a model grown to take the trajectory samples exactly as the one it grew from", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "zoetrope-grow-joint-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const before = new TextToVideo(device, new Rng(1), headed);
    await randomizeParameters(before, new Rng(9), 0.2);
    const file = join(dir, "headed.safetensors");
    await saveWeights(file, before, "text-to-video", headed);
    const grown = new TextToVideo(device, new Rng(10), joint);
    const got = await loadMatchingWeights(file, grown, "text-to-video");
    assert.deepEqual(got.kept, ["dit.patch_embed.weight"], "only the projection is new");
    assert.ok(await widenPatchEmbed(grown, (await readWeights(file)).tensors));
    assertClose(await sample(grown), await sample(before), 1e-6, "the grown model's sample");
  });

  it("a model folder with it loads and generates as any other", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "zoetrope-joint-model-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const model = await loadAndGenerate(dir, joint);
    assert.equal(model.t2v.cfg.dit.trajectoryInput, true);
    assert.equal(model.t2v.stateChannels, 4 + TRAJECTORY_CHANNELS);
  });

  it("learns to read the object's place from the noisy trajectory", async () => {
    const model = new TextToVideo(device, new Rng(1), joint);
    const trainer = new Trainer(model.parameters(), {
      policy: choosePrecision(device, "f32"),
      optimizer: { lr: 3e-3 },
      clipNorm: 1,
    });
    const x0 = device.randn([...LATENT], new Rng(11));
    // One object per clip in a random cell of each latent frame: the caption cannot say where,
    // only the noisy trajectory can.
    const path = (rng: Rng) => {
      const v = new Float32Array(2 * TRAJECTORY_CHANNELS * 48);
      for (let b = 0; b < 2; b++)
        for (let j = 0; j < 3; j++) v[(b * TRAJECTORY_CHANNELS * 3 + j) * 16 + rng.int(0, 15)] = 4;
      return device.tensor(v, [...TRAJ]);
    };
    const data = new Rng(12);
    for (let s = 0; s < 150; s++) {
      const target = path(data);
      const batch = model.drawBatch(new Rng(100 + s), x0, CAPTIONS);
      trainer.step((dtype) => model.loss(x0, batch, dtype, undefined, target));
      batch.dispose();
      target.dispose();
    }
    // At t = 0.4 on fresh paths: the head's squared error against the best that ignores the
    // input (each channel's mean everywhere).
    const probe = new Rng(13);
    let err = 0;
    let constant = 0;
    const cond = noGrad(() => model.text.forward(model.tokenize(CAPTIONS)));
    const t = device.tensor([0.4, 0.4], [2]);
    for (let k = 0; k < 4; k++) {
      const target = path(probe);
      const noisy = noGrad(() => lerp(target, device.randn([...TRAJ], probe), 0.4));
      const est = noGrad(() =>
        model.dit.forwardWithTrajectory(x0, t, cond, undefined, undefined, noisy),
      );
      const [p, q] = [await read(est.trajectory), await read(target)];
      err += p.reduce((a, v, i) => a + (v - q[i]) ** 2, 0);
      // Occupancy 4 in one cell of 16 drawn evenly: the best constant is 0.25 in every cell (and
      // 0 for the velocity channels, which are 0 here).
      constant += q.reduce(
        (a, v, i) => a + (Math.floor(i / 48) % 3 === 0 ? (v - 0.25) ** 2 : 0),
        0,
      );
    }
    // Any head that ignores the input errs by `constant` on average (360 here, exactly).
    assert.ok(err < 0.7 * constant, `head's error ${err} vs ignoring the input ${constant}`);
  });
});
