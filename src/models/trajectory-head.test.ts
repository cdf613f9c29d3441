/**
 * The diffusion transformer's trajectory head (`dit.trajectoryWeight`): it leaves the velocity
 * as it is, its loss is added with its weight, a model grown to have it starts as exactly the
 * model without, and it learns its targets.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createDevice } from "../devices.ts";
import { noGrad } from "../tensor/engine.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { assertClose } from "../testing/op-check.ts";
import { loadAndGenerate, randomizeParameters } from "../testing/tiny-model.ts";
import { choosePrecision } from "../train/mixed-precision.ts";
import { Trainer } from "../train/trainer.ts";
import { Rng } from "../util/rng.ts";
import type { ModelConfig } from "./config.ts";
import { getConfig } from "./registry.ts";
import { TextToVideo } from "./text-to-video.ts";
import { TRAJECTORY_CHANNELS } from "./trajectory-target.ts";
import { loadMatchingWeights, saveWeights } from "./weights.ts";

const device = await createDevice({ kind: "cpu" });
const tiny = getConfig("tiny");
const LAMBDA = 0.5;
const headed: ModelConfig = {
  ...tiny,
  name: "tiny-trajectory",
  dit: { ...tiny.dit, trajectoryWeight: LAMBDA },
};
const SHAPE = [2, 4, 3, 4, 4] as const; // [B, C, T, H, W] latent of the tiny config
const CAPTIONS = ["a red ball bounces", "two blue boxes slide"];

const read = async (x: Tensor) => Array.from(await x.toArray());

/** The model's loss on one drawn batch (seeded), with `trajectory` targets when given. */
async function lossOf(model: TextToVideo, x0: Tensor, trajectory?: Tensor): Promise<number> {
  const batch = model.drawBatch(new Rng(7), x0, CAPTIONS);
  try {
    return await noGrad(() => model.loss(x0, batch, "f32", undefined, trajectory)).item();
  } finally {
    batch.dispose();
  }
}

/** Gives `to` the values of every parameter it shares with `from` (the head aside, the same). */
async function copyShared(from: TextToVideo, to: TextToVideo): Promise<void> {
  const source = await from.stateDict();
  const state = await to.stateDict();
  for (const [k, v] of Object.entries(state)) if (source[k]) v.set(source[k]);
  to.loadStateDict(state);
}

describe("trajectory head", () => {
  it("adds a prediction beside the velocity and leaves the velocity as it is", async () => {
    const model = new TextToVideo(device, new Rng(1), headed);
    await randomizeParameters(model, new Rng(2), 0.2);
    const x = device.randn([...SHAPE], new Rng(3));
    const t = device.tensor([0.3, 0.8], [2]);
    const cond = noGrad(() => model.text.forward(model.tokenize(CAPTIONS)));
    const both = noGrad(() => model.dit.forwardWithTrajectory(x, t, cond));
    const alone = noGrad(() => model.dit.forward(x, t, cond));
    assert.deepEqual(await read(both.velocity), await read(alone));
    assert.deepEqual(both.trajectory.shape, [2, TRAJECTORY_CHANNELS, 3, 4, 4]);
    assert.ok(
      (await read(both.trajectory)).some((v) => Math.abs(v) > 1e-3),
      "a drawn head reads",
    );
    // A model without the head has no such prediction.
    const plain = new TextToVideo(device, new Rng(1), tiny);
    assert.throws(() => plain.dit.forwardWithTrajectory(x, t, cond), /no trajectory head/);
  });

  it("adds the head's squared error with its weight to the velocity's loss", async () => {
    // The same trained weights with and without the head; the head's output is zero as it starts.
    const plain = new TextToVideo(device, new Rng(1), tiny);
    await randomizeParameters(plain, new Rng(4), 0.2);
    const model = new TextToVideo(device, new Rng(1), headed);
    await copyShared(plain, model);
    const x0 = device.randn([...SHAPE], new Rng(5));
    const target = device.rand([2, TRAJECTORY_CHANNELS, 3, 4, 4], new Rng(6), 0, 2);
    const meanSquare = (await read(target)).reduce((s, v) => s + v * v, 0) / target.size;
    const flow = await lossOf(plain, x0);
    const got = await lossOf(model, x0, target);
    assert.ok(
      Math.abs(got - (flow + LAMBDA * meanSquare)) < 1e-5 * got,
      `loss ${got} vs velocity's ${flow} + ${LAMBDA} × ${meanSquare}`,
    );
    // Targets are needed by a model with the head and refused by one without.
    await assert.rejects(lossOf(model, x0), /needs its targets/);
    await assert.rejects(lossOf(plain, x0, target), /without a trajectory head/);
  });

  it("a model grown to have the head samples exactly as the one without", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "zoetrope-grow-trajectory-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const plain = new TextToVideo(device, new Rng(1), tiny);
    await randomizeParameters(plain, new Rng(8), 0.2);
    const file = join(dir, "plain.safetensors");
    await saveWeights(file, plain, "text-to-video", tiny);
    const grown = new TextToVideo(device, new Rng(9), headed);
    const got = await loadMatchingWeights(file, grown, "text-to-video");
    assert.ok(
      got.kept.every((p) => p.startsWith("dit.trajectory.")),
      `fresh: ${got.kept}`,
    );
    assert.ok(got.kept.length > 0 && got.unused.length === 0);
    const sample = async (m: TextToVideo) => {
      const z = await m.sampleLatents([CAPTIONS[0]], [4, 3, 4, 4], {
        seed: 3,
        steps: 3,
        guidance: 2,
      });
      const v = await read(z);
      z.dispose();
      return v;
    };
    assertClose(await sample(grown), await sample(plain), 1e-6, "the grown model's sample");
  });

  it("a model folder with the head loads and generates as any other", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "zoetrope-trajectory-model-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const model = await loadAndGenerate(dir, headed);
    assert.equal(model.t2v.cfg.dit.trajectoryWeight, LAMBDA);
    assert.ok(model.t2v.dit.trajectory, "the head's weights are loaded");
  });

  it("learns its targets in training", async () => {
    const model = new TextToVideo(device, new Rng(1), headed);
    const trainer = new Trainer(model.parameters(), {
      policy: choosePrecision(device, "f32"),
      optimizer: { lr: 3e-3 },
      clipNorm: 1,
    });
    const x0 = device.randn([...SHAPE], new Rng(10));
    // One object's cells per clip, a different place in each latent frame (a path).
    const path = new Float32Array(2 * TRAJECTORY_CHANNELS * 3 * 16);
    for (let b = 0; b < 2; b++)
      for (let j = 0; j < 3; j++)
        path[((b * TRAJECTORY_CHANNELS + 0) * 3 + j) * 16 + 5 * j + b] = 4;
    const target = device.tensor(path, [2, TRAJECTORY_CHANNELS, 3, 4, 4]);
    // The velocity's part alone, from a copy without the head, to take it out of the sum.
    const flowOnly = async () => {
      const plain = new TextToVideo(device, new Rng(1), tiny);
      await copyShared(model, plain);
      return lossOf(plain, x0);
    };
    const trajectoryLoss = async () => (await lossOf(model, x0, target)) - (await flowOnly());
    const before = await trajectoryLoss();
    for (let s = 0; s < 100; s++) {
      const batch = model.drawBatch(new Rng(100 + s), x0, CAPTIONS);
      trainer.step((dtype) => model.loss(x0, batch, dtype, undefined, target));
      batch.dispose();
    }
    const after = await trajectoryLoss();
    // The best a head could do without telling the cells apart: each channel's mean everywhere.
    const v = Array.from(path);
    const per = TRAJECTORY_CHANNELS;
    const cells = v.length / (2 * per);
    let constant = 0;
    for (let k = 0; k < per; k++) {
      const ch = [0, 1].flatMap((b) => v.slice((b * per + k) * cells, (b * per + k + 1) * cells));
      const m = ch.reduce((a, x) => a + x, 0) / ch.length;
      constant += ch.reduce((a, x) => a + (x - m) ** 2, 0);
    }
    constant = (LAMBDA * constant) / v.length;
    assert.ok(
      after < 0.75 * constant,
      `the head's loss ${before} → ${after} (constant ${constant})`,
    );
  });
});
