import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  chooseFlashTiles,
  type FlashConfig,
  type FlashPass,
  flashDkvWgsl,
  flashDqWgsl,
  flashForwardWgsl,
  flashWorkgroupBytes,
} from "../../gpu/kernels/attention.ts";
import { assertClose, checkOp, testDevices } from "../../testing/op-check.ts";
import type { Rng } from "../../util/rng.ts";
import { backward } from "../autograd.ts";
import { tidy } from "../engine.ts";
import {
  attention,
  attentionOp,
  attentionWithLse,
  defaultRopeSections,
  rope3d,
  softmax,
} from "./attention.ts";
import { mul } from "./elementwise.ts";
import { sum } from "./reduce.ts";

/** Deterministic values exact in f16 (multiples of 1/8 in [-2, 2]). */
function exactValues(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (((i * 37 + seed * 11) % 33) - 16) / 8);
}

describe("softmax over the last axis", () => {
  it("forward and gradient at 37×53", async () => {
    await checkOp("softmax", [{ shape: [37, 53] }], (x) => softmax(x));
    await checkOp("softmax 3-D", [{ shape: [3, 5, 7] }], (x) => softmax(x));
  });

  it("is stable for large-magnitude inputs", async () => {
    // Integers up to ±1000 are exact in f16, so every device sees the same inputs.
    await checkOp(
      "softmax ±1000",
      [{ shape: [37, 53], gen: (r: Rng) => r.int(-1000, 1000) }],
      (x) => softmax(x),
    );
    await checkOp(
      "softmax close ±1000",
      [{ shape: [37, 53], gen: (r: Rng) => 1000 + r.int(-3, 3) }],
      (x) => softmax(x),
    );
    for (const td of await testDevices()) {
      const x = td.device.tensor([1000, 1000, -1000, -5000, 0, 0, 0, 0], [2, 4], td.float);
      const y = softmax(x);
      assertClose(
        await y.toArray(),
        [0.5, 0.5, 0, 0, 0.25, 0.25, 0.25, 0.25],
        1e-6,
        `${td.name} softmax`,
      );
      x.dispose();
      y.dispose();
    }
  });
});

describe("flash attention forward and backward", () => {
  const bh = (t: number, dh: number) => [2, 3, t, dh];

  it("T=77, Dh=16, B=2, H=3, with and without causal mask", async () => {
    for (const causal of [false, true]) {
      await checkOp(
        `attention T=77 Dh=16 causal=${causal}`,
        [{ shape: bh(77, 16) }, { shape: bh(77, 16) }, { shape: bh(77, 16) }],
        (q, k, v) => attention(q, k, v, { causal }),
        { fdSamples: 10 },
      );
    }
  });

  it("T=77, Dh=64, B=2, H=3, causal, and with a custom scale", async () => {
    await checkOp(
      "attention T=77 Dh=64 causal",
      [{ shape: bh(77, 64) }, { shape: bh(77, 64) }, { shape: bh(77, 64) }],
      (q, k, v) => attention(q, k, v, { causal: true }),
      { fdSamples: 6 },
    );
    await checkOp(
      "attention T=77 Dh=64 scale=0.3",
      [{ shape: bh(77, 64) }, { shape: bh(77, 64) }, { shape: bh(77, 64) }],
      (q, k, v) => attention(q, k, v, { scale: 0.3 }),
      { fdSamples: 6 },
    );
  });

  it("Tq ≠ Tk (Tq=33, Tk=77), causal and not", async () => {
    for (const causal of [false, true]) {
      await checkOp(
        `attention Tq=33 Tk=77 causal=${causal}`,
        [{ shape: bh(33, 16) }, { shape: bh(77, 16) }, { shape: bh(77, 16) }],
        (q, k, v) => attention(q, k, v, { causal }),
        { fdSamples: 10 },
      );
    }
    await checkOp(
      "attention Tq=77 Tk=5",
      [{ shape: [1, 2, 77, 24] }, { shape: [1, 2, 5, 24] }, { shape: [1, 2, 5, 24] }],
      (q, k, v) => attention(q, k, v),
      { fdSamples: 10 },
    );
  });

  it("Dh=128 (smaller tiles) and the logsumexp output", async () => {
    await checkOp(
      "attention Dh=128 causal",
      [{ shape: [1, 2, 19, 128] }, { shape: [1, 2, 40, 128] }, { shape: [1, 2, 40, 128] }],
      (q, k, v) => attention(q, k, v, { causal: true }),
      { fdSamples: 6 },
    );
    await checkOp(
      "attention lse",
      [{ shape: bh(21, 16) }, { shape: bh(45, 16) }, { shape: bh(45, 16) }],
      (q, k, v) => {
        const { out, lse } = attentionWithLse(q, k, v, { causal: true });
        return [out, lse];
      },
      { grad: false },
    );
  });

  it("hand-checked cases: one key returns v; equal scores average v; lse = log Σ exp", async () => {
    for (const td of await testDevices()) {
      const tol = td.float === "f16" ? 2e-3 : 1e-5;
      // One key: every query's softmax is 1 on it, so O = v for each query.
      const q = td.device.tensor(exactValues(2 * 5 * 3, 1), [1, 2, 5, 3], td.float);
      const k = td.device.tensor(exactValues(2 * 3, 2), [1, 2, 1, 3], td.float);
      const v = td.device.tensor([1, -2, 0.5, 3, 0.25, -1], [1, 2, 1, 3], td.float);
      const { out, lse } = attentionWithLse(q, k, v);
      const want = [...Array(5).fill([1, -2, 0.5]).flat(), ...Array(5).fill([3, 0.25, -1]).flat()];
      assertClose(await out.toArray(), want, tol, `${td.name} one key`);
      // lse of a single key is its scaled score.
      const qa = await q.toArray();
      const ka = await k.toArray();
      const wantLse: number[] = [];
      for (let h = 0; h < 2; h++) {
        for (let i = 0; i < 5; i++) {
          let s = 0;
          for (let d = 0; d < 3; d++) s += qa[(h * 5 + i) * 3 + d] * ka[h * 3 + d];
          wantLse.push(s / Math.sqrt(3));
        }
      }
      assertClose(await lse.toArray(), wantLse, 1e-4, `${td.name} lse`);
      // Zero queries give equal scores: O is the mean of the visible values; causal row 0 sees key 0 only.
      const q0 = td.device.zeros([1, 1, 3, 2], td.float);
      const k3 = td.device.tensor([1, 2, 3, 4, 5, 6], [1, 1, 3, 2], td.float);
      const v3 = td.device.tensor([1, 10, 2, 20, 6, 60], [1, 1, 3, 2], td.float);
      const full = attention(q0, k3, v3);
      assertClose(await full.toArray(), [3, 30, 3, 30, 3, 30], tol, `${td.name} mean of v`);
      const causal = attention(q0, k3, v3, { causal: true });
      assertClose(
        await causal.toArray(),
        [1, 10, 1.5, 15, 3, 30],
        tol,
        `${td.name} causal prefix means`,
      );
      // A single causal query sees every key (the mask aligns queries to the last keys).
      const last = attention(td.device.zeros([1, 1, 1, 2], td.float), k3, v3, { causal: true });
      assertClose(await last.toArray(), [3, 30], tol, `${td.name} causal decode step`);
      for (const t of [q, k, v, out, lse, q0, k3, v3, full, causal, last]) t.dispose();
    }
  });

  it("never allocates a T×T buffer, and its workgroup memory does not depend on T", async () => {
    const tq = 200;
    const dh = 16;
    // Declared outputs: O like q, and the f32 logsumexp [B, H, Tq].
    const metas = attentionOp.infer(
      [
        { shape: [1, 1, tq, dh], dtype: "f32" },
        { shape: [1, 1, tq, dh], dtype: "f32" },
        { shape: [1, 1, tq, dh], dtype: "f32" },
      ],
      { causal: false, scale: 0.25 },
    );
    assert.deepEqual(
      metas.map((m) => m.shape),
      [
        [1, 1, tq, dh],
        [1, 1, tq],
      ],
    );
    for (const td of await testDevices()) {
      if (td.device.kind !== "webgpu") continue;
      const backend = td.device.backend as unknown as {
        alloc: (size: number, dtype: string) => object;
        pipeline: (key: string, code: () => string) => unknown;
      };
      const alloc = backend.alloc;
      const pipeline = backend.pipeline;
      const run = async (t: number) => {
        const sizes: number[] = [];
        const keys: string[] = [];
        backend.alloc = (size, dtype) => {
          sizes.push(size);
          return alloc.call(backend, size, dtype);
        };
        backend.pipeline = (key, code) => {
          keys.push(key);
          return pipeline.call(backend, key, code);
        };
        try {
          const ins = [1, 2, 3].map((s) =>
            td.device.tensor(exactValues(t * dh, s), [1, 1, t, dh], td.float),
          );
          for (const x of ins) x.requiresGrad = true;
          tidy(() => backward(sum(mul(attention(ins[0], ins[1], ins[2]), ins[2]))));
          const grads = await Promise.all(ins.map((x) => x.grad!.toArray()));
          for (const g of grads) assert.ok(g.every(Number.isFinite), `${td.name}: finite grads`);
          for (const x of ins) x.dispose();
        } finally {
          backend.alloc = alloc;
          backend.pipeline = pipeline;
        }
        return { sizes, keys: keys.filter((k) => k.startsWith("flash_")) };
      };
      const big = await run(tq);
      assert.ok(big.keys.length >= 4, `${td.name}: flash kernels ran (${big.keys})`);
      const largest = Math.max(...big.sizes);
      assert.ok(
        largest <= tq * dh,
        `${td.name}: largest buffer ${largest} elements exceeds T·Dh = ${tq * dh} (T×T = ${tq * tq})`,
      );
      // The same compiled kernels (same workgroup memory) serve another T.
      const small = await run(77);
      assert.deepEqual([...new Set(small.keys)].sort(), [...new Set(big.keys)].sort());
    }
  });

  it("declares workgroup memory as computed, within device limits, for Dh up to 128", async () => {
    const passes: [FlashPass, (c: FlashConfig) => string][] = [
      ["forward", flashForwardWgsl],
      ["dq", flashDqWgsl],
      ["dkv", flashDkvWgsl],
    ];
    for (const limit of [16384, 32768, 49152]) {
      for (const dh of [32, 64, 128]) {
        for (const [pass, wgsl] of passes) {
          const tiles = chooseFlashTiles(pass, dh, limit, 256);
          const code = wgsl({ maxDh: dh, tiles, dtype: "f32" });
          let bytes = 0;
          for (const m of code.matchAll(/var<workgroup> \w+: array<f32, (\d+)>/g)) {
            const n = Number(m[1]);
            assert.equal(n % 4, 0, `${pass} Dh=${dh}: workgroup arrays are multiples of 16 bytes`);
            bytes += 4 * n;
          }
          assert.equal(bytes, flashWorkgroupBytes(pass, dh, tiles), `${pass} Dh=${dh} bytes`);
          assert.ok(bytes <= limit, `${pass} Dh=${dh}: ${bytes} > ${limit}`);
        }
      }
    }
    assert.throws(() => chooseFlashTiles("dkv", 128, 4096, 256), /head dimension 128 needs more/);
  });

  it("bad inputs name the problem and the shapes", async () => {
    const [{ device }] = await testDevices();
    const q = device.zeros([2, 3, 7, 16]);
    assert.throws(
      () => attention(q, device.zeros([2, 3, 9, 8]), device.zeros([2, 3, 9, 8])),
      /attention: q \[2, 3, 7, 16\] and k \[2, 3, 9, 8\] differ in batch, heads or head dimension/,
    );
    assert.throws(
      () => attention(q, device.zeros([2, 3, 9, 16]), device.zeros([2, 3, 8, 16])),
      /attention: k \[2, 3, 9, 16\] and v \[2, 3, 8, 16\] differ/,
    );
    assert.throws(
      () => attention(device.zeros([3, 7, 16]), q, q),
      /attention: q must be \[B, H, T, Dh\], got \[3, 7, 16\]/,
    );
    assert.throws(
      () =>
        attention(q, device.zeros([2, 3, 5, 16]), device.zeros([2, 3, 5, 16]), { causal: true }),
      /attention: causal attention needs Tq ≤ Tk/,
    );
    const wide = device.zeros([1, 1, 2, 130]);
    assert.throws(() => attention(wide, wide, wide), /head dimension 130 .* outside 1\.\.128/);
    assert.throws(
      () => attention(q, device.zeros([2, 3, 7, 16], "f16"), device.zeros([2, 3, 7, 16], "f16")),
      /attention: dtypes differ/,
    );
    assert.throws(() => softmax(device.zeros([4], "i32")), /softmax: x must be a float tensor/);
    const qg = device.tensor(exactValues(2 * 4, 1), [1, 1, 2, 4]);
    qg.requiresGrad = true;
    assert.throws(
      () => tidy(() => backward(sum(attentionWithLse(qg, qg, qg).lse))),
      /attention: the logsumexp output is not differentiable/,
    );
  });
});

describe("3-D rotary position embedding", () => {
  it("forward and gradient on grid [3, 4, 5], default and custom sections", async () => {
    await checkOp("rope3d", [{ shape: [2, 3, 60, 16] }], (x) => rope3d(x, { grid: [3, 4, 5] }));
    await checkOp("rope3d custom", [{ shape: [1, 2, 60, 24] }], (x) =>
      rope3d(x, { grid: [3, 4, 5], sections: [4, 12, 8], theta: 100 }),
    );
    await checkOp("rope3d 1-D", [{ shape: [2, 1, 77, 8] }], (x) =>
      rope3d(x, { grid: [77, 1, 1], sections: [8, 0, 0] }),
    );
  });

  it("default sections split Dh as documented", () => {
    assert.deepEqual(defaultRopeSections(64), [20, 22, 22]);
    assert.deepEqual(defaultRopeSections(96), [32, 32, 32]);
    assert.deepEqual(defaultRopeSections(128), [42, 44, 42]);
    assert.deepEqual(defaultRopeSections(16), [4, 6, 6]);
    assert.throws(() => defaultRopeSections(15), /head dimension must be even/);
  });

  it("position 0 is the identity, norms are preserved, 1-D matches the textbook formula, inverse undoes", async () => {
    for (const td of await testDevices()) {
      const tol = td.float === "f16" ? 4e-3 : 1e-5;
      const dh = 16;
      const t = 60;
      const data = exactValues(2 * t * dh, 3);
      const x = td.device.tensor(data, [1, 2, t, dh], td.float);
      const y = rope3d(x, { grid: [3, 4, 5] });
      const ya = await y.toArray();
      const xa = await x.toArray();
      for (let h = 0; h < 2; h++) {
        const at = h * t * dh;
        assertClose(ya.slice(at, at + dh), xa.slice(at, at + dh), 1e-6, `${td.name} token 0`);
        for (let tok = 0; tok < t; tok++) {
          for (let c = 0; c < dh; c += 2) {
            const i = at + tok * dh + c;
            const nx = Math.hypot(xa[i], xa[i + 1]);
            const ny = Math.hypot(ya[i], ya[i + 1]);
            assert.ok(Math.abs(nx - ny) <= tol * (1 + nx), `${td.name}: pair norm at ${tok}/${c}`);
          }
        }
      }
      // Token (t=1, h=2, w=3) = index 1·20 + 2·5 + 3 = 33: sections [4, 6, 6] turn by 1, 2 and 3.
      const tok = 33;
      const pos = [1, 2, 3];
      const want: number[] = [];
      let c = 0;
      for (const [axis, sec] of [4, 6, 6].entries()) {
        for (let i = 0; i < sec / 2; i++, c += 2) {
          const a = pos[axis] * 10000 ** ((-2 * i) / sec);
          const x0 = xa[tok * dh + c];
          const x1 = xa[tok * dh + c + 1];
          want.push(x0 * Math.cos(a) - x1 * Math.sin(a), x0 * Math.sin(a) + x1 * Math.cos(a));
        }
      }
      assertClose(ya.slice(tok * dh, tok * dh + dh), want, tol, `${td.name} token 33`);
      // 1-D rope over a sequence, all channels in the time section.
      const seq = td.device.tensor(exactValues(77 * 8, 5), [1, 1, 77, 8], td.float);
      const r1 = await rope3d(seq, { grid: [77, 1, 1], sections: [8, 0, 0] }).toArray();
      const sa = await seq.toArray();
      const p = 76;
      const want1: number[] = [];
      for (let i = 0; i < 4; i++) {
        const a = p * 10000 ** (-i / 4);
        const x0 = sa[p * 8 + 2 * i];
        const x1 = sa[p * 8 + 2 * i + 1];
        want1.push(x0 * Math.cos(a) - x1 * Math.sin(a), x0 * Math.sin(a) + x1 * Math.cos(a));
      }
      assertClose(r1.slice(p * 8), want1, tol, `${td.name} 1-D position 76`);
      // The backward rotates by the negative angle: applying it to y gives x back.
      const z = td.device.tensor(ya, [1, 2, t, dh], td.float);
      z.requiresGrad = true;
      tidy(() => backward(sum(mul(rope3d(z, { grid: [3, 4, 5] }), y))));
      assertClose(await z.grad!.toArray(), xa, tol * 4, `${td.name} inverse`);
      for (const u of [x, y, seq, z]) u.dispose();
    }
  });

  it("bad inputs name the problem and the shapes", async () => {
    const [{ device }] = await testDevices();
    const x = device.zeros([1, 2, 60, 16]);
    assert.throws(
      () => rope3d(x, { grid: [3, 4, 4] }),
      /rope3d: grid \[3, 4, 4\] has 48 tokens but x \[1, 2, 60, 16\] has T = 60/,
    );
    assert.throws(
      () => rope3d(x, { grid: [3, 4, 5], sections: [4, 4, 4] }),
      /rope3d: sections \[4, 4, 4\] must be even and sum to Dh = 16/,
    );
    assert.throws(
      () => rope3d(x, { grid: [3, 4, 5], sections: [5, 5, 6] }),
      /rope3d: sections \[5, 5, 6\] must be even/,
    );
    assert.throws(
      () => rope3d(x, { grid: [3, 4, 5], theta: 0 }),
      /rope3d: theta must be a positive/,
    );
    assert.throws(
      () => rope3d(device.zeros([1, 60, 15]), { grid: [3, 4, 5] }),
      /rope3d: head dimension 15 of x \[1, 60, 15\] must be even/,
    );
  });
});
