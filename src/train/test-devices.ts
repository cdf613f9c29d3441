/** The distinct devices the training tests run on (the shared test devices, each once). */
import type { Device } from "../tensor/device.ts";
import { testDevices } from "../testing/op-check.ts";

export async function trainingDevices(): Promise<{ name: string; device: Device }[]> {
  const seen = new Set<Device>();
  const out: { name: string; device: Device }[] = [];
  for (const d of await testDevices()) {
    if (seen.has(d.device)) continue;
    seen.add(d.device);
    out.push({ name: d.device.kind, device: d.device });
  }
  return out;
}
