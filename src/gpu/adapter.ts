/**
 * Finds a WebGPU implementation (navigator.gpu in browsers, Dawn from the `webgpu` package in
 * Node.js), picks an adapter and opens a device with the features the kernels can use.
 */
import { DeviceError } from "../tensor/errors.ts";

/** Dawn toggles that expose f16 and subgroup matrices on NVIDIA's Vulkan driver (tensor cores). */
export const DAWN_F16_TOGGLES =
  "enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia";

export interface OpenedGpu {
  device: GPUDevice;
  adapterInfo: GPUAdapterInfo;
  features: Set<string>;
  f16: boolean;
}

export interface OpenOptions {
  f16?: boolean;
  powerPreference?: "high-performance" | "low-power";
}

/**
 * Dawn instances by toggle set. Each is kept for the life of the process: dropping one while
 * devices made from it are alive lets the garbage collector tear it down under them (a hang).
 */
const nodeGpus = new Map<boolean, GPU>();

async function findGpu(wantF16: boolean): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const cached = nodeGpus.get(wantF16);
  if (cached) return cached;
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import("webgpu")) as unknown as typeof mod;
  } catch (err) {
    throw new DeviceError(
      `webgpu: no navigator.gpu and the "webgpu" package could not be loaded (${(err as Error).message})`,
    );
  }
  // GPUBufferUsage and friends are globals in browsers; Dawn's package provides them.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const gpu = mod.create(wantF16 ? [DAWN_F16_TOGGLES] : []);
  nodeGpus.set(wantF16, gpu);
  return gpu;
}

export async function openGpu(options: OpenOptions = {}): Promise<OpenedGpu> {
  const wantF16 = options.f16 ?? true;
  const gpu = await findGpu(wantF16);
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? "high-performance",
  });
  if (!adapter)
    throw new DeviceError(
      "webgpu: no adapter found (no GPU, and no software Vulkan such as Mesa lavapipe)",
    );
  const wanted: string[] = ["timestamp-query", "subgroups"];
  if (wantF16) wanted.push("shader-f16", "chromium-experimental-subgroup-matrix");
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const lim = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
      maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: lim.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
    },
  });
  const features = new Set<string>(requiredFeatures);
  if (features.has("chromium-experimental-subgroup-matrix")) features.add("subgroup-matrix");
  return { device, adapterInfo: adapter.info, features, f16: features.has("shader-f16") };
}
