/**
 * The training tasks on world clips, compiled on the onnx device: the tiny autoencoder's loss
 * falls on a stream of fresh clips, and the text-to-video task (latents from the frozen
 * autoencoder, captions from the world) trains and resumes to bit-identical weights.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { createDevice } from "../devices.ts";
import { train } from "../train/loop.ts";
import { Rng } from "../util/rng.ts";
import { VideoAutoencoder } from "./autoencoder.ts";
import { getConfig } from "./registry.ts";
import { autoencoderTask, textToVideoTask, type WorldData } from "./tasks.ts";
import { TextToVideo } from "./text-to-video.ts";

const cfg = getConfig("tiny");
const data: WorldData = {
  seed: 11,
  buckets: [
    { width: 16, height: 16, frames: 5 },
    { width: 16, height: 16, frames: 1 },
  ],
  fps: 8,
  batchSize: 2,
};
let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-tasks-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("the autoencoder's loss falls on fresh world clips (videos and 1-frame images mixed)", async () => {
  const device = await createDevice({ kind: "onnx" });
  const ae = new VideoAutoencoder(device, new Rng(1), cfg.ae);
  const r = await train(autoencoderTask(ae, data, { config: JSON.stringify(cfg.ae) }), {
    steps: 40,
    schedule: { lr: 3e-3, warmup: 5, decay: "cosine" },
    seed: 2,
    runDir: join(dir, "ae"),
    checkpointEvery: 40,
  });
  const mean = (v: number[]) => v.reduce((p, x) => p + x, 0) / v.length;
  const first = mean(r.losses.slice(0, 5));
  const last = mean(r.losses.slice(-5));
  assert.ok(last < 0.7 * first, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
});

it("text-to-video on frozen latents: 6 steps equal 3, a restart and 3 more, bit for bit", async () => {
  const device = await createDevice({ kind: "onnx" });
  const ae = new VideoAutoencoder(device, new Rng(3), cfg.ae);
  const run = async (runDir: string, steps: number) => {
    const t2v = new TextToVideo(device, new Rng(4), cfg);
    const stop = new AbortController();
    const r = await train(textToVideoTask(t2v, ae, data, { config: JSON.stringify(cfg) }), {
      steps: 6,
      schedule: { lr: 1e-3, warmup: 2, decay: "cosine" },
      clipNorm: 1,
      emaDecay: 0.9,
      seed: 5,
      runDir,
      checkpointEvery: 3,
      resume: true,
      onStep: (s) => {
        if (s.step === steps) stop.abort();
      },
      signal: stop.signal,
    });
    return { r, weights: await t2v.stateDict() };
  };
  const whole = await run(join(dir, "a"), 6);
  await run(join(dir, "b"), 3);
  const resumed = await run(join(dir, "b"), 6);
  assert.equal(resumed.r.resumedFrom, 3);
  assert.deepEqual(resumed.weights, whole.weights);
  assert.ok(whole.r.losses.every((l) => Number.isFinite(l)));
});
