import assert from "node:assert/strict";
import { test } from "node:test";
import { Linear } from "../nn/linear.ts";
import { Rng } from "../util/rng.ts";
import { createDevice } from "./device.ts";

test("withoutInit builds zeros without drawing numbers, and random init comes back after it", async () => {
  const device = await createDevice({ kind: "cpu" });
  const rng = new Rng(7);
  const placeholder = device.withoutInit(() => new Linear(device, rng, 5, 3, { std: 0.5 }));
  assert.deepEqual([...(await placeholder.weight.toArray())], new Array(15).fill(0));
  // The generator was not advanced: the next draw equals a fresh generator's first.
  assert.equal(rng.normal(), new Rng(7).normal());

  const drawn = new Linear(device, new Rng(7), 5, 3);
  const values = await drawn.weight.toArray();
  assert.ok(
    values.some((v) => v !== 0),
    "init is random again outside withoutInit",
  );
  assert.ok(values.every((v) => Math.abs(v) <= 1 / Math.sqrt(5)));
});

test("withoutInit restores random init when the build throws, and nests", async () => {
  const device = await createDevice({ kind: "cpu" });
  assert.throws(() =>
    device.withoutInit(() => {
      throw new Error("bad config");
    }),
  );
  const after = await device.randn([4], new Rng(1)).toArray();
  assert.ok(after.some((v) => v !== 0));
  const inner = device.withoutInit(() => {
    device.withoutInit(() => undefined);
    return device.rand([4], new Rng(1), 1, 2); // still inside the outer call
  });
  assert.deepEqual([...(await inner.toArray())], [0, 0, 0, 0]);
});
