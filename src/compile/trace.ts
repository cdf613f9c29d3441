/**
 * A trace turns the op calls of one run of a step into a functional ONNX graph. It follows each
 * box (tensor memory) to its current value: a box first read with data from before the trace is
 * state, a graph input; an in-place op gives the boxes it writes new values; a box written during
 * the trace that held data before is state the step updates, a graph output. Reshape views share
 * a box with another shape, so reads insert a Reshape where the shapes differ.
 */
import type { View } from "../tensor/backend.ts";
import type { DType } from "../tensor/dtype.ts";
import { DeviceError } from "../tensor/errors.ts";
import type { Meta, OpDef } from "../tensor/op.ts";
import { OP_TABLE } from "../tensor/ops/index.ts";
import type { BackendTracer, Box } from "./backend.ts";
import { GraphBuilder } from "./builder.ts";
import { reshape } from "./lower/common.ts";
import { LOWERINGS } from "./lower/index.ts";

const OPS = new Map<string, OpDef<never>>(OP_TABLE.map((op) => [op.name, op]));
/**
 * Inputs an op does not read: fill's only names the device, assign's destination is only
 * written. Reading them would make state inputs of values the step never uses.
 */
const INPUTS_UNREAD: Record<string, readonly number[]> = { fill: [0], assign: [0] };

interface Value {
  name: string;
  shape: readonly number[];
}

export interface StateSlot {
  box: Box;
  name: string;
  shape: readonly number[];
  dtype: DType;
}

export class Trace implements BackendTracer {
  readonly b = new GraphBuilder();
  private readonly values = new Map<Box, Value>();
  private readonly constants = new Set<Box>();
  /** State read by the step (graph inputs), in order of first read. */
  readonly stateIn: StateSlot[] = [];
  /** Boxes holding data from before the trace that the step writes. */
  readonly written = new Set<Box>();
  /** Dynamic scalars the lowerings asked for (graph inputs). */
  readonly dynamicUsed = new Set<string>();
  opCount = 0;
  private readonly usedNames = new Set<string>();

  constructor(private readonly dynamicNames: ReadonlySet<string>) {}

  /** A graph input standing for a box the caller feeds on every run (the step's arguments). */
  argument(box: Box, name: string, shape: readonly number[], dtype: DType): void {
    this.usedNames.add(name);
    this.values.set(box, { name: this.b.input(name, dtype, shape), shape });
  }

  constant(box: Box): void {
    this.constants.add(box);
  }

  /** The value of a view: its box's current value, reshaped to the view's shape. */
  read(view: View): string {
    const box = view.storage as Box;
    let v = this.values.get(box);
    if (!v) {
      const shape = [...view.shape];
      const type = view.dtype === "i32" ? "int32" : "float";
      if (this.constants.has(box) && box.data) {
        v = { name: this.b.constant(box.data, shape, type), shape };
      } else if (box.data) {
        const name = this.b.input(this.stateName(view), view.dtype, shape);
        this.stateIn.push({ box, name, shape, dtype: view.dtype });
        v = { name, shape };
      } else {
        // Allocated inside the trace and read before any kernel wrote it (partial sums that the
        // op fills slot by slot): zeros.
        const raw = new Uint8Array(4);
        v = {
          name: this.b.op("ConstantOfShape", [this.b.ints(shape)], {
            value: { t: { dims: [1], type, raw } },
          }),
          shape,
        };
      }
      this.values.set(box, v);
    }
    const same =
      v.shape.length === view.shape.length && v.shape.every((d, i) => d === view.shape[i]);
    return same ? v.name : reshape(this.b, v.name, view.shape);
  }

  /** A parameter's own name ("block0.qkv.weight") where it has one, else state<k>. */
  private stateName(view: View): string {
    const given = (view as { name?: unknown }).name;
    const base = typeof given === "string" && given ? given : `state${this.stateIn.length}`;
    let name = base;
    for (let k = 2; this.usedNames.has(name); k++) name = `${base}_${k}`;
    this.usedNames.add(name);
    return name;
  }

  record(name: string, inputs: View[], outputs: View[], attrs: unknown): void {
    const def = OPS.get(name);
    const lower = LOWERINGS[name];
    if (!def || !lower) throw new DeviceError(`compile: op "${name}" has no ONNX lowering`);
    this.opCount++;
    const meta = (v: View): Meta => ({ shape: v.shape, dtype: v.dtype });
    const unread = INPUTS_UNREAD[name] ?? [];
    const x = inputs.map((v, i) => (unread.includes(i) ? "" : this.read(v)));
    const results = lower({
      b: this.b,
      x,
      in: inputs.map(meta),
      out: def.inplace ? [] : outputs.map(meta),
      attrs: attrs as never,
      dynamic: (key, value) => {
        if (!this.dynamicNames.has(key)) return this.b.scalar(value);
        if (!this.dynamicUsed.has(key)) {
          this.dynamicUsed.add(key);
          this.b.input(`dyn_${key}`, "f32", []);
        }
        return `dyn_${key}`;
      },
    });
    if (results.length !== outputs.length)
      throw new DeviceError(
        `compile: the lowering of ${name} gave ${results.length} values for ${outputs.length} outputs`,
      );
    outputs.forEach((o, k) => {
      const box = o.storage as Box;
      this.values.set(box, { name: results[k], shape: [...o.shape] });
      if (def.inplace && box.data && !this.constants.has(box)) this.written.add(box);
    });
  }
}
