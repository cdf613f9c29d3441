import type { DType } from "./dtype.ts";
import type { Shape } from "./shape.ts";

/** A backend's own handle on the memory of one tensor (a GPUBuffer, a typed array). */
export type Storage = object;

/** What a kernel sees of one operand: its storage, shape and dtype (always contiguous, row-major). */
export interface View {
  readonly storage: Storage;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
}

/**
 * What a device must provide: memory, data transfer, and one kernel per op in the op table.
 * Kernels are looked up by op name, so the op table (src/tensor/ops) is the only list of ops.
 */
export interface Backend {
  /** The kind it registers as ("cpu", "webgpu", "onnx", …). */
  readonly kind: string;
  /** A human-readable description of the adapter or CPU mode. */
  readonly description: string;
  /** Whether f16 tensors are stored and computed natively (or, on the CPU, emulated by rounding). */
  readonly supportsF16: boolean;
  /** Features that select kernel paths, e.g. "subgroups", "subgroup-matrix". */
  readonly features: ReadonlySet<string>;
  alloc(size: number, dtype: DType): Storage;
  upload(data: ArrayLike<number>, dtype: DType): Storage;
  release(storage: Storage, size: number, dtype: DType): void;
  /** Runs op `name` reading `inputs` and writing `outputs` (which were just allocated, or are inputs for in-place ops). */
  exec(name: string, inputs: View[], outputs: View[], attrs: unknown): void;
  /** Reads a tensor back; f16 comes back widened to Float32Array. */
  read(view: View): Promise<Float32Array | Float64Array | Int32Array>;
  /** Submits queued work (no wait). */
  flush(): void;
  /** Resolves when all queued work has finished. */
  sync(): Promise<void>;
  destroy(): void;
  /** Set by the Device: called once if the device is lost (driver reset, destroyed). */
  onLost?: (reason: string) => void;
}
