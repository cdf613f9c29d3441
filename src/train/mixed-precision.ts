/**
 * The mixed-precision policy: master weights and optimiser state stay f32; a forward pass computes
 * in f16 where the device has it (weights cast to f16 for the pass, activations f16, kernels
 * accumulating in f32), with dynamic loss scaling so that small f16 gradients survive. Devices
 * without f16 run the same code in f32 (and need no loss scaling).
 */
import type { Device } from "../tensor/device.ts";
import { DeviceError } from "../tensor/errors.ts";

export type ComputeDType = "f32" | "f16";

export interface PrecisionPolicy {
  /** dtype of activations and of the per-pass copies of the weights. */
  compute: ComputeDType;
  /** dtype of master weights, gradients reaching them, and optimiser state. */
  master: "f32";
  /** Whether the loss is scaled dynamically (only with f16 compute). */
  lossScaling: boolean;
  /** Why this policy was chosen, for logs. */
  reason: string;
}

/**
 * Chooses the compute dtype for `device`: `prefer` ("f16" by default) when the device supports
 * it, otherwise f32.
 */
export function choosePrecision(device: Device, prefer: ComputeDType = "f16"): PrecisionPolicy {
  if (prefer !== "f16" && prefer !== "f32")
    throw new DeviceError(`choosePrecision: prefer must be "f16" or "f32", got "${prefer}"`);
  if (prefer === "f16" && device.supportsF16) {
    return {
      compute: "f16",
      master: "f32",
      lossScaling: true,
      reason: `${device.kind} supports f16: f16 compute, f32 master weights, dynamic loss scaling`,
    };
  }
  return {
    compute: "f32",
    master: "f32",
    lossScaling: false,
    reason:
      prefer === "f16" ? `${device.kind} has no f16: f32 compute` : "f32 requested: f32 compute",
  };
}
