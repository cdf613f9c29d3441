/**
 * The sampling modes on an untrained tiny model (random weights): the plumbing and the exact
 * invariants — source frames kept byte for byte where they are kept, lengths, known latents
 * reproduced, determinism by seed, clear errors — not the quality.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Video } from "../media/video.ts";
import { createDevice } from "../tensor/device.ts";
import { Rng } from "../util/rng.ts";
import { VideoAutoencoder } from "./autoencoder.ts";
import { generate } from "./generate.ts";
import {
  animate,
  connect,
  edit,
  extend,
  generateLong,
  loop,
  type ModeOptions,
  WINDOW_FRAMES,
  windowLatents,
} from "./modes.ts";
import { getConfig } from "./registry.ts";
import { TextToVideo } from "./text-to-video.ts";
import { arrayToVideos, videosToTensor } from "./video-tensor.ts";

const device = await createDevice({ kind: "cpu" });
const cfg = getConfig("tiny");
const ae = new VideoAutoencoder(device, new Rng(1), cfg.ae);
const t2v = new TextToVideo(device, new Rng(2), cfg);
const r = cfg.ae.temporalDown; // 2 for tiny
// Windows of 9 frames (5 latents) rather than the default 17, so that the tests cross several
// windows with short clips.
const WINDOW = 9;

/** A w×h clip of `n` frames: a diagonal gradient moving one pixel a frame, tinted by `tint`. */
function clip(n: number, w = 32, h = 16, tint = 0): Video {
  const frames = Array.from({ length: n }, (_, f) => {
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 3;
        rgb[p] = ((x + f) * 8) % 256;
        rgb[p + 1] = (y * 16 + tint) % 256;
        rgb[p + 2] = ((x + y) * 4 + f * 10) % 256;
      }
    return rgb;
  });
  return { width: w, height: h, fps: 8, frames };
}

/** decode(encode(video)) as 8-bit frames. */
async function reconstruct(video: Video): Promise<Uint8Array[]> {
  const z = await ae.encodeFrames(videosToTensor(device, [video]));
  const x = await ae.decodeLatent(z);
  return arrayToVideos(await x.toArray(), x.shape, video.fps)[0].frames;
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const base: ModeOptions = { steps: 2, guidance: 2, seed: 5, windowFrames: WINDOW };

/** Records the progress callbacks: "window/windows" then each "step/steps". */
function progress() {
  const log: string[] = [];
  return {
    log,
    onWindow: (w: number, n: number) => log.push(`w${w}/${n}`),
    onStep: (s: number, n: number) => log.push(`${s}/${n}`),
  };
}

describe("sampling modes (untrained tiny model: plumbing and invariants)", () => {
  it("extend forward keeps the source bit-exact and adds the requested frames, window by window", async () => {
    const source = clip(5);
    const p = progress();
    const out = await extend(ae, t2v, source, {
      ...base,
      ...p,
      prompt: "a red ball bounces",
      direction: "forward",
      seconds: 1.5,
    });
    assert.equal(out.video.frames.length, 5 + 12, "round(1.5 s · 8 fps) = 12 frames added");
    assert.deepEqual(out.video.frames.slice(0, 5), source.frames, "the source, byte for byte");
    assert.deepEqual(
      [out.video.width, out.video.height, out.video.fps],
      [source.width, source.height, source.fps],
    );
    assert.match(out.caption, /red/);
    // Each window conditions on 1 + 2r frames (3 latents) and adds 2 latents = 2r = 4 frames.
    assert.equal(out.windows, 3);
    assert.deepEqual(p.log, ["w1/3", "1/2", "2/2", "w2/3", "1/2", "2/2", "w3/3", "1/2", "2/2"]);
    const again = await extend(ae, t2v, source, {
      ...base,
      prompt: "a red ball bounces",
      direction: "forward",
      seconds: 1.5,
    });
    assert.deepEqual(again.video.frames, out.video.frames, "same seed, same frames");
    const other = await extend(ae, t2v, source, {
      ...base,
      seed: 6,
      prompt: "a red ball bounces",
      direction: "forward",
      seconds: 1.5,
    });
    assert.notDeepEqual(other.video.frames.slice(5), out.video.frames.slice(5), "another seed");
    // The new frames are conditioned on the source's last 1 + 2r frames and nothing before.
    const longer = clip(7);
    const o = { ...base, direction: "forward" as const, seconds: 0.5 };
    const plain = await extend(ae, t2v, longer, o);
    const early = { ...longer, frames: [clip(1, 32, 16, 50).frames[0], ...longer.frames.slice(1)] };
    const late = {
      ...longer,
      frames: [...longer.frames.slice(0, 6), clip(1, 32, 16, 50).frames[0]],
    };
    assert.deepEqual(
      (await extend(ae, t2v, early, o)).video.frames.slice(7),
      plain.video.frames.slice(7),
    );
    assert.notDeepEqual(
      (await extend(ae, t2v, late, o)).video.frames.slice(7),
      plain.video.frames.slice(7),
    );
    // Without a prompt the model runs unconditionally (the empty caption).
    const bare = await extend(ae, t2v, source, { ...base, direction: "forward", seconds: 0.25 });
    assert.equal(bare.caption, "");
    assert.equal(bare.video.frames.length, 7);
  });

  it("extend backward ends with the source bit-exact and adds the requested frames before it", async () => {
    const source = clip(4);
    const out = await extend(ae, t2v, source, {
      ...base,
      prompt: "a blue box",
      direction: "backward",
      seconds: 1,
    });
    assert.equal(out.video.frames.length, 4 + 8);
    assert.deepEqual(out.video.frames.slice(8), source.frames, "the source, byte for byte");
    // A window ends on 2 known latents (the first 2r frames) and adds 1 + r·2 = 5 frames.
    assert.equal(out.windows, 2);
    const again = await extend(ae, t2v, source, {
      ...base,
      prompt: "a blue box",
      direction: "backward",
      seconds: 1,
    });
    assert.deepEqual(again.video.frames, out.video.frames);
    // Other seeds, other beginnings, all leading into the same ending.
    const other = await extend(ae, t2v, source, {
      ...base,
      seed: 9,
      prompt: "a blue box",
      direction: "backward",
      seconds: 1,
    });
    assert.notDeepEqual(other.video.frames.slice(0, 8), out.video.frames.slice(0, 8));
    assert.deepEqual(other.video.frames.slice(8), source.frames);
  });

  it("connect starts with a and ends with b; loop starts with the clip and returns to it", async () => {
    const a = clip(5);
    const b = clip(6, 32, 16, 100);
    const p = progress();
    const out = await connect(ae, t2v, a, b, { ...base, ...p, seconds: 0.75 });
    const between = r * Math.round((0.75 * 8) / r); // 6 frames
    assert.equal(out.video.frames.length, 5 + between + 6);
    assert.deepEqual(out.video.frames.slice(0, 5), a.frames);
    assert.deepEqual(out.video.frames.slice(5 + between), b.frames);
    assert.equal(out.windows, 1, "a transition of 3 latents fits one first-last window");
    // A longer transition is led in by forward windows before the closing window.
    const long = await connect(ae, t2v, a, b, { ...base, seconds: 2 });
    assert.equal(long.video.frames.length, 5 + 16 + 6);
    assert.deepEqual(long.video.frames.slice(0, 5), a.frames);
    assert.deepEqual(long.video.frames.slice(5 + 16), b.frames);
    assert.equal(long.windows, 4, "8 latents: 5 by forward windows (2, 2, 1), then 3");
    await assert.rejects(
      connect(ae, t2v, a, clip(6, 16, 16), { ...base, seconds: 1 }),
      /differ in size \(32×16 and 16×16\)/,
    );

    const c = clip(5);
    const looped = await loop(ae, t2v, c, { ...base, prompt: "a ball" });
    assert.equal(looped.video.frames.length, 5 + r * (windowLatents(ae, WINDOW) - 2));
    assert.deepEqual(looped.video.frames.slice(0, 5), c.frames);
  });

  it("animate starts from the image's reconstruction and makes the requested frames", async () => {
    const image = clip(1, 16, 32);
    const p = progress();
    const out = await animate(ae, t2v, image, {
      ...base,
      ...p,
      prompt: "a green ball rolls",
      frames: 13,
      fps: 10,
    });
    assert.deepEqual(
      [out.video.width, out.video.height, out.video.fps, out.video.frames.length],
      [16, 32, 10, 13],
    );
    // The known latent 0 is kept (up to lerp's float rounding) and the decoder is causal, so
    // frame 0 is decode(encode(image)) frame 0.
    const [recon] = await reconstruct(image);
    assert.ok(maxDiff(out.video.frames[0], recon) <= 1, "first frame = the reconstruction");
    assert.ok(maxDiff(out.video.frames[0], image.frames[0]) > 1, "(not the image itself)");
    assert.equal(out.windows, 2, "7 latents: a window of 5, then 2 more after 2 known");
    const again = await animate(ae, t2v, image, {
      ...base,
      prompt: "a green ball rolls",
      frames: 13,
      fps: 10,
    });
    assert.deepEqual(again.video.frames, out.video.frames);
    await assert.rejects(
      animate(ae, t2v, image, { ...base, prompt: "a ball", frames: 4, fps: 8 }),
      /cannot make 4 frames/,
    );
  });

  it("edit at strength 0 is the reconstruction; above 0 it is resampled, deterministically", async () => {
    const source = clip(6); // padded to 7 = 1 + 3r for the autoencoder, cut back to 6
    const recon = (
      await reconstruct({ ...source, frames: [...source.frames, source.frames[5]] })
    ).slice(0, 6);
    const zero = await edit(ae, t2v, source, { ...base, prompt: "at night", strength: 0 });
    assert.deepEqual(zero.video.frames, recon);
    assert.equal(zero.windows, 0);
    const p = progress();
    const out = await edit(ae, t2v, source, { ...base, ...p, prompt: "at night", strength: 0.6 });
    assert.equal(out.video.frames.length, 6);
    assert.notDeepEqual(out.video.frames, recon);
    assert.deepEqual(p.log, ["w1/1", "1/2", "2/2"]);
    const again = await edit(ae, t2v, source, { ...base, prompt: "at night", strength: 0.6 });
    assert.deepEqual(again.video.frames, out.video.frames);
    await assert.rejects(
      edit(ae, t2v, source, { ...base, prompt: "at night", strength: 1.5 }),
      /strength must be from 0 to 1/,
    );
  });

  it("generates past one window through sliding windows, and is generate within one", async () => {
    const o = {
      prompt: "a red ball bounces at sunset",
      width: 32,
      height: 16,
      fps: 8,
      ...base,
    };
    const p = progress();
    const long = await generateLong(ae, t2v, { ...o, ...p, frames: 1 + 7 * r });
    assert.equal(long.video.frames.length, 15);
    assert.equal(long.windows, 3, "8 latents: 5, then 2 and 1 after 2 known");
    assert.deepEqual(
      p.log.filter((x) => x.startsWith("w")),
      ["w1/3", "w2/3", "w3/3"],
    );
    const again = await generateLong(ae, t2v, { ...o, frames: 1 + 7 * r });
    assert.deepEqual(again.video.frames, long.video.frames);
    // Image first: the first window starts from the image generate makes with the same seed.
    const fromImage = await generateLong(ae, t2v, { ...o, frames: 1 + 7 * r, imageFirst: true });
    assert.equal(fromImage.video.frames.length, 15);
    const image = await generate(ae, t2v, { ...o, frames: 1 });
    assert.deepEqual(fromImage.video.frames[0], image.video.frames[0]);
    assert.notDeepEqual(long.video.frames[0], image.video.frames[0]);
    const short = await generateLong(ae, t2v, { ...o, frames: 1 + 4 * r });
    assert.deepEqual(
      short.video.frames,
      (await generate(ae, t2v, { ...o, frames: 9 })).video.frames,
    );
    // By default a window is the training clip: 17 frames, 9 latents at 2× in time, sampled whole.
    assert.equal(WINDOW_FRAMES, 17);
    assert.equal(windowLatents(ae), 9);
    const { windowFrames: _, ...plain } = { ...o, steps: 1 };
    const clip17 = await generateLong(ae, t2v, { ...plain, frames: 17 });
    assert.equal(clip17.windows, 1);
    assert.deepEqual(
      clip17.video.frames,
      (await generate(ae, t2v, { ...plain, frames: 17 })).video.frames,
    );
    assert.equal((await generateLong(ae, t2v, { ...plain, frames: 19 })).windows, 2);
    assert.throws(
      () => windowLatents(ae, 8),
      /window of 8 frames: .* 1 \+ 2·k frames with k ≥ 3 \(7, 9/,
    );
    assert.throws(() => windowLatents(ae, 5), /window of 5 frames/);
  });

  it("refuses too-short clips and sizes the model cannot make, saying what works", async () => {
    await assert.rejects(
      extend(ae, t2v, clip(2), { ...base, direction: "forward", seconds: 1 }),
      /the clip is too short: 2 frames, needs at least 3 to extend forward/,
    );
    await assert.rejects(
      extend(ae, t2v, clip(1), { ...base, direction: "backward", seconds: 1 }),
      /too short: 1 frame, needs at least 2 to extend backward/,
    );
    await assert.rejects(
      extend(ae, t2v, clip(5, 24, 16), { ...base, direction: "forward", seconds: 1 }),
      /the clip is 24×16; this model works on widths that are multiples of 16 and heights that are multiples of 16/,
    );
    await assert.rejects(
      animate(ae, t2v, clip(1, 32, 20), { ...base, prompt: "a ball", frames: 5, fps: 8 }),
      /the image is 32×20/,
    );
    await assert.rejects(loop(ae, t2v, clip(2), base), /too short: 2 frames, needs at least 3/);
  });
});
