/**
 * The graph recorder: runs a function while listening to every op call (`onOpCall`) and writes
 * down a plain, JSON-able graph of it — op names and attributes from the op table, and each
 * tensor's shape, dtype and role (graph input, named weight, or intermediate). The graph is
 * functional: an in-place op (AdamW, EMA, assign, …) gets new values for the tensors it writes
 * as its outputs, later reads see those values, and `state` pairs each tensor that existed
 * before the call with its final value, so a whole training step is one graph. `replayGraph`
 * runs one again through the same op table, which is how tests show that a recording is
 * complete. (The ONNX compiler, src/compile, records at the backend instead, without running
 * the kernels.)
 */
import type { DType } from "./dtype.ts";
import { onOpCall, runOp } from "./engine.ts";
import { DeviceError } from "./errors.ts";
import type { OpDef } from "./op.ts";
import { OP_TABLE } from "./ops/index.ts";
import { sameShape } from "./shape.ts";
import { Tensor } from "./tensor.ts";

export type TensorRole = "input" | "weight" | "intermediate";

export interface GraphTensor {
  /** Index of this tensor in the graph (0, 1, 2 … in order of first use). */
  id: number;
  shape: number[];
  dtype: DType;
  role: TensorRole;
  /** Weights: the parameter's path ("block0.attn.qkv.weight"); inputs: their name. */
  name?: string;
  /** Whether the recorded function returned this tensor. */
  output?: boolean;
}

export interface GraphNode {
  op: string;
  /** The op's attributes as JSON values. */
  attrs: unknown;
  inputs: number[];
  outputs: number[];
}

export interface Graph {
  nodes: GraphNode[];
  tensors: GraphTensor[];
  /** Ids of the graph inputs, weights and returned tensors. */
  inputs: number[];
  weights: number[];
  outputs: number[];
  /** Tensors from before the call that in-place ops wrote: their value before and after. */
  state: { before: number; after: number }[];
}

export interface RecordOptions {
  /** Names for the graph inputs; other unnamed tensors from outside become "input<k>". */
  inputs?: Record<string, Tensor>;
}

type Result = Tensor | Tensor[] | Record<string, Tensor>;

function resultTensors(r: Result): Tensor[] {
  if (r instanceof Tensor) return [r];
  if (Array.isArray(r)) return r;
  if (r && typeof r === "object") return Object.values(r).filter((t) => t instanceof Tensor);
  return [];
}

/**
 * Runs `fn` and records every op it calls. Tensors not made by a recorded op are graph inputs,
 * or weights when they carry a parameter name (Module parameters do). Returns the graph and
 * fn's own result. Ops that `fn` runs for autograd (a backward pass) are recorded too, so record
 * forward passes only.
 */
export function recordGraph<T extends Result>(
  fn: () => T,
  options: RecordOptions = {},
): { graph: Graph; result: T } {
  const inputNames = new Map<Tensor, string>();
  for (const [name, t] of Object.entries(options.inputs ?? {})) {
    if (!(t instanceof Tensor))
      throw new DeviceError(`recordGraph: input "${name}" is not a Tensor`);
    inputNames.set(t, name);
  }
  const ids = new Map<Tensor, number>();
  const tensors: GraphTensor[] = [];
  const nodes: GraphNode[] = [];
  const produced = new Set<Tensor>();
  let unnamed = 0;

  const idOf = (t: Tensor): number => {
    let id = ids.get(t);
    if (id !== undefined) return id;
    id = tensors.length;
    ids.set(t, id);
    const entry: GraphTensor = { id, shape: [...t.shape], dtype: t.dtype, role: "intermediate" };
    if (!produced.has(t)) {
      const given = inputNames.get(t);
      if (given !== undefined) {
        entry.role = "input";
        entry.name = given;
      } else if (t.name) {
        entry.role = "weight";
        entry.name = t.name;
      } else {
        entry.role = "input";
        entry.name = `input${unnamed++}`;
      }
    }
    tensors.push(entry);
    return id;
  };

  const firstId = new Map<Tensor, number>();
  const stop = onOpCall((call) => {
    const inputs = call.inputs.map(idOf);
    const inplace = OPS_BY_NAME.get(call.op)?.inplace;
    let outputs: number[];
    if (inplace) {
      // Each written tensor gets a new value; later reads of the tensor see it.
      outputs = inplace.map((i) => {
        const t = call.inputs[i];
        if (!firstId.has(t)) firstId.set(t, ids.get(t)!);
        const prev = tensors[ids.get(t)!];
        const id = tensors.length;
        tensors.push({ id, shape: [...prev.shape], dtype: prev.dtype, role: "intermediate" });
        ids.set(t, id);
        return id;
      });
    } else {
      for (const o of call.outputs) produced.add(o);
      outputs = call.outputs.map(idOf);
    }
    nodes.push({ op: call.op, attrs: toJson(call.attrs), inputs, outputs });
  });
  let result: T;
  try {
    result = fn();
  } finally {
    stop();
  }
  for (const t of resultTensors(result)) tensors[idOf(t)].output = true;
  const graph: Graph = {
    nodes,
    tensors,
    inputs: tensors.filter((t) => t.role === "input").map((t) => t.id),
    weights: tensors.filter((t) => t.role === "weight").map((t) => t.id),
    outputs: tensors.filter((t) => t.output).map((t) => t.id),
    state: [...firstId]
      .filter(([t, before]) => tensors[before].role !== "intermediate" || !produced.has(t))
      .map(([t, before]) => ({ before, after: ids.get(t)! })),
  };
  return { graph, result };
}

function toJson(attrs: unknown): unknown {
  return attrs === undefined ? {} : JSON.parse(JSON.stringify(attrs));
}

const OPS_BY_NAME = new Map<string, OpDef<never>>(OP_TABLE.map((op) => [op.name, op]));

/**
 * Runs a recorded graph again through the op table. `feeds` maps input and weight names to
 * tensors (shapes and dtypes must match the recording); returns the graph's outputs in order.
 */
export function replayGraph(graph: Graph, feeds: Record<string, Tensor>): Tensor[] {
  const values = new Map<number, Tensor>();
  for (const id of [...graph.inputs, ...graph.weights]) {
    const spec = graph.tensors[id];
    const t = feeds[spec.name ?? ""];
    if (!t) throw new DeviceError(`replayGraph: no tensor fed for ${spec.role} "${spec.name}"`);
    if (!sameShape(t.shape, spec.shape) || t.dtype !== spec.dtype) {
      throw new DeviceError(
        `replayGraph: ${spec.role} "${spec.name}" was recorded as ${spec.dtype} [${spec.shape.join(", ")}], got ${t}`,
      );
    }
    values.set(id, t);
  }
  for (const node of graph.nodes) {
    const op = OPS_BY_NAME.get(node.op);
    if (!op) throw new DeviceError(`replayGraph: unknown op "${node.op}"`);
    const inputs = node.inputs.map((id) => {
      const t = values.get(id);
      if (!t) throw new DeviceError(`replayGraph: ${node.op} reads tensor ${id} before it exists`);
      return t;
    });
    const outs = runOp(op, inputs, node.attrs as never);
    // An in-place op's outputs are the tensors it wrote.
    const made = op.inplace ? op.inplace.map((i) => inputs[i]) : outs;
    node.outputs.forEach((id, i) => {
      values.set(id, made[i]);
    });
  }
  return graph.outputs.map((id) => values.get(id)!);
}
