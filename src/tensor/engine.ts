/**
 * The executor: every op call goes through `runOp`, which checks operands against the op table,
 * allocates outputs, runs the device's kernel, and records the call for autograd and for the
 * graph recorder. Scopes (`tidy`) free the intermediates a block made once it returns.
 */
import type { Device } from "./device.ts";
import { DeviceError, DTypeError } from "./errors.ts";
import type { Meta, OpDef } from "./op.ts";
import { checkShape, fmt, numel } from "./shape.ts";
import { StorageRef, Tensor } from "./tensor.ts";

/** What the graph recorder sees of each op call. */
export interface OpCall {
  op: string;
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: unknown;
}

const scopes: Set<Tensor>[] = [];
let gradEnabled = true;
const listeners: ((call: OpCall) => void)[] = [];

/** Registers a listener for every op call (the graph recorder); returns a function that removes it. */
export function onOpCall(listener: (call: OpCall) => void): () => void {
  listeners.push(listener);
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  };
}

/** Tracks a new tensor in the innermost scope so that the scope can free it. */
export function track(t: Tensor): Tensor {
  scopes[scopes.length - 1]?.add(t);
  return t;
}

/** Removes tensors from every open scope so that they outlive it (parameters, gradients, results). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(result: unknown, into: Set<Tensor>): void {
  if (result instanceof Tensor) into.add(result);
  else if (Array.isArray(result)) for (const r of result) collect(r, into);
  else if (result && typeof result === "object" && !(result instanceof Promise)) {
    for (const r of Object.values(result)) collect(r, into);
  }
}

/**
 * Runs `fn` and then frees every tensor it created except those it returns (and those passed to
 * `keep`). The returned tensors move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keepSet = new Set<Tensor>();
  collect(result, keepSet);
  for (const t of scope) {
    if (keepSet.has(t)) continue;
    // A gradient attached to a kept leaf belongs to that leaf.
    t.dispose();
  }
  for (const t of keepSet) if (scope.has(t)) track(t);
  return result;
}

/** Runs `fn` without recording anything for autograd. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Allocates a tensor on a device without initialising it (kernels write every element). */
export function emptyTensor(device: Device, meta: Meta): Tensor {
  checkShape("alloc", meta.shape);
  if (meta.dtype === "f16" && !device.backend.supportsF16) {
    throw new DTypeError(
      `alloc: device ${device.kind} has no f16 support; use f32 (shape ${fmt(meta.shape)})`,
    );
  }
  const size = numel(meta.shape);
  const storage = device.backend.alloc(size, meta.dtype);
  return track(
    new Tensor(
      device,
      new StorageRef(device, storage, size, meta.dtype),
      [...meta.shape],
      meta.dtype,
    ),
  );
}

/** A tensor sharing another's memory with a different shape of the same size (no copy). */
export function viewOf(t: Tensor, shape: readonly number[]): Tensor {
  t.ref.retain();
  return track(new Tensor(t.device, t.ref, [...shape], t.dtype));
}

/** Calls op `def` on `inputs`: the one path by which every op runs. Returns its outputs. */
export function runOp<A>(def: OpDef<A>, inputs: Tensor[], attrs: A): Tensor[] {
  if (inputs.length === 0) throw new DeviceError(`${def.name}: needs at least one input tensor`);
  const device = inputs[0].device;
  for (const t of inputs) {
    if (!(t instanceof Tensor))
      throw new DeviceError(`${def.name}: an input is not a Tensor (${String(t)})`);
    if (t.device !== device) {
      throw new DeviceError(
        `${def.name}: inputs live on different devices (${device.kind} and ${t.device.kind})`,
      );
    }
    if (t.isDisposed) throw new DeviceError(`${def.name}: input ${t} was already disposed`);
  }
  device.checkUsable(def.name);
  const metas = def.infer(inputs, attrs);
  let outputs: Tensor[];
  if (def.view) {
    outputs = [viewOf(inputs[0], metas[0].shape)];
  } else {
    outputs = metas.map((m) => emptyTensor(device, m));
    const written = def.inplace ? def.inplace.map((i) => inputs[i]) : outputs;
    device.backend.exec(def.name, inputs, written, attrs);
  }
  if (gradEnabled && def.backward && !def.inplace && inputs.some((t) => t.requiresGrad)) {
    const node = { op: def as OpDef<unknown>, inputs, outputs, attrs };
    outputs.forEach((o, i) => {
      o.requiresGrad = true;
      o.node = node;
      o.outputIndex = i;
    });
  }
  if (listeners.length) for (const l of listeners) l({ op: def.name, inputs, outputs, attrs });
  return outputs;
}

/** runOp for ops with one output. */
export function run1<A>(def: OpDef<A>, inputs: Tensor[], attrs: A): Tensor {
  return runOp(def, inputs, attrs)[0];
}
