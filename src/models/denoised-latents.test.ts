/**
 * The transformer's one-step denoised latents that a decoder can train on: x̂0 = x_t − t·v with
 * classifier-free guidance, checked against the model's plain unguided velocities combined by
 * hand; the drawn version keeps undrawn clips exact and is deterministic by its random stream;
 * and the compiled program (onnx device) matches the eager reference.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createDevice, type Device } from "../devices.ts";
import { noGrad } from "../tensor/engine.ts";
import { tinyLayoutConfig } from "../testing/tiny-model.ts";
import { Rng } from "../util/rng.ts";
import type { StartLayout } from "../world/start-layout.ts";
import { denoiseAt, denoisedLatents } from "./denoised-latents.ts";
import { layoutChannelCount, layoutChannels } from "./layout-input.ts";
import { TextToVideo } from "./text-to-video.ts";

const SHAPE = [3, 4, 3, 4, 4];
const CAPTIONS = ["a red ball falls", "two blue boxes slide left", "a green cone rests"];
const TIMES = [0, 0.3, 0.85];

/** A 4 × 4-cell layout: one object in cell `at` of colour (r, g, b), moving right. */
const layoutAt = (at: number, rgb: number[]): StartLayout => ({
  rows: 4,
  cols: 4,
  occupancy: Float32Array.from({ length: 16 }, (_, i) => (i === at ? 1 : 0)),
  color: Float32Array.from({ length: 48 }, (_, i) => (i % 16 === at ? rgb[i >> 4] : 0)),
  motion: Float32Array.from({ length: 32 }, (_, i) => (i === at ? 0.5 : 0)),
  marks: Float32Array.from({ length: 112 }, (_, i) =>
    i % 16 === at ? [1, 0, 0, 0, 1, 0, 0.9][i >> 4] : 0,
  ),
  bounce: Float32Array.from({ length: 16 }, (_, i) => (i === at ? 0.5 : 0)),
});
const LAYOUTS = [layoutAt(0, [1, 0, 0]), null, layoutAt(9, [0, 1, 0])];

function model(device: Device): TextToVideo {
  return new TextToVideo(device, new Rng(1), tinyLayoutConfig(true));
}

it("denoiseAt is x_t − t·v with the guided velocity of sampling", async () => {
  const device = await createDevice({ kind: "cpu" });
  const t2v = model(device);
  const x0 = device.randn(SHAPE, new Rng(2));
  const noise = device.randn(SHAPE, new Rng(3));
  const g = 2.5;
  const got = await (await denoiseAt(t2v, x0, noise, TIMES, CAPTIONS, LAYOUTS, g)).toArray();

  // By hand: two unguided velocities per clip (its caption and layout; the empty caption with
  // no layout), v = v_u + g·(v_c − v_u), at x_t = (1 − t)·x0 + t·noise.
  const [b, c, t, h, w] = SHAPE;
  const per = c * t * h * w;
  const [x0a, na] = [await x0.toArray(), await noise.toArray()];
  const xt = Float32Array.from(x0a, (v, i) => {
    const s = TIMES[Math.floor(i / per)];
    return (1 - s) * v + s * na[i];
  });
  const nl = layoutChannelCount(t2v.cfg.dit);
  const velocityOf = async (captions: string[], layouts: (StartLayout | null)[]) => {
    const cond = noGrad(() => t2v.text.forward(t2v.tokenize(captions)));
    const v = noGrad(() =>
      t2v.velocity({
        x: device.tensor(xt, SHAPE),
        t: device.tensor(TIMES, [b]),
        tokens: cond.tokens,
        pooled: cond.pooled,
        layout: device.tensor(layoutChannels(layouts, t, h, w, t2v.cfg.dit), [b, nl, t, h, w]),
      }),
    );
    return v.toArray();
  };
  const vc = await velocityOf(CAPTIONS, LAYOUTS);
  const vu = await velocityOf(["", "", ""], [null, null, null]);
  let worst = 0;
  let moved = 0;
  for (let i = 0; i < xt.length; i++) {
    const s = TIMES[Math.floor(i / per)];
    const want = xt[i] - s * (vu[i] + g * (vc[i] - vu[i]));
    worst = Math.max(worst, Math.abs(got[i] - want));
    if (s > 0) moved = Math.max(moved, Math.abs(got[i] - x0a[i]));
  }
  assert.ok(worst < 1e-4, `largest difference from the hand-made estimate ${worst}`);
  // Clip 0 (t = 0) is its clean latent exactly; the others are the model's guesses.
  for (let i = 0; i < per; i++) assert.equal(got[i], x0a[i]);
  assert.ok(moved > 0.1, `noised clips are the model's estimate, not x0 (moved ${moved})`);
  await assert.rejects(
    denoiseAt(t2v, x0, noise, [0, 0.5], CAPTIONS, LAYOUTS, g),
    /3 captions and 2 times for 3 latents/,
  );
});

it("denoisedLatents keeps the undrawn clips exact and repeats itself from the same stream", async () => {
  const device = await createDevice({ kind: "cpu" });
  const t2v = model(device);
  const x0 = device.randn([8, 4, 3, 4, 4], new Rng(4));
  const captions = Array.from({ length: 8 }, (_, i) => CAPTIONS[i % 3]);
  const opts = { model: t2v, share: 0.5, maxT: 0.4, guidance: 2 };
  const a = await (await denoisedLatents(x0, captions, undefined, new Rng(5), opts)).toArray();
  const again = await (await denoisedLatents(x0, captions, undefined, new Rng(5), opts)).toArray();
  const other = await (await denoisedLatents(x0, captions, undefined, new Rng(6), opts)).toArray();
  assert.deepEqual(a, again);
  assert.notDeepEqual(a, other);
  const clean = await x0.toArray();
  const per = 4 * 3 * 4 * 4;
  const exact = Array.from({ length: 8 }, (_, k) =>
    a.subarray(k * per, (k + 1) * per).every((v, i) => v === clean[k * per + i]),
  );
  const kept = exact.filter(Boolean).length;
  assert.ok(kept > 0 && kept < 8, `some clips exact, some denoised (exact: ${exact.join(",")})`);
});

it("the compiled estimate matches the eager reference", async () => {
  const results: Float32Array[] = [];
  for (const kind of ["cpu", "onnx"] as const) {
    const device = await createDevice({ kind });
    const t2v = model(device);
    const x0 = device.randn(SHAPE, new Rng(2));
    const noise = device.randn(SHAPE, new Rng(3));
    const y = await denoiseAt(t2v, x0, noise, TIMES, CAPTIONS, LAYOUTS, 2);
    results.push((await y.toArray()) as Float32Array);
  }
  const [eager, compiled] = results;
  let worst = 0;
  for (let i = 0; i < eager.length; i++)
    worst = Math.max(worst, Math.abs(eager[i] - compiled[i]) / (1 + Math.abs(eager[i])));
  assert.ok(worst < 1e-4, `compiled vs eager: largest relative difference ${worst}`);
});
