/** Plugs the WebGPU backend into the tensor package (Dawn loads only when a device is made). */
import { registerBackend } from "../tensor/device.ts";

registerBackend("webgpu", async (options) =>
  (await import("./backend.ts")).createWebGpuBackend(options),
);
