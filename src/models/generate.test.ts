import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice } from "../tensor/device.ts";
import { Rng } from "../util/rng.ts";
import { expandPrompt } from "../world/expand.ts";
import { VideoAutoencoder } from "./autoencoder.ts";
import { generate } from "./generate.ts";
import { getConfig } from "./registry.ts";
import { TextToVideo } from "./text-to-video.ts";

const device = await createDevice({ kind: "cpu" });
const cfg = getConfig("tiny");
const ae = new VideoAutoencoder(device, new Rng(1), cfg.ae);
const t2v = new TextToVideo(device, new Rng(2), cfg);
const base = {
  prompt: "a red ball bounces at sunset",
  width: 32,
  height: 16,
  frames: 5,
  fps: 8,
  steps: 3,
  guidance: 2,
  seed: 4,
};

describe("generate (untrained tiny models: the plumbing, not the quality)", () => {
  it("turns a prompt into frames of the asked size through the expanded caption", async () => {
    const steps: number[] = [];
    const out = await generate(ae, t2v, { ...base, onStep: (s) => steps.push(s) });
    const expanded = expandPrompt(base.prompt, base.seed);
    assert.equal(out.caption, expanded.caption);
    assert.deepEqual(out.unknownWords, expanded.unknownWords);
    const odd = await generate(ae, t2v, { ...base, prompt: "a red ball bounces on zorbles" });
    assert.ok(odd.unknownWords.includes("zorbles"), "unknown prompt words are reported");
    assert.deepEqual(steps, [1, 2, 3]);
    assert.equal(out.video.width, 32);
    assert.equal(out.video.height, 16);
    assert.equal(out.video.fps, 8);
    assert.equal(out.video.frames.length, 5);
    assert.equal(out.video.frames[0].length, 32 * 16 * 3);
    const again = await generate(ae, t2v, base);
    assert.deepEqual(again.video.frames, out.video.frames, "same seed, same video");
    const image = await generate(ae, t2v, { ...base, frames: 1 });
    assert.equal(image.video.frames.length, 1);
  });

  it("image first: the clip starts from the image sampled alone, then moves", async () => {
    const steps: number[] = [];
    const clip = await generate(ae, t2v, {
      ...base,
      imageFirst: true,
      onStep: (s, n) => steps.push(s, n),
    });
    const image = await generate(ae, t2v, { ...base, frames: 1 });
    // The causal autoencoder decodes frame 0 from latent 0 alone, which is the image's latent.
    assert.deepEqual(clip.video.frames[0], image.video.frames[0]);
    assert.equal(clip.video.frames.length, 5);
    assert.deepEqual(
      steps,
      [1, 6, 2, 6, 3, 6, 4, 6, 5, 6, 6, 6],
      "the image's steps, then the clip's",
    );
    const plain = await generate(ae, t2v, base);
    assert.notDeepEqual(
      plain.video.frames[0],
      image.video.frames[0],
      "without it, frame 0 differs",
    );
    const again = await generate(ae, t2v, { ...base, imageFirst: true });
    assert.deepEqual(again.video.frames, clip.video.frames, "same seed, same clip");
  });

  it("stochastic steps (eta) are seeded by the video's seed and change the sample", async () => {
    const plain = await generate(ae, t2v, base);
    const a = await generate(ae, t2v, { ...base, eta: 0.7 });
    const again = await generate(ae, t2v, { ...base, eta: 0.7 });
    assert.deepEqual(again.video.frames, a.video.frames, "same seed and eta, same video");
    assert.notDeepEqual(a.video.frames, plain.video.frames);
    const late = await generate(ae, t2v, { ...base, eta: 0.7, etaUntil: 0.5 });
    assert.notDeepEqual(late.video.frames, a.video.frames, "etaUntil ends the stochastic steps");
  });

  it("says what sizes and durations the model can make", async () => {
    await assert.rejects(
      generate(ae, t2v, { ...base, width: 24, frames: 4 }),
      /cannot make width 24, 4 frames; it makes widths that are multiples of 16, heights that are multiples of 16, 1 \+ 2·k frames \(1, 3, 5, \.\.\.\)/,
    );
  });
});
