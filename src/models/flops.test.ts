/**
 * The FLOP formulas of the registry against the ops a forward pass really runs: a recorded
 * graph's matmuls (2·M·N·K), attentions (4·B·H·Tq·Tk·Dh) and convolutions
 * (2·outputs·Cin·kT·kH·kW) add up to exactly what `ditForwardFlops`, `textForwardFlops` and
 * `autoencoderForwardFlops` say, on the tiny config.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createDevice } from "../tensor/device.ts";
import { noGrad } from "../tensor/engine.ts";
import type { MatmulAttrs } from "../tensor/ops/matmul.ts";
import { type Graph, recordGraph } from "../tensor/recorder.ts";
import { TextEncoder } from "../text/encoder.ts";
import { Rng } from "../util/rng.ts";
import { VideoAutoencoder } from "./autoencoder.ts";
import { DiffusionTransformer } from "./dit.ts";
import {
  autoencoderForwardFlops,
  ditForwardFlops,
  getConfig,
  textForwardFlops,
} from "./registry.ts";

const prod = (s: number[]) => s.reduce((p, q) => p * q, 1);

/** FLOPs of the matmuls, attentions and convolutions of a recorded graph. */
function graphFlops(g: Graph): number {
  let total = 0;
  for (const n of g.nodes) {
    const shape = (i: number) => g.tensors[n.inputs[i]].shape;
    const out = g.tensors[n.outputs[0]].shape;
    if (n.op === "matmul") {
      const a = shape(0);
      const k = (n.attrs as MatmulAttrs).transA ? a[a.length - 2] : a[a.length - 1];
      total += 2 * prod(out) * k;
    } else if (n.op === "attention") {
      const [b, h, tq, dh] = shape(0);
      total += 4 * b * h * tq * shape(1)[2] * dh;
    } else if (n.op === "conv3d") {
      const [, cin, kt, kh, kw] = shape(1);
      total += 2 * prod(out) * cin * kt * kh * kw;
    }
  }
  return total;
}

it("the FLOP formulas count what the forward passes run", async () => {
  const device = await createDevice({ kind: "cpu" });
  const cfg = getConfig("tiny");
  const rng = new Rng(1);
  const dit = new DiffusionTransformer(device, rng, cfg.dit);
  const x = device.randn([1, 4, 3, 4, 4], rng);
  const cond = {
    tokens: device.randn([1, cfg.text.maxTokens, cfg.text.dim], rng),
    pooled: device.randn([1, cfg.text.dim], rng),
  };
  const d = noGrad(() => recordGraph(() => dit.forward(x, device.tensor([0.5], [1]), cond)));
  assert.equal(graphFlops(d.graph), ditForwardFlops(cfg.dit, 12, cfg.text.maxTokens));

  const text = new TextEncoder(device, rng, cfg.text);
  const ids = device.tensor(new Int32Array(cfg.text.maxTokens), [1, cfg.text.maxTokens], "i32");
  const t = noGrad(() => recordGraph(() => text.forward(ids).tokens));
  assert.equal(graphFlops(t.graph), textForwardFlops(cfg.text));

  const ae = new VideoAutoencoder(device, rng, cfg.ae);
  const clip = device.randn([1, 3, 5, 16, 16], rng);
  const a = noGrad(() => recordGraph(() => ae.decode(ae.encode(clip))));
  assert.equal(graphFlops(a.graph), autoencoderForwardFlops(cfg.ae, 5, 16, 16));
  const grownCfg = { ...cfg.ae, decoderBlocks: 3 };
  const grown = new VideoAutoencoder(device, rng, grownCfg);
  const g = noGrad(() => recordGraph(() => grown.decode(grown.encode(clip))));
  assert.equal(graphFlops(g.graph), autoencoderForwardFlops(grownCfg, 5, 16, 16));
});
