import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkOp, testDevices } from "../../testing/op-check.ts";
import { Rng } from "../../util/rng.ts";
import { backward } from "../autograd.ts";
import { tidy } from "../engine.ts";
import { mul } from "./elementwise.ts";
import { embedding, embeddingBackward } from "./embedding.ts";
import { sum } from "./reduce.ts";

describe("embedding: hand-checked values on every device", () => {
  it("looks up rows, gives zero rows for out-of-range ids, and scatter-adds the gradient", async () => {
    for (const td of await testDevices()) {
      // table[v][d] = 10v + d
      const table = td.device.tensor(
        [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32],
        [4, 3],
        td.float,
      );
      table.requiresGrad = true;
      const ids = td.device.tensor([2, 0, 5, -1, 3, 2], [3, 2], "i32");
      const y = embedding(table, ids);
      assert.deepEqual([...y.shape], [3, 2, 3], td.name);
      assert.deepEqual(
        [...(await y.toArray())],
        [20, 21, 22, 0, 1, 2, 0, 0, 0, 0, 0, 0, 30, 31, 32, 20, 21, 22],
        td.name,
      );
      // d/dtable Σ y·w with w[n][d] = n + 1: row 2 gets (1 + 6), row 0 gets 2, row 3 gets 5, row 1 nothing.
      const w = td.device.tensor(
        Array.from({ length: 18 }, (_, i) => Math.floor(i / 3) + 1),
        [3, 2, 3],
        td.float,
      );
      tidy(() => backward(sum(mul(y, w))));
      assert.deepEqual(
        [...(await table.grad!.toArray())],
        [2, 2, 2, 0, 0, 0, 7, 7, 7, 5, 5, 5],
        td.name,
      );
      for (const t of [table, ids, y, w]) t.dispose();
    }
  });
});

describe("embedding: forward and gradient against the f64 reference", () => {
  it("[37, 53] table with [7, 11] ids, some out of range", async () => {
    await checkOp(
      "embedding 37×53",
      [{ shape: [37, 53] }, { shape: [7, 11], dtype: "i32", high: 41 }],
      (t, ids) => embedding(t, ids),
    );
  });
  it("rows wider than one column block and more ids than one scan chunk", async () => {
    await checkOp(
      "embedding 5×1100",
      [{ shape: [5, 1100] }, { shape: [77], dtype: "i32", high: 5 }],
      (t, ids) => embedding(t, ids),
    );
    await checkOp(
      "embedding 19×7, 900 ids",
      [{ shape: [19, 7] }, { shape: [3, 300], dtype: "i32", high: 20 }],
      (t, ids) => embedding(t, ids),
      { tol: { f16: 3e-2 } },
    );
  });
  it("embedding_backward and its own gradient (the gather)", async () => {
    await checkOp(
      "embedding_backward",
      [{ shape: [77, 13] }, { shape: [77], dtype: "i32", high: 9 }],
      (g, ids) => embeddingBackward(g, ids, 9),
    );
  });
});

describe("embedding_backward is deterministic", () => {
  it("gives bit-identical results on repeated runs and the CPU's summation order", async () => {
    const rng = new Rng(7);
    const n = 1000;
    const ids = Array.from({ length: n }, () => rng.int(0, 5));
    const g = Array.from({ length: n * 9 }, () => rng.normal());
    const results: Float32Array[] = [];
    for (const td of await testDevices()) {
      if (td.float !== "f32") continue;
      for (let run = 0; run < 2; run++) {
        const gt = td.device.tensor(g, [n, 9]);
        const it = td.device.tensor(ids, [n], "i32");
        const out = embeddingBackward(gt, it, 6);
        results.push(Float32Array.from(await out.toArray()));
        for (const t of [gt, it, out]) t.dispose();
      }
    }
    assert.ok(results.length >= 2);
    for (const r of results) assert.deepEqual(r, results[0]);
  });
});

describe("embedding: bad inputs", () => {
  it("checks ids dtype, table rank and gradient shapes", async () => {
    const [{ device }] = await testDevices();
    const table = device.zeros([5, 3]);
    assert.throws(
      () => embedding(table, device.zeros([4])),
      /embedding: ids must be i32, got f32 \[4\]/,
    );
    assert.throws(
      () => embedding(device.zeros([5, 3, 2]), device.zeros([4], "i32")),
      /embedding: table must be \[V, D\], got \[5, 3, 2\]/,
    );
    assert.throws(
      () => embedding(device.zeros([5, 3], "i32"), device.zeros([4], "i32")),
      /embedding: table must be float, got i32 \[5, 3\]/,
    );
    assert.throws(
      () => embeddingBackward(device.zeros([4, 2, 3]), device.zeros([4, 3], "i32"), 5),
      /embedding_backward: gradient \[4, 2, 3\] is not ids \[4, 3\] plus one dimension/,
    );
    assert.throws(
      () => embeddingBackward(device.zeros([4, 3]), device.zeros([4], "i32"), -1),
      /embedding_backward: vocab must be a non-negative integer, got -1/,
    );
  });
});
