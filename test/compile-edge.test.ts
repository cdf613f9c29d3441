/**
 * compile() at its edges: arguments no node reads, state that a step only writes, gradients of
 * arguments as results, −0 constants, shape signatures, and the errors a user can meet.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { compile } from "../src/compile/compile.ts";
import { createDevice } from "../src/devices.ts";
import { TokenTransformer } from "../src/nn/transformer.ts";
import { backward } from "../src/tensor/autograd.ts";
import { keep, noGrad } from "../src/tensor/engine.ts";
import { fill, mul } from "../src/tensor/ops/elementwise.ts";
import { fusedElementwise } from "../src/tensor/ops/fused.ts";
import { sum } from "../src/tensor/ops/reduce.ts";
import { assign } from "../src/tensor/ops/shape.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { scaledError } from "../src/testing/op-check.ts";
import { AdamW } from "../src/train/optimizer.ts";
import { Rng } from "../src/util/rng.ts";

const onnx = () => createDevice({ kind: "onnx" });

it("an argument that only gives a shape needs no feed", async () => {
  const d = await onnx();
  const step = compile((a: { x: Tensor }) => fill(a.x, 2));
  assert.deepEqual([...(await (await step({ x: d.tensor([1, 2, 3], [3]) })).toArray())], [2, 2, 2]);
});

it("state that the step only writes (assign) is updated without being read", async () => {
  const d = await onnx();
  const dst = d.tensor([1, 2, 3], [3]);
  const step = compile((a: { src: Tensor }) => {
    assign(dst, a.src);
    return undefined;
  });
  await step({ src: d.tensor([7, 8, 9], [3]) });
  assert.deepEqual([...(await dst.toArray())], [7, 8, 9]);
  await step({ src: d.tensor([4, 5, 6], [3]) });
  assert.deepEqual([...(await dst.toArray())], [4, 5, 6]);
});

it("returns the gradient of an argument", async () => {
  const d = await onnx();
  const step = compile((a: { x: Tensor }) => {
    a.x.requiresGrad = true;
    backward(sum(mul(a.x, a.x)));
    return a.x.grad as Tensor;
  });
  assert.deepEqual(
    [...(await (await step({ x: d.tensor([1, -2, 3], [3]) })).toArray())],
    [2, -4, 6],
  );
});

it("keeps −0 and 0 apart as constants", async () => {
  const d = await onnx();
  const program = (x: Tensor) =>
    fusedElementwise(
      [x],
      [
        { binary: "add", a: { input: 0 }, b: 0 },
        { binary: "mul", a: { step: 0 }, b: -0 },
        { unary: "recip", x: { step: 1 } },
      ],
    );
  const step = compile((a: { x: Tensor }) => program(a.x));
  const got = await (await step({ x: d.tensor([1, 2], [2]) })).toArray();
  assert.deepEqual([...got], [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]);
});

it("compiles once per shape signature and reuses the program", async () => {
  const d = await onnx();
  const step = compile((a: { x: Tensor }) => mul(a.x, a.x));
  await step({ x: d.tensor([1, 2], [2]) });
  await step({ x: d.tensor([3, 4], [2]) });
  assert.equal(step.programs.size, 1);
  const r = await step({ x: d.tensor([1, 2, 3], [3]) });
  assert.equal(step.programs.size, 2);
  assert.deepEqual([...(await r.toArray())], [1, 4, 9]);
});

it("says what is wrong: another device, a missing dynamic scalar, a value used outside its step", async () => {
  const cpu = await createDevice({ kind: "cpu" });
  const d = await onnx();
  const square = compile((a: { x: Tensor }) => mul(a.x, a.x));
  await assert.rejects(square({ x: cpu.tensor([1], [1]) }), /compile: needs an onnx device/);
  const w = d.tensor([1, 2], [2]);
  w.requiresGrad = true;
  const opt = new AdamW([w]);
  const train = compile(
    (a: { x: Tensor }) => {
      backward(sum(mul(w, a.x)));
      opt.step();
      opt.zeroGrad();
      return undefined;
    },
    { dynamic: ["lr"] },
  );
  await assert.rejects(train({ x: d.tensor([1, 1], [2]) }), /dynamic scalar "lr" must be passed/);
  let leaked: Tensor | null = null;
  const idle = compile((a: { x: Tensor }) => {
    mul(a.x, a.x);
    return undefined;
  });
  await assert.rejects(idle({ x: d.tensor([1], [1]) }), /the step has no effect/);
  const leak = compile((a: { x: Tensor }) => {
    leaked = keep(mul(a.x, a.x));
    return fill(a.x, 0);
  });
  await leak({ x: d.tensor([1], [1]) });
  assert.ok(leaked);
  await assert.rejects(
    (leaked as Tensor).toArray(),
    /made inside a compiled function has no data outside it/,
  );
});

it("int8 weights: a sampling program close to f32, refused for a training step", async () => {
  const d = await onnx();
  const model = new TokenTransformer(d, new Rng(2), { vocab: 9, dim: 32, heads: 2, layers: 2 });
  const ids = d.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], "i32");
  const f32 = compile((a: { ids: Tensor }) => noGrad(() => model.forward(a.ids)));
  const i8 = compile((a: { ids: Tensor }) => noGrad(() => model.forward(a.ids)), {
    weights: "int8",
  });
  const want = await (await f32({ ids })).toArray();
  const got = await (await i8({ ids })).toArray();
  const err = scaledError(got, want);
  assert.ok(err > 0 && err < 2e-2, `int8 vs f32 scaled error ${err}`);
  const nodes = [...i8.programs.values()][0];
  assert.ok(
    Buffer.from(nodes.model).includes("DynamicQuantizeMatMul"),
    "weight matmuls run as DynamicQuantizeMatMul",
  );
  const w = d.tensor([1], [1]);
  w.requiresGrad = true;
  const opt = new AdamW([w]);
  const train = compile(
    (a: { x: Tensor }) => {
      backward(sum(mul(w, a.x)));
      opt.step();
      return undefined;
    },
    { weights: "int8" },
  );
  await assert.rejects(train({ x: d.tensor([1], [1]) }), /int8 weights are for sampling/);
});
