/**
 * The CPU reference backend: plain TypeScript loops over typed arrays. In "f32" mode float tensors
 * are Float32Array (f16 ones rounded to half precision after every op); in "f64" mode they are
 * Float64Array, the reference that every kernel and gradient is checked against.
 */
import type { Backend, Storage, View } from "../backend.ts";
import { type DType, roundArrayF16 } from "../dtype.ts";
import { DeviceError } from "../errors.ts";
import { cpuKernels } from "./kernels.ts";

export type CpuPrecision = "f32" | "f64";
export type FloatArray = Float32Array | Float64Array;
export type CpuArray = FloatArray | Int32Array;

/** A CPU operand: its typed array, shape and dtype. */
export interface CpuView extends View {
  readonly storage: CpuArray;
}

export type CpuKernel = (
  inputs: CpuView[],
  outputs: CpuView[],
  attrs: never,
  backend: CpuBackend,
) => void;

export class CpuBackend implements Backend {
  readonly kind = "cpu";
  readonly supportsF16 = true;
  readonly features: ReadonlySet<string> = new Set();
  readonly description: string;
  onLost?: (reason: string) => void;

  constructor(readonly precision: CpuPrecision = "f32") {
    if (precision !== "f32" && precision !== "f64") {
      throw new DeviceError(`cpu: precision must be "f32" or "f64", got "${precision}"`);
    }
    this.description = `cpu (TypeScript reference, ${precision})`;
  }

  alloc(size: number, dtype: DType): Storage {
    if (dtype === "i32") return new Int32Array(size);
    return this.precision === "f64" ? new Float64Array(size) : new Float32Array(size);
  }

  upload(data: ArrayLike<number>, dtype: DType): Storage {
    const a = this.alloc(data.length, dtype) as CpuArray;
    a.set(data);
    if (dtype === "f16") roundArrayF16(a as FloatArray);
    return a;
  }

  release(): void {
    // Typed arrays are garbage-collected.
  }

  exec(name: string, inputs: View[], outputs: View[], attrs: unknown): void {
    const kernel = (cpuKernels as Record<string, CpuKernel | undefined>)[name];
    if (!kernel) throw new DeviceError(`cpu: no kernel for op "${name}"`);
    kernel(inputs as CpuView[], outputs as CpuView[], attrs as never, this);
    for (const o of outputs) if (o.dtype === "f16") roundArrayF16(o.storage as FloatArray);
  }

  async read(view: View): Promise<Float32Array | Float64Array | Int32Array> {
    const a = view.storage as CpuArray;
    return a.slice(0, view.size);
  }

  flush(): void {}
  async sync(): Promise<void> {}
  destroy(): void {}
}
