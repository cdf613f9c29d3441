/**
 * A device runs tensors: `cpu` (plain TypeScript, float32 or float64 for checks), `webgpu`
 * (WGSL kernels through Dawn in Node.js, navigator.gpu in browsers) or `onnx` (the CPU reference
 * for single ops, and whole steps compiled into ONNX Runtime graphs by `compile`). Model code takes a Device
 * and never asks which kind it is.
 */
import type { Rng } from "../util/rng.ts";
import type { Backend } from "./backend.ts";
import { CpuBackend, type CpuPrecision } from "./cpu/backend.ts";
import { type DType, isFloat } from "./dtype.ts";
import { emptyTensor, track } from "./engine.ts";
import { DeviceError, DeviceLostError, DTypeError, ShapeError } from "./errors.ts";
import { checkShape, fmt, numel, type Shape } from "./shape.ts";
import { StorageRef, Tensor } from "./tensor.ts";

/** The built-in and shipped kinds; a registered backend may add its own. */
export type DeviceKind = "cpu" | "webgpu" | "onnx" | (string & {});

export interface DeviceOptions {
  /** "auto" picks webgpu when an adapter exists, else cpu. */
  kind?: DeviceKind | "auto";
  /** CPU only: element precision of float tensors ("f64" for reference checks). */
  precision?: CpuPrecision;
  /** WebGPU only: ask for f16 and subgroup matrices (Dawn toggles on NVIDIA). Default true. */
  f16?: boolean;
  /** WebGPU only: prefer a discrete or integrated adapter. */
  powerPreference?: "high-performance" | "low-power";
  /** WebGPU only: refuse allocations beyond this many bytes in total (OutOfMemoryError). */
  memoryLimitBytes?: number;
}

export class Device {
  lostReason: string | null = null;
  /** Inside `withoutInit`: random initialisers return zeros without drawing numbers. */
  #skipInit = false;
  constructor(readonly backend: Backend) {
    backend.onLost = (reason) => {
      this.lostReason = reason;
    };
  }

  get kind(): DeviceKind {
    return this.backend.kind;
  }

  get supportsF16(): boolean {
    return this.backend.supportsF16;
  }

  /** Throws when the device can no longer run work. */
  checkUsable(op: string): void {
    if (this.lostReason !== null)
      throw new DeviceLostError(`${op}: the ${this.kind} device was lost (${this.lostReason})`);
  }

  /** Uploads host values as a new tensor. */
  tensor(data: ArrayLike<number>, shape: Shape, dtype: DType = "f32"): Tensor {
    checkShape("tensor", shape);
    if (data.length !== numel(shape)) {
      throw new ShapeError(
        `tensor: ${data.length} values do not fill shape ${fmt(shape)} (${numel(shape)} elements)`,
      );
    }
    if (dtype === "f16" && !this.supportsF16)
      throw new DTypeError(`tensor: device ${this.kind} has no f16 support`);
    if (dtype === "i32") {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isInteger(data[i]))
          throw new DTypeError(`tensor: i32 tensor got non-integer value ${data[i]} at ${i}`);
      }
    }
    this.checkUsable("tensor");
    const storage = this.backend.upload(data, dtype);
    const size = numel(shape);
    return track(new Tensor(this, new StorageRef(this, storage, size, dtype), [...shape], dtype));
  }

  scalar(value: number, dtype: DType = "f32"): Tensor {
    return this.tensor([value], [], dtype);
  }

  zeros(shape: Shape, dtype: DType = "f32"): Tensor {
    return this.full(shape, 0, dtype);
  }

  full(shape: Shape, value: number, dtype: DType = "f32"): Tensor {
    checkShape("full", shape);
    return this.tensor(new Float32Array(numel(shape)).fill(value), shape, dtype);
  }

  /**
   * Builds something whose random initial values are about to be overwritten (a network that
   * weights will be loaded into): inside `build`, `randn` and `rand` return zeros without drawing
   * from their generator. Drawing the bundled model's 15 M initial values took a quarter of a
   * second of every `zoetrope image` run. The caller must overwrite every such tensor.
   */
  withoutInit<T>(build: () => T): T {
    const outer = this.#skipInit;
    this.#skipInit = true;
    try {
      return build();
    } finally {
      this.#skipInit = outer;
    }
  }

  /** Normal(0, std²) values from a seeded generator (host-side, so every device gets the same numbers). */
  randn(shape: Shape, rng: Rng, std = 1, dtype: DType = "f32"): Tensor {
    if (!isFloat(dtype)) throw new DTypeError(`randn: dtype must be float, got ${dtype}`);
    checkShape("randn", shape);
    if (this.#skipInit) return this.zeros(shape, dtype);
    const a = new Float32Array(numel(shape));
    for (let i = 0; i < a.length; i++) a[i] = rng.normal() * std;
    return this.tensor(a, shape, dtype);
  }

  /** Uniform values in [lo, hi) from a seeded generator. */
  rand(shape: Shape, rng: Rng, lo = 0, hi = 1, dtype: DType = "f32"): Tensor {
    checkShape("rand", shape);
    if (this.#skipInit) return this.zeros(shape, dtype);
    const a = new Float32Array(numel(shape));
    for (let i = 0; i < a.length; i++) a[i] = rng.uniform(lo, hi);
    return this.tensor(a, shape, dtype);
  }

  /** An uninitialised tensor (every kernel writes all of its outputs). */
  empty(shape: Shape, dtype: DType = "f32"): Tensor {
    return emptyTensor(this, { shape, dtype });
  }

  /** Submits queued work without waiting. */
  flush(): void {
    this.backend.flush();
  }

  /** Waits for all queued work. */
  sync(): Promise<void> {
    return this.backend.sync();
  }

  destroy(): void {
    this.backend.destroy();
    this.lostReason = "destroyed";
  }
}

/** Makes a backend for `createDevice`; registered by each backend's package (src/devices.ts loads them all). */
export type BackendFactory = (options: DeviceOptions) => Promise<Backend>;

const factories = new Map<string, BackendFactory>();

/**
 * Plugs a backend into the tensor package under `kind`. The tensor package knows only its CPU
 * reference; src/gpu and src/compile register "webgpu" and "onnx" (import src/devices.ts).
 */
export function registerBackend(kind: string, factory: BackendFactory): void {
  if (kind === "cpu" || kind === "auto")
    throw new DeviceError(`registerBackend: "${kind}" is built in and cannot be replaced`);
  factories.set(kind, factory);
}

/** Kinds createDevice accepts now. */
export function deviceKinds(): string[] {
  return ["cpu", ...factories.keys()];
}

/**
 * Creates a device. With kind "auto", WebGPU is used when it is registered and an adapter
 * exists, otherwise the CPU.
 */
export async function createDevice(options: DeviceOptions = {}): Promise<Device> {
  const kind = options.kind ?? "auto";
  const cpu = () => new Device(new CpuBackend(options.precision ?? "f32"));
  if (kind === "cpu") return cpu();
  if (kind === "auto") {
    const gpu = factories.get("webgpu");
    if (!gpu) return cpu();
    try {
      return new Device(await gpu(options));
    } catch {
      return cpu();
    }
  }
  const factory = factories.get(kind);
  if (!factory) {
    const known = [...deviceKinds(), "auto"];
    throw new DeviceError(
      `createDevice: unknown device kind "${kind}" (expected ${known.slice(0, -1).join(", ")} or auto${
        ["webgpu", "onnx"].every((k) => known.includes(k))
          ? ""
          : "; import src/devices.ts to load every backend"
      })`,
    );
  }
  return new Device(await factory(options));
}
