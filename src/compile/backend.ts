/**
 * The `onnx` backend: tensors live in host typed arrays ("boxes", so that a compiled step can
 * hand a state tensor its new array without copying), single ops run on the CPU reference
 * kernels, and `compile` (compile.ts) traces whole steps into ONNX graphs that ONNX Runtime runs.
 * While a trace is open, allocations are symbolic and kernels are recorded instead of run.
 */
import type { Backend, Storage, View } from "../tensor/backend.ts";
import type { CpuKernel, CpuView } from "../tensor/cpu/backend.ts";
import { CpuBackend } from "../tensor/cpu/backend.ts";
import { cpuKernels } from "../tensor/cpu/kernels.ts";
import type { DType } from "../tensor/dtype.ts";
import { DeviceError } from "../tensor/errors.ts";

/** One tensor's memory: host data, or null for a value that exists only inside a trace. */
export class Box {
  constructor(
    public data: HostArray | null,
    readonly dtype: DType,
    readonly size: number,
  ) {}
}

/** What a trace does with the backend's calls (see trace.ts). */
export interface BackendTracer {
  record(name: string, inputs: View[], outputs: View[], attrs: unknown): void;
  /** A box filled from host data while tracing: a constant of the program. */
  constant(box: Box): void;
}

export type HostArray = Float32Array | Int32Array;

export function newArray(dtype: DType, size: number): HostArray {
  return dtype === "i32" ? new Int32Array(size) : new Float32Array(size);
}

export class OnnxBackend implements Backend {
  readonly kind = "onnx";
  readonly supportsF16 = false;
  readonly features: ReadonlySet<string> = new Set(["compile"]);
  readonly description =
    "onnx (ONNX Runtime CPU for compiled steps, TypeScript reference for single ops)";
  onLost?: (reason: string) => void;
  /** Set while `compile` traces a step. */
  tracer: BackendTracer | null = null;
  /** Compiled runs in flight, in order: reads and later runs wait for them. */
  private pending: Promise<unknown> = Promise.resolve();
  private readonly reference = new CpuBackend("f32");

  alloc(size: number, dtype: DType): Storage {
    return new Box(this.tracer ? null : newArray(dtype, size), dtype, size);
  }

  upload(data: ArrayLike<number>, dtype: DType): Storage {
    const a = newArray(dtype, data.length);
    a.set(data);
    const box = new Box(a, dtype, data.length);
    this.tracer?.constant(box);
    return box;
  }

  release(): void {
    // Typed arrays are garbage-collected.
  }

  exec(name: string, inputs: View[], outputs: View[], attrs: unknown): void {
    if (this.tracer) {
      this.tracer.record(name, inputs, outputs, attrs);
      return;
    }
    const kernel = (cpuKernels as Record<string, CpuKernel | undefined>)[name];
    if (!kernel) throw new DeviceError(`onnx: no kernel for op "${name}"`);
    kernel(inputs.map(hostView), outputs.map(hostView), attrs as never, this.reference);
  }

  async read(view: View): Promise<Float32Array | Float64Array | Int32Array> {
    await this.pending;
    return hostView(view).storage.slice(0, view.size);
  }

  /** Runs `work` after every compiled run before it (state tensors change only in that order). */
  enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.pending.then(work, work);
    this.pending = next.catch(() => undefined);
    return next;
  }

  flush(): void {}

  async sync(): Promise<void> {
    await this.pending;
  }

  destroy(): void {}
}

function hostView(v: View): CpuView {
  const box = v.storage as Box;
  if (!box.data)
    throw new DeviceError(
      `onnx: a ${v.dtype} [${v.shape.join(", ")}] tensor made inside a compiled function has no data outside it; return it from the function to get its value`,
    );
  return { storage: box.data, shape: v.shape, dtype: v.dtype, size: v.size };
}
