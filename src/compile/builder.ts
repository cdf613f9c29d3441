/**
 * Builds an ONNX graph node by node. Identical nodes (same op, inputs and attributes) are made
 * once: lowerings can ask for a value again instead of passing it around, which is how an
 * attention backward finds the forward's softmax and how repeated per-step scalars (AdamW's bias
 * corrections) are shared by every parameter. Unused nodes are dropped when the model is written.
 */
import type { DType } from "../tensor/dtype.ts";
import { DeviceError } from "../tensor/errors.ts";
import {
  type AttrValue,
  encodeModel,
  type OnnxElemType,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from "./proto.ts";

export const OPSET = 17;

export function onnxType(dtype: DType): OnnxElemType {
  return dtype === "i32" ? "int32" : dtype === "f16" ? "float16" : "float";
}

/** Attribute values: integers, strings and int lists as they are; floats as `{ f: x }`. */
export type AttrInput = number | string | number[] | AttrValue;

function toAttr(name: string, v: AttrInput): AttrValue {
  if (typeof v === "number") {
    if (!Number.isInteger(v))
      throw new DeviceError(`onnx builder: attribute ${name}=${v} is not an integer (use { f })`);
    return { i: v };
  }
  if (typeof v === "string") return { s: v };
  if (Array.isArray(v)) return { ints: v };
  return v;
}

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  readonly domains: Record<string, number> = {};
  private readonly memo = new Map<string, string[]>();
  private readonly constants = new Map<string, string>();
  private counter = 0;

  fresh(prefix = "v"): string {
    return `${prefix}${this.counter++}`;
  }

  input(name: string, dtype: DType, dims: readonly number[]): string {
    this.inputs.push({ name, type: onnxType(dtype), dims: [...dims] });
    return name;
  }

  output(value: string, name: string, dtype: DType, dims: readonly number[]): void {
    // A graph output needs its own name; Identity also lets one value be two outputs.
    this.rename(this.op("Identity", [value]), name);
    this.outputs.push({ name, type: onnxType(dtype), dims: [...dims] });
  }

  /** Renames the output of the node that made `value` (so a graph output carries its name). */
  private rename(value: string, name: string): void {
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      const k = n.outputs.indexOf(value);
      if (k >= 0) {
        n.outputs[k] = name;
        // Identity nodes are never shared through the memo, so no other reader sees `value`.
        return;
      }
    }
    throw new DeviceError(`onnx builder: no node makes ${value}`);
  }

  /** A node with `nOut` outputs; returns them. Identical calls return the first call's outputs. */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrInput> = {},
    nOut = 1,
    domain?: string,
  ): string[] {
    const a: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) a[k] = toAttr(k, v);
    const shareable = opType !== "Identity";
    const key = shareable
      ? `${domain ?? ""}|${opType}|${inputs.join(",")}|${nOut}|${JSON.stringify(a)}`
      : "";
    if (shareable) {
      const hit = this.memo.get(key);
      if (hit) return hit;
    }
    const outputs = Array.from({ length: nOut }, () => this.fresh());
    this.nodes.push({ opType, domain, inputs, outputs, attrs: a });
    if (domain) this.domains[domain] = 1;
    if (shareable) this.memo.set(key, outputs);
    return outputs;
  }

  /** A node with one output. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrInput> = {}): string {
    return this.node(opType, inputs, attrs, 1)[0];
  }

  /** A constant tensor (deduplicated by content). */
  constant(
    values: ArrayLike<number>,
    dims: readonly number[],
    type: OnnxElemType = "float",
  ): string {
    let raw: Uint8Array;
    if (type === "float") raw = new Uint8Array(Float32Array.from(values).buffer);
    else if (type === "int32") raw = new Uint8Array(Int32Array.from(values).buffer);
    else if (type === "int64")
      raw = new Uint8Array(BigInt64Array.from(Array.from(values), (v) => BigInt(v)).buffer);
    else if (type === "bool") raw = Uint8Array.from(values, (v) => (v ? 1 : 0));
    else if (type === "int8") raw = new Uint8Array(Int8Array.from(values).buffer);
    else throw new DeviceError(`onnx builder: no constants of type ${type}`);
    // Object.is tells −0 from 0 (their bytes differ, and so do 1/x of them).
    const text = (v: number) => (Object.is(v, -0) ? "-0" : String(v));
    const key =
      values.length <= 64 ? `${type}|${dims.join(",")}|${Array.from(values, text).join(",")}` : "";
    const hit = key ? this.constants.get(key) : undefined;
    if (hit) return hit;
    const name = this.fresh("c");
    this.initializers.push({ name, dims: [...dims], type, raw });
    if (key) this.constants.set(key, name);
    return name;
  }

  /** A float scalar constant. */
  scalar(v: number, type: OnnxElemType = "float"): string {
    return this.constant([v], [], type);
  }

  /** An int64 vector constant (shapes, axes, pads). */
  ints(vs: readonly number[]): string {
    return this.constant(vs, [vs.length], "int64");
  }

  /** Drops nodes, initializers and graph inputs that no graph output depends on. */
  prune(): void {
    const needed = new Set(this.outputs.map((o) => o.name));
    const keep = new Array<boolean>(this.nodes.length).fill(false);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n.outputs.some((o) => needed.has(o))) continue;
      keep[i] = true;
      for (const x of n.inputs) if (x) needed.add(x);
    }
    const nodes = this.nodes.filter((_, i) => keep[i]);
    this.nodes.length = 0;
    this.nodes.push(...nodes);
    const inits = this.initializers.filter((t) => needed.has(t.name ?? ""));
    this.initializers.length = 0;
    this.initializers.push(...inits);
    // An input no node reads would still have to be fed.
    const inputs = this.inputs.filter((i) => needed.has(i.name));
    this.inputs.length = 0;
    this.inputs.push(...inputs);
  }

  model(graphName = "zoetrope"): OnnxModel {
    this.prune();
    return {
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: this.outputs,
      opset: OPSET,
      domains: this.domains,
      graphName,
    };
  }

  encode(graphName?: string): Uint8Array {
    return encodeModel(this.model(graphName));
  }
}
