/**
 * The WebGPU backend: tensors live in pooled storage buffers, ops encode compute dispatches into
 * one open command encoder, and work is submitted only when a result is read (or the queue of
 * dispatches grows long). Nothing waits on the GPU inside a training step.
 */
import type { Backend, Storage, View } from "../tensor/backend.ts";
import type { DeviceOptions } from "../tensor/device.ts";
import { bytesPerElement, type DType, decodeF16Array, f16Bits } from "../tensor/dtype.ts";
import { DeviceError, DeviceLostError, OutOfMemoryError } from "../tensor/errors.ts";
import { openGpu } from "./adapter.ts";
import { BufferPool } from "./buffer-pool.ts";
import { gpuKernels } from "./kernels/index.ts";
import type { Params } from "./params.ts";

/** What a WGSL kernel sees of one operand. */
export interface GpuView extends View {
  readonly storage: GPUBuffer;
}

export type GpuKernel = (
  ctx: WebGpuBackend,
  inputs: GpuView[],
  outputs: GpuView[],
  attrs: never,
) => void;

const UNIFORM_RING_BYTES = 1 << 18;
const MAX_PENDING_DISPATCHES = 1024;

export class WebGpuBackend implements Backend {
  readonly kind = "webgpu";
  readonly supportsF16: boolean;
  readonly description: string;
  readonly limits: GPUSupportedLimits;
  onLost?: (reason: string) => void;
  private readonly pool: BufferPool;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniforms: GPUBuffer;
  private uniformOffset = 0;
  private pending = 0;
  private lostReason: string | null = null;
  private readonly lost: Promise<never>;
  private asyncError: Error | null = null;
  /** Dispatches and submits so far (for benchmarks and tests of batching). */
  stats = { dispatches: 0, submits: 0 };

  constructor(
    readonly device: GPUDevice,
    readonly features: ReadonlySet<string>,
    adapterInfo: GPUAdapterInfo,
    private readonly memoryLimitBytes: number,
  ) {
    this.supportsF16 = features.has("shader-f16");
    this.limits = device.limits;
    const name = [
      adapterInfo.vendor,
      adapterInfo.architecture,
      adapterInfo.device,
      adapterInfo.description,
    ]
      .filter(Boolean)
      .join(" ");
    this.description = `webgpu (${name || "unknown adapter"}; ${[...features].join(", ") || "fp32 only"})`;
    this.pool = new BufferPool((bytes) => this.createStorageBuffer(bytes));
    this.uniforms = device.createBuffer({
      size: UNIFORM_RING_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.lost = device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
      this.onLost?.(this.lostReason);
      throw new DeviceLostError(`webgpu: device lost (${this.lostReason})`);
    });
    this.lost.catch(() => {});
    device.onuncapturederror = (ev) => {
      this.asyncError ??= new DeviceError(`webgpu: ${ev.error.message}`);
    };
  }

  private createStorageBuffer(bytes: number): GPUBuffer {
    const maxBytes = Math.min(this.limits.maxBufferSize, this.limits.maxStorageBufferBindingSize);
    if (bytes > maxBytes) {
      throw new OutOfMemoryError(
        `webgpu: a tensor of ${fmtBytes(bytes)} exceeds the largest buffer this device binds (${fmtBytes(maxBytes)})`,
      );
    }
    const total = this.pool.liveBytes + this.pool.freeBytes + bytes;
    if (total > this.memoryLimitBytes) {
      // Free buffers may still be read by encoded, unsubmitted dispatches: submit before destroying.
      this.flush();
      this.pool.trim();
      if (this.pool.liveBytes + bytes > this.memoryLimitBytes) {
        throw new OutOfMemoryError(
          `webgpu: out of memory allocating ${fmtBytes(bytes)}: ${fmtBytes(this.pool.liveBytes)} in use of a ${fmtBytes(this.memoryLimitBytes)} limit`,
        );
      }
    }
    this.device.pushErrorScope("out-of-memory");
    const buf = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.device.popErrorScope().then((err) => {
      if (err)
        this.asyncError ??= new OutOfMemoryError(
          `webgpu: the driver refused ${fmtBytes(bytes)}: ${err.message}`,
        );
    });
    return buf;
  }

  private checkHealthy(what: string): void {
    if (this.lostReason !== null)
      throw new DeviceLostError(`${what}: webgpu device lost (${this.lostReason})`);
    if (this.asyncError) {
      const e = this.asyncError;
      this.asyncError = null;
      throw e;
    }
  }

  alloc(size: number, dtype: DType): Storage {
    return this.pool.acquire(size * bytesPerElement(dtype));
  }

  upload(data: ArrayLike<number>, dtype: DType): Storage {
    const bytes = data.length * bytesPerElement(dtype);
    const buf = this.pool.acquire(bytes);
    // A pooled buffer may still be read by queued dispatches, so copy through the queue in order:
    // flush what is queued, then write (queue.writeBuffer lands after earlier submissions).
    if (this.pending) this.flush();
    let host: ArrayBufferView;
    if (dtype === "f16") {
      const h = new Uint16Array(data.length + (data.length & 1));
      for (let i = 0; i < data.length; i++) h[i] = f16Bits(data[i]);
      host = h;
    } else if (dtype === "i32") {
      host = data instanceof Int32Array ? data : Int32Array.from(data);
    } else {
      host = data instanceof Float32Array ? data : Float32Array.from(data);
    }
    const padded = Math.ceil(host.byteLength / 4) * 4;
    if (padded > 0) this.device.queue.writeBuffer(buf, 0, host.buffer, host.byteOffset, padded);
    return buf;
  }

  release(storage: Storage): void {
    this.pool.release(storage as GPUBuffer);
  }

  /** Returns a cached compute pipeline for `key`, compiling `code()` on first use. */
  pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: code(), label: key });
      p = this.device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
        label: key,
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /**
   * Encodes one dispatch. Storage buffers bind at 0..n-1 in order, the uniform block (if any) at n.
   */
  dispatch(
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    uniform: Params | null,
    workgroups: [number, number?, number?],
  ): void {
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    const [x, y = 1, z = 1] = workgroups;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new DeviceError(
        `webgpu: dispatch of ${x}×${y}×${z} workgroups exceeds the per-dimension limit ${maxWg}`,
      );
    }
    if (x === 0 || y === 0 || z === 0) return;
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, binding) => ({
      binding,
      resource: { buffer },
    }));
    if (uniform) {
      const bytes = uniform.bytes();
      const align = this.limits.minUniformBufferOffsetAlignment;
      if (this.uniformOffset + bytes.byteLength > UNIFORM_RING_BYTES) this.flush();
      this.device.queue.writeBuffer(
        this.uniforms,
        this.uniformOffset,
        bytes.buffer,
        bytes.byteOffset,
        bytes.byteLength,
      );
      entries.push({
        binding: buffers.length,
        resource: { buffer: this.uniforms, offset: this.uniformOffset, size: bytes.byteLength },
      });
      this.uniformOffset += Math.ceil(bytes.byteLength / align) * align;
    }
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    if (++this.pending >= MAX_PENDING_DISPATCHES) this.flush();
  }

  /** Splits `count` invocations of `wgSize` threads into an x×y grid within the per-dimension limit. */
  grid(count: number, wgSize: number): [number, number] {
    const groups = Math.ceil(count / wgSize);
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= maxWg) return [groups, 1];
    const y = Math.ceil(groups / maxWg);
    return [Math.ceil(groups / y), y];
  }

  exec(name: string, inputs: View[], outputs: View[], attrs: unknown): void {
    this.checkHealthy(name);
    const kernel = (gpuKernels as Record<string, GpuKernel | undefined>)[name];
    if (!kernel) throw new DeviceError(`webgpu: no kernel for op "${name}"`);
    kernel(this, inputs as GpuView[], outputs as GpuView[], attrs as never);
  }

  flush(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.stats.submits++;
    }
    this.pending = 0;
    this.uniformOffset = 0;
  }

  async read(view: View): Promise<Float32Array | Int32Array> {
    this.checkHealthy("read");
    const bytes = Math.ceil((view.size * bytesPerElement(view.dtype)) / 4) * 4;
    if (bytes === 0) return view.dtype === "i32" ? new Int32Array(0) : new Float32Array(0);
    const staging = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(view.storage as GPUBuffer, 0, staging, 0, bytes);
    this.flush();
    try {
      await Promise.race([staging.mapAsync(GPUMapMode.READ), this.lost]);
    } catch (err) {
      staging.destroy();
      if (err instanceof DeviceLostError) throw err;
      this.checkHealthy("read");
      throw new DeviceError(`webgpu: reading a tensor back failed (${(err as Error).message})`);
    }
    const raw = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    this.checkHealthy("read");
    if (view.dtype === "i32") return new Int32Array(raw, 0, view.size);
    if (view.dtype === "f32") return new Float32Array(raw, 0, view.size);
    return decodeF16Array(new Uint16Array(raw, 0, view.size), new Float32Array(view.size));
  }

  async sync(): Promise<void> {
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lost]);
    this.checkHealthy("sync");
  }

  destroy(): void {
    this.flush();
    this.pool.trim();
    this.device.destroy();
  }
}

function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export async function createWebGpuBackend(options: DeviceOptions): Promise<WebGpuBackend> {
  const opened = await openGpu({ f16: options.f16, powerPreference: options.powerPreference });
  const limit = options.memoryLimitBytes ?? Number.POSITIVE_INFINITY;
  if (!(limit > 0)) throw new DeviceError(`webgpu: memoryLimitBytes must be > 0, got ${limit}`);
  return new WebGpuBackend(opened.device, opened.features, opened.adapterInfo, limit);
}
