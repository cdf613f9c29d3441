import assert from "node:assert/strict";
import { it } from "node:test";
import { assign } from "../tensor/ops/shape.ts";
import { scaledError } from "../testing/op-check.ts";
import { Rng } from "../util/rng.ts";
import { Ema } from "./ema.ts";
import { trainingDevices } from "./test-devices.ts";

it("Ema tracks decay·ema + (1−decay)·param, with optional warmup, and copies back", async () => {
  for (const { name, device } of await trainingDevices()) {
    for (const warmup of [false, true]) {
      const rng = new Rng(2);
      const start = Array.from({ length: 23 }, () => rng.normal());
      const p = device.tensor(start, [23]);
      p.requiresGrad = true;
      p.name = "w";
      const ema = new Ema([p], { decay: 0.9, warmup });
      assert.equal(ema.shadow[0].name, "ema.w");
      const want = start.slice();
      for (let n = 0; n < 4; n++) {
        const next = Array.from({ length: 23 }, () => rng.normal());
        assign(p, device.tensor(next, [23]));
        const d = warmup ? Math.min(0.9, (1 + n) / (10 + n)) : 0.9;
        assert.equal(ema.currentDecay(), d);
        ema.update();
        for (let i = 0; i < 23; i++) want[i] = d * want[i] + (1 - d) * next[i];
      }
      assert.ok(
        scaledError(await ema.shadow[0].toArray(), want) < 1e-6,
        `${name} warmup=${warmup}`,
      );
      ema.copyTo();
      assert.ok(scaledError(await p.toArray(), want) < 1e-6, `${name}: copyTo`);
    }
    const p = device.zeros([2]);
    p.requiresGrad = true;
    assert.throws(() => new Ema([p], { decay: 1.5 }), /Ema: decay must be in \[0, 1\], got 1.5/);
  }
});
