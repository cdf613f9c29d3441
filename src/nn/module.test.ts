import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice, type Device } from "../devices.ts";
import { backward } from "../tensor/autograd.ts";
import { tidy } from "../tensor/engine.ts";
import { sum } from "../tensor/ops/reduce.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { scaledError, testDevices } from "../testing/op-check.ts";
import { Rng } from "../util/rng.ts";
import { MultiHeadSelfAttention } from "./attention.ts";
import { Embedding } from "./embedding.ts";
import { LayerNorm, RMSNorm } from "./layer-norm.ts";
import { Linear } from "./linear.ts";
import { MLP } from "./mlp.ts";
import { Module } from "./module.ts";
import { TokenTransformer, TransformerBlock } from "./transformer.ts";

type State = Record<string, Float32Array>;

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** y[r, o] = Σ_i x[r, i]·w[o, i] + b[o], in float64. */
function hostLinear(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  rows: number,
  inF: number,
  outF: number,
): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = s;
    }
  return y;
}

/** Multi-head causal self-attention of x [B, T, D] from a state dict, in float64. */
function hostAttention(
  x: Float32Array,
  s: State,
  b: number,
  t: number,
  d: number,
  h: number,
  causal: boolean,
): Float64Array {
  const dh = d / h;
  const qkv = hostLinear(x, s["qkv.weight"], s["qkv.bias"], b * t, d, 3 * d);
  const merged = new Float64Array(b * t * d);
  for (let bi = 0; bi < b; bi++)
    for (let hi = 0; hi < h; hi++)
      for (let i = 0; i < t; i++) {
        const q = (j: number, c: number) => qkv[(bi * t + j) * 3 * d + 0 * d + hi * dh + c];
        const k = (j: number, c: number) => qkv[(bi * t + j) * 3 * d + 1 * d + hi * dh + c];
        const v = (j: number, c: number) => qkv[(bi * t + j) * 3 * d + 2 * d + hi * dh + c];
        const last = causal ? i : t - 1;
        const scores: number[] = [];
        for (let j = 0; j <= last; j++) {
          let dot = 0;
          for (let c = 0; c < dh; c++) dot += q(i, c) * k(j, c);
          scores.push(dot / Math.sqrt(dh));
        }
        const mx = Math.max(...scores);
        const e = scores.map((z) => Math.exp(z - mx));
        const total = e.reduce((p, z) => p + z, 0);
        for (let c = 0; c < dh; c++) {
          let o = 0;
          for (let j = 0; j <= last; j++) o += (e[j] / total) * v(j, c);
          merged[(bi * t + i) * d + hi * dh + c] = o;
        }
      }
  return hostLinear(merged, s["proj.weight"], s["proj.bias"], b * t, d, d);
}

async function devices(): Promise<{ name: string; device: Device }[]> {
  const seen = new Set<Device>();
  const out: { name: string; device: Device }[] = [];
  for (const d of await testDevices()) {
    if (seen.has(d.device)) continue;
    seen.add(d.device);
    out.push({ name: d.name, device: d.device });
  }
  return out;
}

class Pair extends Module {
  readonly a: Linear;
  readonly scale: Tensor;
  constructor(device: Device, rng: Rng) {
    super(device);
    this.scale = this.param("scale", device.full([3], 2));
    this.a = this.child("a", new Linear(device, rng, 3, 2));
  }
}

describe("Module", () => {
  it("names parameters by path, in registration order, and registers them for gradients", async () => {
    const device = await createDevice({ kind: "cpu" });
    const m = new Pair(device, new Rng(1));
    assert.deepEqual(
      m.namedParameters().map(([n, t]) => [n, t.name, [...t.shape], t.requiresGrad]),
      [
        ["scale", "scale", [3], true],
        ["a.weight", "a.weight", [2, 3], true],
        ["a.bias", "a.bias", [2], true],
      ],
    );
    assert.equal(m.parameterCount(), 3 + 6 + 2);
    const model = new TokenTransformer(device, new Rng(1), {
      vocab: 7,
      dim: 8,
      heads: 2,
      layers: 2,
    });
    const names = model.namedParameters().map(([n]) => n);
    assert.ok(names.includes("block1.attn.qkv.weight"));
    assert.ok(names.includes("block0.mlp.fc2.bias"));
    assert.equal(model.blocks[1].attn.qkv.weight.name, "block1.attn.qkv.weight");
    assert.equal(new Set(names).size, names.length);
  });

  it("initialises deterministically from the seed, identically on every device", async () => {
    const states: State[] = [];
    for (const { device } of await devices()) {
      const model = new TokenTransformer(device, new Rng(42), {
        vocab: 11,
        dim: 16,
        heads: 2,
        layers: 1,
      });
      states.push(await model.stateDict());
      model.dispose();
    }
    const cpu = await createDevice({ kind: "cpu" });
    const other = await new TokenTransformer(cpu, new Rng(43), {
      vocab: 11,
      dim: 16,
      heads: 2,
      layers: 1,
    }).stateDict();
    for (const s of states.slice(1)) assert.deepEqual(s, states[0]);
    assert.notDeepEqual(other["block0.attn.qkv.weight"], states[0]["block0.attn.qkv.weight"]);
    // Uniform ±1/√in init for Linear weights; unit gamma, zero beta.
    const w = states[0]["block0.attn.qkv.weight"];
    assert.ok(w.every((x) => Math.abs(x) <= 1 / Math.sqrt(16)));
    assert.ok(states[0]["norm.gamma"].every((x) => x === 1));
    assert.ok(states[0]["norm.beta"].every((x) => x === 0));
  });

  it("moves weights between devices through the state dict, with exact outputs", async () => {
    const all = await devices();
    const src = new TokenTransformer(all[0].device, new Rng(5), {
      vocab: 9,
      dim: 16,
      heads: 4,
      layers: 1,
      causal: true,
    });
    const state = await src.stateDict();
    const ids = Array.from({ length: 2 * 7 }, (_, i) => (i * 5) % 9);
    const ref = await tidy(() => src.forward(all[0].device.tensor(ids, [2, 7], "i32"))).toArray();
    for (const { name, device } of all) {
      const dst = new TokenTransformer(device, new Rng(99), {
        vocab: 9,
        dim: 16,
        heads: 4,
        layers: 1,
        causal: true,
      });
      dst.loadStateDict(state);
      assert.deepEqual(await dst.stateDict(), state, `${name}: round trip`);
      const out = await tidy(() => dst.forward(device.tensor(ids, [2, 7], "i32"))).toArray();
      assert.ok(scaledError(out, ref) < 1e-4, `${name}: same outputs after loading`);
    }
  });

  it("rejects bad state dicts and bad names", async () => {
    const device = await createDevice({ kind: "cpu" });
    const m = new Pair(device, new Rng(1));
    const state = await m.stateDict();
    assert.throws(
      () => m.loadStateDict({ ...state, extra: new Float32Array(1) }),
      /unknown parameter "extra"/,
    );
    const { scale: _, ...missing } = state;
    assert.throws(() => m.loadStateDict(missing), /missing parameter "scale"/);
    assert.throws(
      () => m.loadStateDict({ ...state, "a.weight": new Float32Array(5) }),
      /"a.weight" has 5 values but the parameter is \[2, 3\]/,
    );
    class Bad extends Module {
      constructor(d: Device) {
        super(d);
        this.param("w", d.zeros([1]));
        this.param("w", d.zeros([1]));
      }
    }
    assert.throws(() => new Bad(device), /name "w" is registered twice/);
    assert.throws(
      () => new MultiHeadSelfAttention(device, new Rng(1), 10, 3),
      /dim 10 is not divisible by 3 heads/,
    );
  });
});

describe("layers against float64 host computations", () => {
  it("Linear, LayerNorm, RMSNorm, Embedding and MLP", async () => {
    for (const { name, device } of await devices()) {
      const rng = new Rng(8);
      const x = randomArray(rng, 5 * 7 * 13);
      const lin = new Linear(device, rng, 13, 6);
      const s = await lin.stateDict();
      const xt = device.tensor(x, [5, 7, 13]);
      const y = await lin.forward(xt).toArray();
      assert.ok(
        scaledError(y, hostLinear(x, s.weight, s.bias, 35, 13, 6)) < 1e-5,
        `${name}: Linear`,
      );

      const ln = new LayerNorm(device, 13);
      const rms = new RMSNorm(device, 13);
      const lnY = await ln.forward(xt).toArray();
      const rmsY = await rms.forward(xt).toArray();
      for (let r = 0; r < 35; r++) {
        const row = Array.from(x.subarray(r * 13, r * 13 + 13));
        const mu = row.reduce((a, b) => a + b, 0) / 13;
        const vr = row.reduce((a, b) => a + (b - mu) ** 2, 0) / 13;
        const ms = row.reduce((a, b) => a + b * b, 0) / 13;
        for (let c = 0; c < 13; c++) {
          assert.ok(
            Math.abs(lnY[r * 13 + c] - (row[c] - mu) / Math.sqrt(vr + 1e-5)) < 1e-4,
            `${name}: LayerNorm`,
          );
          assert.ok(
            Math.abs(rmsY[r * 13 + c] - row[c] / Math.sqrt(ms + 1e-6)) < 1e-4,
            `${name}: RMSNorm`,
          );
        }
      }

      const emb = new Embedding(device, rng, 10, 4);
      const table = (await emb.stateDict()).table;
      const rows = await emb.forward(device.tensor([3, 0, 9], [3], "i32")).toArray();
      assert.deepEqual(Array.from(rows), [
        ...table.subarray(12, 16),
        ...table.subarray(0, 4),
        ...table.subarray(36, 40),
      ]);

      const mlp = new MLP(device, rng, 13, 9);
      const ms = await mlp.stateDict();
      const hidden = hostLinear(x, ms["fc1.weight"], ms["fc1.bias"], 35, 13, 9).map(
        (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
      );
      const want = hostLinear(hidden, ms["fc2.weight"], ms["fc2.bias"], 35, 9, 13);
      assert.ok(scaledError(await mlp.forward(xt).toArray(), want) < 1e-5, `${name}: MLP`);
    }
  });

  it("MultiHeadSelfAttention (causal and not) matches a host attention", async () => {
    for (const { name, device } of await devices()) {
      for (const causal of [false, true]) {
        const rng = new Rng(21);
        const attn = new MultiHeadSelfAttention(device, rng, 12, 3, { causal });
        // Larger projections than the default init make the softmax far from uniform.
        const s = await attn.stateDict();
        s["qkv.weight"] = s["qkv.weight"].map((v) => v * 4);
        s["qkv.bias"] = randomArray(rng, 36);
        attn.loadStateDict(s);
        const x = randomArray(rng, 2 * 9 * 12);
        const y = await attn.forward(device.tensor(x, [2, 9, 12])).toArray();
        const e = scaledError(y, hostAttention(x, s, 2, 9, 12, 3, causal));
        assert.ok(e < 1e-4, `${name} causal=${causal}: attention differs by ${e}`);
      }
    }
  });

  it("rotary embedding leaves position 0 alone and rotates later positions", async () => {
    for (const { name, device } of await devices()) {
      const x = device.tensor(randomArray(new Rng(3), 12 * 8), [1, 12, 8]);
      // The same seed gives the same weights with and without rope.
      const withRope = new MultiHeadSelfAttention(device, new Rng(4), 8, 2, {
        causal: true,
        rope: {},
        bias: false,
      });
      const plain = new MultiHeadSelfAttention(device, new Rng(4), 8, 2, {
        causal: true,
        bias: false,
      });
      const y = await withRope.forward(x).toArray();
      const yPlain = await plain.forward(x).toArray();
      assert.ok(scaledError(y.subarray(0, 8), yPlain.subarray(0, 8)) < 1e-5, `${name}: position 0`);
      assert.ok(scaledError(y.subarray(8), yPlain.subarray(8)) > 1e-3, `${name}: later positions`);
    }
  });

  it("TransformerBlock: same forward and gradients on every device, every parameter reached", async () => {
    const results: {
      name: string;
      y: ArrayLike<number>;
      grads: ArrayLike<number>[];
    }[] = [];
    for (const { name, device } of await devices()) {
      const rng = new Rng(13);
      const block = new TransformerBlock(device, rng, 16, 2, {
        causal: true,
        rope: {},
        norm: "rms",
      });
      const x = device.tensor(randomArray(new Rng(14), 3 * 11 * 16), [3, 11, 16]);
      const y = tidy(() => {
        const out = block.forward(x); // [3, 11, 16]
        backward(sum(out));
        return out;
      });
      const grads = await Promise.all(block.parameters().map((p) => p.grad!.toArray()));
      for (const [i, g] of grads.entries())
        assert.ok(
          g.some((v) => v !== 0),
          `${name}: ${block.namedParameters()[i][0]} got no gradient`,
        );
      results.push({ name, y: await y.toArray(), grads });
    }
    for (const r of results.slice(1)) {
      assert.ok(scaledError(r.y, results[0].y) < 1e-4, `${r.name}: block output`);
      r.grads.forEach((g, i) => {
        assert.ok(scaledError(g, results[0].grads[i]) < 1e-3, `${r.name}: grad ${i}`);
      });
    }
  });
});
