/**
 * Devices with every backend the project ships: the CPU reference (built into src/tensor),
 * WebGPU (src/gpu) and the compiled ONNX Runtime path (src/compile). Applications, tests and
 * benchmarks create devices through this module; the tensor package itself knows none of the
 * backends beyond its reference.
 */
import "./gpu/register.ts";
import "./compile/register.ts";

export {
  createDevice,
  Device,
  type DeviceKind,
  type DeviceOptions,
  deviceKinds,
  registerBackend,
} from "./tensor/device.ts";
