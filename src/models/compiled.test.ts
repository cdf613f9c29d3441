/**
 * The models run unchanged on the compiled ONNX Runtime device: a training step of the tiny
 * text-to-video model (text encoder + DiT, rectified-flow loss with known frames) and of the
 * tiny autoencoder, compiled whole, give the eager CPU reference's losses at every one of 4
 * steps (relative 1e-4) and its weights after them to within 1 % of the furthest AdamW can move
 * a weight in those steps (lr·steps): early AdamW steps are ≈ lr·sign(g), so gradients that are
 * nearly zero turn summation-order noise into visible weight differences; 1 % bounds that
 * while a wrong gradient (a full step the wrong way) fails. Same seeds and host-drawn batches.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { compile } from "../compile/compile.ts";
import { createDevice, type Device } from "../devices.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { tinyLayoutConfig } from "../testing/tiny-model.ts";
import { choosePrecision } from "../train/mixed-precision.ts";
import { Trainer } from "../train/trainer.ts";
import { Rng } from "../util/rng.ts";
import type { StartLayout } from "../world/start-layout.ts";
import { VideoAutoencoder } from "./autoencoder.ts";
import { getConfig } from "./registry.ts";
import { type FlowBatch, TextToVideo } from "./text-to-video.ts";

const STEPS = 4;
const LR = 3e-3;
const cfg = getConfig("tiny");

type DitArgs = Record<
  | "x0"
  | "ids"
  | "noise"
  | "t"
  | "tGrid"
  | "mask"
  | "clean"
  | "weight"
  | "layout"
  | "trajectory"
  | "trajectoryNoise",
  Tensor
>;

/** A 4 × 4-cell first-frame layout: one white object in the top-left cell, moving right and up. */
const LAYOUT: StartLayout = {
  rows: 4,
  cols: 4,
  occupancy: Float32Array.from({ length: 16 }, (_, i) => (i === 0 ? 1 : 0)),
  color: Float32Array.from({ length: 48 }, (_, i) => (i % 16 === 0 ? 1 : 0)),
  motion: Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? 0.7 : i === 16 ? -0.4 : 0)),
  // One ball marked in that cell, its centre left of and below the cell's middle, 0.8 cells wide.
  marks: Float32Array.from({ length: 112 }, (_, i) => [1, -0.3, 0.4, 1, 0, 0, 0.8][i / 16] ?? 0),
  // Bouncy (restitution 0.85) over the whole cell.
  bounce: Float32Array.from({ length: 16 }, (_, i) => (i === 0 ? 0.85 : 0)),
};

async function trainDit(device: Device, compiled: boolean) {
  // With frame positions (constant features, zero-started weights), a layout input and the
  // trajectory head (its loss beside the velocity's), its trajectory noised as an input too.
  const layoutCfg = tinyLayoutConfig(true);
  const model = new TextToVideo(device, new Rng(1), {
    ...layoutCfg,
    dit: { ...layoutCfg.dit, trajectoryWeight: 0.5, trajectoryInput: true },
  });
  const trainer = new Trainer(model.parameters(), {
    policy: choosePrecision(device, "f32"),
    optimizer: { lr: LR },
    clipNorm: 1,
  });
  const x0 = device.randn([2, 4, 3, 4, 4], new Rng(2));
  const trajectory = device.rand([2, 3, 3, 4, 4], new Rng(5), 0, 1); // [B, 3, T, H, W]
  const data = new Rng(3);
  const losses: number[] = [];
  const step = (a: DitArgs) => {
    const batch: FlowBatch = {
      ids: a.ids,
      draws: { noise: a.noise, t: a.t, tGrid: a.tGrid },
      known: { mask: a.mask, clean: a.clean, weight: a.weight },
      layout: a.layout,
      trajectoryNoise: a.trajectoryNoise,
      dispose() {},
    };
    return {
      loss: trainer.step((dtype) => model.loss(a.x0, batch, dtype, undefined, a.trajectory)).loss,
    };
  };
  const run = compiled ? compile(step) : async (a: DitArgs) => step(a);
  for (let s = 0; s < STEPS; s++) {
    const b = model.drawBatch(data, x0, ["a red ball bounces", "two blue boxes slide"], {
      layouts: [LAYOUT, LAYOUT],
    });
    const known = b.known;
    assert.ok(known && b.layout && b.trajectoryNoise);
    const args: DitArgs = {
      x0,
      ids: b.ids,
      noise: b.draws.noise,
      t: b.draws.t,
      tGrid: b.draws.tGrid,
      mask: known.mask,
      clean: known.clean,
      weight: known.weight,
      layout: b.layout,
      trajectory,
      trajectoryNoise: b.trajectoryNoise,
    };
    losses.push(await (await run(args)).loss.item());
    b.dispose();
  }
  return { losses, state: await model.stateDict() };
}

async function trainAe(device: Device, compiled: boolean) {
  const ae = new VideoAutoencoder(device, new Rng(1), cfg.ae);
  const trainer = new Trainer(ae.parameters(), {
    policy: choosePrecision(device, "f32"),
    optimizer: { lr: LR },
    clipNorm: 1,
  });
  const step = (a: { x: Tensor; n: Tensor }) => ({
    loss: trainer.step(() => ae.loss(a.x, a.n).loss).loss,
  });
  const run = compiled ? compile(step) : async (a: { x: Tensor; n: Tensor }) => step(a);
  const rng = new Rng(4);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const x = device.rand([1, 3, 5, 16, 16], rng, -1, 1);
    const n = device.randn([1, 4, 3, 2, 2], rng);
    losses.push(await (await run({ x, n })).loss.item());
  }
  return { losses, state: await ae.stateDict() };
}

function compare(name: string, eager: Awaited<ReturnType<typeof trainAe>>, comp: typeof eager) {
  eager.losses.forEach((l, i) => {
    assert.ok(
      Math.abs(l - comp.losses[i]) <= 1e-4 * Math.abs(l) + 1e-6,
      `${name} step ${i}: eager ${l}, compiled ${comp.losses[i]}`,
    );
  });
  for (const [path, w] of Object.entries(eager.state)) {
    const c = comp.state[path];
    let diff = 0;
    for (let i = 0; i < w.length; i++) diff = Math.max(diff, Math.abs(w[i] - c[i]));
    assert.ok(diff <= 0.01 * LR * STEPS, `${name} ${path}: weights differ by ${diff}`);
  }
}

it("trains the tiny DiT and autoencoder as compiled ONNX Runtime steps, matching the CPU reference", async () => {
  const cpu = await createDevice({ kind: "cpu" });
  const onnx = await createDevice({ kind: "onnx" });
  compare("dit", await trainDit(cpu, false), await trainDit(onnx, true));
  compare("autoencoder", await trainAe(cpu, false), await trainAe(onnx, true));
});

it("sampling on the onnx device (one compiled program per velocity) matches the CPU reference, guided and with known frames", async () => {
  const run = async (device: Device) => {
    const model = new TextToVideo(device, new Rng(5), cfg);
    const mask = device.tensor(
      Array.from({ length: 2 * 3 * 16 }, (_, i) => (Math.floor(i / 16) % 3 === 0 ? 1 : 0)),
      [2, 1, 3, 4, 4],
    );
    const clean = device.randn([2, 4, 3, 4, 4], new Rng(6));
    const out = await model.sampleLatents(["a red ball", "two blue boxes"], [4, 3, 4, 4], {
      seed: 9,
      steps: 4,
      guidance: 2.5,
      method: "heun",
      known: { mask, clean },
    });
    return Float32Array.from(await out.toArray());
  };
  const eager = await run(await createDevice({ kind: "cpu" }));
  const compiled = await run(await createDevice({ kind: "onnx" }));
  let worst = 0;
  let scale = 0;
  eager.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(v - compiled[i]));
    scale = Math.max(scale, Math.abs(v));
  });
  assert.ok(worst <= 1e-4 * (1 + scale), `compiled vs eager sample: max difference ${worst}`);
});

it("the autoencoder's inference encode and decode run compiled on the onnx device and match the CPU reference", async () => {
  const run = async (device: Device) => {
    const ae = new VideoAutoencoder(device, new Rng(7), cfg.ae);
    const clip = device.rand([1, 3, 5, 16, 16], new Rng(8), -1, 1);
    const z = await ae.encodeFrames(clip);
    const pixels = await ae.decodeLatent(z);
    return [Float32Array.from(await z.toArray()), Float32Array.from(await pixels.toArray())];
  };
  const [ze, pe] = await run(await createDevice({ kind: "cpu" }));
  const [zc, pc] = await run(await createDevice({ kind: "onnx" }));
  for (const [e, c, what] of [
    [ze, zc, "latent"],
    [pe, pc, "pixels"],
  ] as const) {
    const worst = e.reduce((m, v, i) => Math.max(m, Math.abs(v - c[i])), 0);
    assert.ok(worst <= 1e-4, `${what}: compiled vs eager max difference ${worst}`);
  }
});
