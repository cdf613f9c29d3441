/**
 * The training loop: N steps in one run and N/2, a stop, and a resume from the run folder end at
 * bit-identical weights and EMA (compiled on the onnx device and eager on the CPU reference);
 * the log has one row per step; a stop writes a checkpoint; a corrupt checkpoint is named.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { createDevice, type Device } from "../src/devices.ts";
import { writeWeights } from "../src/io/safetensors.ts";
import { TokenTransformer } from "../src/nn/transformer.ts";
import { cast, mul } from "../src/tensor/ops/elementwise.ts";
import { softmaxCrossEntropy } from "../src/tensor/ops/loss.ts";
import { sum } from "../src/tensor/ops/reduce.ts";
import { readLatestEma } from "../src/train/checkpoint.ts";
import { type TrainOptions, type TrainTask, train } from "../src/train/loop.ts";
import { repeatingPatternBatch } from "../src/train/toy-sequences.ts";
import { Rng } from "../src/util/rng.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-loop-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function toyTask(device: Device): TrainTask {
  const model = new TokenTransformer(device, new Rng(7), {
    vocab: 12,
    dim: 16,
    heads: 2,
    layers: 1,
    causal: true,
    rope: {},
  });
  return {
    model,
    metadata: { config: JSON.stringify({ vocab: 12, dim: 16 }) },
    batch(rng, position) {
      const b = repeatingPatternBatch(rng, 4, 10, 12, 3);
      return {
        batch: {
          ids: device.tensor(b.ids, [4, 10], "i32"),
          targets: device.tensor(b.targets, [4, 10], "i32"),
          invCount: device.tensor([1 / b.counted], [1]),
        },
        position: ((position as number | undefined) ?? 0) + 1,
        samples: 4,
      };
    },
    loss(b, dtype) {
      return mul(
        sum(softmaxCrossEntropy(cast(model.forward(b.ids, dtype), "f32"), b.targets)),
        b.invCount,
      );
    },
  };
}

const options = (runDir: string): TrainOptions => ({
  steps: 8,
  schedule: { lr: 1e-2, warmup: 3, decay: "cosine" },
  clipNorm: 1,
  emaDecay: 0.9,
  seed: 5,
  runDir,
  checkpointEvery: 3,
  resume: true,
});

for (const kind of ["onnx", "cpu"] as const) {
  it(`${kind}: 8 steps in one run equal 4 steps, a stop and a resume, bit for bit`, async () => {
    const device = await createDevice({ kind });
    const oneGo = toyTask(device);
    const a = await train(oneGo, options(join(dir, `${kind}-a`)));
    assert.equal(a.step, 8);
    assert.equal(a.resumedFrom, null);
    const split = toyTask(device);
    const stop = new AbortController();
    const b1 = await train(split, {
      ...options(join(dir, `${kind}-b`)),
      signal: stop.signal,
      onStep: (s) => {
        if (s.step === 4) stop.abort();
      },
    });
    assert.equal(b1.step, 4);
    assert.ok(b1.stopped);
    const resumed = toyTask(device);
    const b2 = await train(resumed, options(join(dir, `${kind}-b`)));
    assert.equal(b2.resumedFrom, 4, "resumes from the checkpoint the stop wrote");
    assert.equal(b2.step, 8);
    assert.deepEqual([...b1.losses, ...b2.losses], a.losses);
    assert.deepEqual(await resumed.model.stateDict(), await oneGo.model.stateDict());
    const emaA = await readFile(join(dir, `${kind}-a`, "step-000008", "ema.safetensors"));
    const emaB = await readFile(join(dir, `${kind}-b`, "step-000008", "ema.safetensors"));
    assert.deepEqual(emaB, emaA);
    const log = (await readFile(join(dir, `${kind}-b`, "log.csv"), "utf8")).trim().split("\n");
    assert.equal(log.length, 9, "a header and one row per step");
    const svg = await readFile(join(dir, `${kind}-b`, "loss.svg"), "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /loss to step 8</, "redrawn at the last checkpoint");
    assert.ok(a.losses[a.losses.length - 1] < a.losses[0], "the loss falls");
  });
}

it("a checkpoint with a corrupt optimizer file is refused with its path", async () => {
  const device = await createDevice({ kind: "cpu" });
  const runDir = join(dir, "corrupt");
  await train(toyTask(device), { ...options(runDir), steps: 3 });
  await writeFile(join(runDir, "step-000003", "optimizer.safetensors"), "garbage");
  await assert.rejects(
    train(toyTask(device), options(runDir)),
    /step-000003\/optimizer\.safetensors: truncated/,
  );
});

it("readLatestEma reads the newest checkpoint's EMA, sharded or not, and null without one", async () => {
  const run = join(dir, "ema-run");
  assert.equal(await readLatestEma(run), null, "no run folder");
  await mkdir(join(run, "step-000007"), { recursive: true });
  await writeFile(join(run, "latest"), "step-000007\n");
  assert.equal(await readLatestEma(run), null, "a checkpoint trained without an EMA");
  // Two tensors of 64 KiB each with 100 KiB shards: two shards and an index, as big models get.
  const a = Float32Array.from({ length: 16384 }, (_, i) => i / 7);
  const b = Float32Array.from({ length: 16384 }, (_, i) => -i);
  const files = await writeWeights(
    join(run, "step-000007", "ema.safetensors"),
    {
      tensors: { "x.a": { shape: [128, 128], data: a }, "x.b": { shape: [16384], data: b } },
      metadata: {},
    },
    { shardBytes: 100 * 1024 },
  );
  assert.ok(
    files.some((f) => f.endsWith(".index.json")),
    `sharded: ${files.join(", ")}`,
  );
  const ema = await readLatestEma(run);
  assert.deepEqual(Object.keys(ema ?? {}).sort(), ["x.a", "x.b"]);
  assert.deepEqual(Array.from(ema!["x.a"].data), Array.from(a));
  assert.deepEqual(Array.from(ema!["x.b"].data), Array.from(b));
});
