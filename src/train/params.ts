/** Checks shared by the training helpers on the lists of parameters they are given. */
import type { Device } from "../tensor/device.ts";
import { DeviceError, DTypeError } from "../tensor/errors.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** Validates a parameter list (non-empty, f32, requiresGrad, one device, no repeats); returns its device. */
export function checkParams(who: string, params: readonly Tensor[]): Device {
  if (!Array.isArray(params) || params.length === 0)
    throw new DeviceError(`${who}: needs a non-empty list of parameters`);
  const device = params[0].device;
  const seen = new Set<Tensor>();
  for (const p of params) {
    if (p.isDisposed) throw new DeviceError(`${who}: parameter ${p} was disposed`);
    if (!p.requiresGrad) throw new DeviceError(`${who}: parameter ${p} does not require grad`);
    if (p.dtype !== "f32")
      throw new DTypeError(`${who}: parameter ${p} must be f32 (master weights), got ${p.dtype}`);
    if (p.device !== device)
      throw new DeviceError(`${who}: parameters live on different devices (${p})`);
    if (seen.has(p)) throw new DeviceError(`${who}: parameter ${p} is listed twice`);
    seen.add(p);
  }
  return device;
}

/** Disposes every parameter's gradient (the next backward starts from zero). */
export function zeroGrad(params: readonly Tensor[]): void {
  for (const p of params) {
    if (p.grad) {
      p.grad.dispose();
      p.grad = null;
    }
  }
}
