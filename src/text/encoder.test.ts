import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getConfig } from "../models/registry.ts";
import { TextToVideo } from "../models/text-to-video.ts";
import { createDevice } from "../tensor/device.ts";
import { noGrad } from "../tensor/engine.ts";
import { Rng } from "../util/rng.ts";
import { TextEncoder } from "./encoder.ts";
import { BOS, EMPTY, Tokenizer } from "./tokenizer.ts";

const device = await createDevice({ kind: "cpu" });
const cfg = getConfig("tiny");

describe("text encoder", () => {
  it("gives per-token features and a pooled vector read at BOS, different per caption", async () => {
    const tk = Tokenizer.world();
    const enc = new TextEncoder(device, new Rng(1), cfg.text);
    const l = cfg.text.maxTokens;
    const ids = new Int32Array(2 * l);
    ids.set(tk.encode("a red ball bounces", l).ids, 0);
    ids.set(tk.encode("a blue box slides", l).ids, l);
    const { tokens, pooled } = noGrad(() => enc.forward(device.tensor(ids, [2, l], "i32")));
    assert.deepEqual(tokens.shape, [2, l, cfg.text.dim]);
    assert.deepEqual(pooled.shape, [2, cfg.text.dim]);
    const [tv, pv] = [await tokens.toArray(), await pooled.toArray()];
    const d = cfg.text.dim;
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < d; i++) assert.equal(pv[b * d + i], tv[b * l * d + i]);
    let diff = 0;
    for (let i = 0; i < d; i++) diff += Math.abs(pv[i] - pv[d + i]);
    assert.ok(diff > 1e-3, "two captions pool differently (attention mixes them into BOS)");
    assert.throws(
      () => enc.forward(device.tensor(new Int32Array(l - 1), [1, l - 1], "i32")),
      /ids must be i32 \[B, 32\]/,
    );
    enc.dispose();
  });

  it("drops 10 % of training captions to the empty caption", () => {
    const model = new TextToVideo(device, new Rng(2), cfg);
    const x0 = device.zeros([400, 4, 1, 2, 2]);
    const batch = model.drawBatch(
      new Rng(3),
      x0,
      Array.from({ length: 400 }, () => "a red ball"),
      { knownFrames: false },
    );
    return batch.ids.toArray().then((ids) => {
      const l = cfg.text.maxTokens;
      let dropped = 0;
      for (let b = 0; b < 400; b++) {
        assert.equal(ids[b * l], BOS);
        if (ids[b * l + 1] === EMPTY) dropped++;
      }
      assert.ok(dropped >= 25 && dropped <= 55, `${dropped} of 400 captions dropped`);
      batch.dispose();
      model.dispose();
    });
  });
});
