/**
 * Random known-frame masks for training, so that one model learns text-to-video and, with the
 * same weights, image-to-video, extension both ways and connecting two clips. A mask marks
 * whole latent frames as given; the model sees them clean in its extra input channels and is
 * not scored on them.
 */
import type { Device } from "../tensor/device.ts";
import { mul } from "../tensor/ops/elementwise.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";

export type MaskKind = "none" | "first" | "first-k" | "last-k" | "first-last";

/** How often each kind is drawn (none most of the time). */
export const MASK_WEIGHTS: Record<MaskKind, number> = {
  none: 0.6,
  first: 0.15,
  "first-k": 0.1,
  "last-k": 0.05,
  "first-last": 0.1,
};

/**
 * Per latent frame, 1 where known, for `batch` samples of `frames` latent frames ([B·T] row
 * major). Never marks every frame of a sample: a one-frame latent is always unmasked.
 */
export function drawFrameMasks(rng: Rng, batch: number, frames: number): Float32Array {
  const out = new Float32Array(batch * frames);
  const kinds = Object.keys(MASK_WEIGHTS) as MaskKind[];
  for (let b = 0; b < batch; b++) {
    let r = rng.next();
    let kind: MaskKind = "none";
    for (const k of kinds) {
      r -= MASK_WEIGHTS[k];
      if (r < 0) {
        kind = k;
        break;
      }
    }
    if (frames < 2 || (kind === "first-last" && frames < 3)) kind = "none";
    const row = out.subarray(b * frames, (b + 1) * frames);
    const k = frames > 2 ? rng.int(1, frames - 2) : 1;
    if (kind === "first") row[0] = 1;
    else if (kind === "first-k") row.fill(1, 0, k);
    else if (kind === "last-k") row.fill(1, frames - k);
    else if (kind === "first-last") {
      row[0] = 1;
      row[frames - 1] = 1;
    }
  }
  return out;
}

export interface KnownFrameTensors {
  /** [B, 1, T, H, W] */
  mask: Tensor;
  /** [B, C, T, H, W] = x0·mask */
  clean: Tensor;
  /** [B, 1, T, 1, 1] = 1 − mask, the loss weight. */
  weight: Tensor;
}

/** Uploads per-frame masks for latents x0 [B, C, T, H, W]. */
export function knownFrameTensors(
  device: Device,
  perFrame: Float32Array,
  x0: Tensor,
): KnownFrameTensors {
  const [b, , t, h, w] = x0.shape;
  if (perFrame.length !== b * t)
    throw new Error(
      `knownFrameTensors: ${perFrame.length} mask values for ${b}×${t} latent frames`,
    );
  const full = new Float32Array(b * t * h * w);
  for (let i = 0; i < b * t; i++) full.fill(perFrame[i], i * h * w, (i + 1) * h * w);
  const mask = device.tensor(full, [b, 1, t, h, w]);
  const weight = device.tensor(
    perFrame.map((m) => 1 - m),
    [b, 1, t, 1, 1],
  );
  return { mask, clean: mul(x0, mask), weight };
}
