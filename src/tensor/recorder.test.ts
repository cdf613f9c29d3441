import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice } from "../devices.ts";
import { Linear } from "../nn/linear.ts";
import { MLP } from "../nn/mlp.ts";
import { TokenTransformer } from "../nn/transformer.ts";
import { scaledError } from "../testing/op-check.ts";
import { AdamW } from "../train/optimizer.ts";
import { Rng } from "../util/rng.ts";
import { backward } from "./autograd.ts";
import { noGrad, tidy } from "./engine.ts";
import { square } from "./ops/elementwise.ts";
import { mean } from "./ops/reduce.ts";
import { recordGraph, replayGraph } from "./recorder.ts";
import type { Tensor } from "./tensor.ts";

describe("recordGraph", () => {
  it("records an MLP's forward pass: ops, attributes, shapes and named weights", async () => {
    const device = await createDevice({ kind: "cpu" });
    const mlp = new MLP(device, new Rng(1), 6, 10);
    const x = device.randn([2, 5, 6], new Rng(2));
    const { graph, result } = noGrad(() => recordGraph(() => mlp.forward(x), { inputs: { x } }));
    assert.deepEqual(
      graph.nodes.map((n) => n.op),
      ["matmul", "matmul"],
    );
    const [fc1, fc2] = graph.nodes;
    assert.deepEqual(fc1.attrs, {
      transA: false,
      transB: true,
      act: "gelu",
      hasBias: true,
      savePre: false,
    });
    assert.equal((fc2.attrs as { act: string }).act, "none");
    const t = (id: number) => graph.tensors[id];
    assert.deepEqual(
      fc1.inputs.map((id) => [t(id).role, t(id).name, t(id).shape]),
      [
        ["input", "x", [2, 5, 6]],
        ["weight", "fc1.weight", [10, 6]],
        ["weight", "fc1.bias", [10]],
      ],
    );
    assert.deepEqual(t(fc1.outputs[0]), {
      id: fc1.outputs[0],
      shape: [2, 5, 10],
      dtype: "f32",
      role: "intermediate",
    });
    // fc2 reads fc1's output and the graph's only output is fc2's.
    assert.equal(fc2.inputs[0], fc1.outputs[0]);
    assert.deepEqual(graph.outputs, fc2.outputs);
    assert.equal(t(graph.outputs[0]).output, true);
    assert.deepEqual(
      graph.weights.map((id) => t(id).name),
      ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"],
    );
    assert.deepEqual(
      graph.inputs.map((id) => t(id).name),
      ["x"],
    );
    // Plain JSON, and complete: replaying it gives the same output.
    const json = JSON.parse(JSON.stringify(graph));
    assert.deepEqual(json, graph);
    const feeds = Object.fromEntries([["x", x], ...mlp.namedParameters()]);
    const [again] = noGrad(() => replayGraph(json, feeds));
    assert.deepEqual(await again.toArray(), await result.toArray());
  });

  it("records casts of weights in a half-precision pass and every op of a transformer", async () => {
    const device = await createDevice({ kind: "cpu" });
    const model = new TokenTransformer(device, new Rng(3), {
      vocab: 9,
      dim: 8,
      heads: 2,
      layers: 1,
      causal: true,
      rope: {},
    });
    const ids = device.tensor([1, 2, 3, 4, 5, 6], [1, 6], "i32");
    const { graph, result } = noGrad(() =>
      recordGraph(() => model.forward(ids, "f16"), { inputs: { ids } }),
    );
    const ops = graph.nodes.map((n) => n.op);
    for (const op of ["embedding", "cast", "layernorm", "matmul", "permute", "rope3d", "attention"])
      assert.ok(ops.includes(op), `${op} is recorded (got ${ops.join(", ")})`);
    // Every weight is read by a cast to f16 (except the table, gathered in f32 and then cast).
    for (const id of graph.weights) {
      const reader = graph.nodes.find((n) => n.inputs.includes(id))!;
      const name = graph.tensors[id].name!;
      assert.equal(reader.op, name === "embed.table" ? "embedding" : "cast", name);
    }
    assert.equal(graph.weights.length, model.parameters().length);
    assert.equal(graph.tensors[graph.outputs[0]].dtype, "f16");
    const feeds = Object.fromEntries([["ids", ids], ...model.namedParameters()]);
    const [again] = noGrad(() => tidy(() => replayGraph(graph, feeds)));
    assert.ok(scaledError(await again.toArray(), await result.toArray()) === 0);
  });

  it("names unnamed outside tensors as inputs and rejects bad feeds", async () => {
    const device = await createDevice({ kind: "cpu" });
    const mlp = new MLP(device, new Rng(1), 4, 4);
    const x = device.zeros([3, 4]);
    const { graph } = noGrad(() => recordGraph(() => mlp.forward(x)));
    assert.equal(graph.tensors[graph.inputs[0]].name, "input0");
    const feeds = Object.fromEntries(mlp.namedParameters());
    assert.throws(() => replayGraph(graph, feeds), /no tensor fed for input "input0"/);
    assert.throws(
      () => replayGraph(graph, { ...feeds, input0: device.zeros([4, 3]) }),
      /input "input0" was recorded as f32 \[3, 4\]/,
    );
  });
});

describe("recordGraph of a training step", () => {
  it("is functional: in-place updates are new values, and state pairs what existed before with its final value", async () => {
    const dev = await createDevice({ kind: "cpu" });
    const layer = new Linear(dev, new Rng(3), 3, 2);
    const opt = new AdamW(layer.parameters(), { lr: 0.1 });
    const x = dev.tensor([1, -2, 0.5, 3, 0, -1], [2, 3]);
    const before = await Promise.all(layer.parameters().map((p) => p.toArray()));
    const { graph } = recordGraph(
      () => {
        backward(mean(square(layer.forward(x))));
        opt.step();
        return [];
      },
      { inputs: { x } },
    );
    const adam = graph.nodes.filter((n) => n.op === "adamw");
    assert.equal(adam.length, 2);
    for (const n of adam) {
      assert.equal(n.outputs.length, 3, "param, m and v each get a new value");
      for (const o of n.outputs) assert.ok(!n.inputs.includes(o));
    }
    // weight, bias, their two moments each, and the step count.
    assert.equal(graph.state.length, 7);
    const weight = graph.tensors.find((t) => t.name === "weight");
    assert.ok(weight);
    const pair = graph.state.find((s) => s.before === weight.id);
    assert.ok(pair && pair.after !== pair.before);
    // Replaying the graph on copies of the state from before the step reproduces the step.
    const after = await Promise.all(layer.parameters().map((p) => p.toArray()));
    const feeds: Record<string, Tensor> = { x };
    for (const id of [...graph.inputs, ...graph.weights]) {
      const spec = graph.tensors[id];
      const name = spec.name ?? "";
      if (name === "weight") feeds[name] = dev.tensor(before[0], spec.shape);
      else if (name === "bias") feeds[name] = dev.tensor(before[1], spec.shape);
      else if (!feeds[name]) feeds[name] = dev.zeros(spec.shape, spec.dtype);
    }
    const ctrl = graph.nodes.find((n) => n.op === "step_count");
    assert.ok(ctrl);
    feeds[graph.tensors[ctrl.inputs[1]].name ?? ""] = dev.tensor([1, 0, 0, 0], [4]);
    replayGraph(graph, feeds);
    assert.ok(scaledError(await feeds.weight.toArray(), after[0]) <= 1e-6);
    assert.ok(scaledError(await feeds.bias.toArray(), after[1]) <= 1e-6);
    assert.ok(scaledError(after[0], before[0]) > 1e-3, "the step changed the weights");
  });
});
