/**
 * Exported sampling graphs load back in a plain ONNX Runtime session (no zoetrope code in the
 * loop) and give the engine's own outputs; bad names and in-place steps are refused.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import * as ort from "onnxruntime-node";
import { exportOnnx } from "../src/compile/export.ts";
import { createDevice } from "../src/devices.ts";
import { TokenTransformer } from "../src/nn/transformer.ts";
import { noGrad, tidy } from "../src/tensor/engine.ts";
import { softmax } from "../src/tensor/ops/attention.ts";
import { mean } from "../src/tensor/ops/reduce.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { scaledError } from "../src/testing/op-check.ts";
import { Trainer } from "../src/train/trainer.ts";
import { Rng } from "../src/util/rng.ts";

it("an exported transformer forward runs in a plain ONNX Runtime session and matches the engine", async () => {
  const device = await createDevice({ kind: "onnx" });
  const model = new TokenTransformer(device, new Rng(4), {
    vocab: 11,
    dim: 16,
    heads: 2,
    layers: 2,
    causal: true,
    rope: {},
  });
  const ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7];
  const idsT = device.tensor(ids, [2, 7], "i32");
  const expected = await noGrad(() => tidy(() => softmax(model.forward(idsT)))).toArray();
  const dir = await mkdtemp(join(tmpdir(), "zoetrope-export-"));
  try {
    const out = await exportOnnx(
      ({ ids }: { ids: Tensor }) => noGrad(() => ({ probs: softmax(model.forward(ids)) })),
      { ids: idsT },
      dir,
      "token-transformer",
      device,
    );
    assert.deepEqual(out.inputs, ["ids"]);
    assert.deepEqual(out.outputs, ["probs"]);
    assert.deepEqual((await readdir(dir)).sort(), [
      "token-transformer.onnx",
      "token-transformer.onnx.data",
    ]);
    const session = await ort.InferenceSession.create(out.model);
    const res = await session.run({ ids: new ort.Tensor("int32", Int32Array.from(ids), [2, 7]) });
    const got = res.probs.data as Float32Array;
    assert.deepEqual(res.probs.dims, [2, 7, 11]);
    const err = scaledError(got, expected);
    assert.ok(err <= 1e-5, `exported graph vs engine: scaled error ${err}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it("export refuses path-like names and steps that update state in place", async () => {
  const device = await createDevice({ kind: "onnx" });
  const model = new TokenTransformer(device, new Rng(1), { vocab: 5, dim: 8, heads: 1, layers: 1 });
  const trainer = new Trainer(model.parameters());
  const ids = device.tensor([1, 2, 3], [1, 3], "i32");
  const dir = await mkdtemp(join(tmpdir(), "zoetrope-export-"));
  try {
    await assert.rejects(
      exportOnnx(
        ({ ids }: { ids: Tensor }) => model.forward(ids),
        { ids },
        dir,
        "../escape",
        device,
      ),
      /model name "..\/escape"/,
    );
    await assert.rejects(
      exportOnnx(
        ({ ids }: { ids: Tensor }) => trainer.step(() => mean(model.forward(ids))).loss,
        { ids },
        dir,
        "train",
        device,
      ),
      /writes \d+ tensors in place/,
    );
    assert.deepEqual(await readdir(dir), [], "nothing written for refused exports");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
