import type { Storage, View } from "./backend.ts";
import type { Device } from "./device.ts";
import type { DType } from "./dtype.ts";
import { DeviceError } from "./errors.ts";
import type { OpDef } from "./op.ts";
import { fmt, numel, type Shape } from "./shape.ts";

/** Memory shared by a tensor and its views; released to the backend's pool when the last one is disposed. */
export class StorageRef {
  refs = 1;
  constructor(
    readonly device: Device,
    readonly storage: Storage,
    readonly size: number,
    readonly dtype: DType,
  ) {}
  retain(): void {
    this.refs++;
  }
  releaseRef(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) this.device.backend.release(this.storage, this.size, this.dtype);
  }
}

/** The record autograd keeps of the op that made a tensor. */
export interface GradNode {
  op: OpDef<unknown>;
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: unknown;
}

let nextTensorId = 1;

/** An n-dimensional array on one device, contiguous and row-major. */
export class Tensor implements View {
  readonly id = nextTensorId++;
  readonly size: number;
  requiresGrad = false;
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it was recorded for autograd. */
  node: GradNode | null = null;
  /** Index of this tensor among its node's outputs. */
  outputIndex = 0;
  /** A readable name (parameters are named after their module path). */
  name = "";
  private disposed = false;

  constructor(
    readonly device: Device,
    readonly ref: StorageRef,
    readonly shape: Shape,
    readonly dtype: DType,
  ) {
    this.size = numel(shape);
  }

  get storage(): Storage {
    if (this.disposed)
      throw new DeviceError(`tensor #${this.id} ${fmt(this.shape)} was used after dispose()`);
    return this.ref.storage;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Reads the values back to the host, asynchronously (f16 comes back widened). */
  async toArray(): Promise<Float32Array | Float64Array | Int32Array> {
    return this.device.backend.read(this);
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1)
      throw new DeviceError(`item(): tensor has ${this.size} elements, shape ${fmt(this.shape)}`);
    return (await this.toArray())[0];
  }

  /** Frees this tensor's hold on its memory; its grad is disposed too. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ref.releaseRef();
    this.node = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  toString(): string {
    return `Tensor#${this.id}${this.name ? `(${this.name})` : ""} ${this.dtype}${fmt(this.shape)} on ${this.device.kind}`;
  }
}
