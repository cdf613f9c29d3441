/**
 * The first-frame layout (src/world/start-layout.ts) as extra input channels of the diffusion
 * transformer: [B, 4, T, h, w] holding occupancy and the three colour channels at latent frame 0
 * (the first frame alone, as the autoencoder encodes it) and zeros in every later latent frame.
 * A clip without a layout (a dropped one in training, a user's own footage, a mode that gives
 * none) is all zeros, which the model is trained to read as "no plan".
 */
import { ShapeError } from "../tensor/errors.ts";
import type { StartLayout } from "../world/start-layout.ts";

/** Occupancy, then R, G, B times occupancy. */
export const LAYOUT_CHANNELS = 4;

/** Layout channels [B, 4, T, h, w] (row-major) for a latent of T frames of h × w cells. */
export function layoutChannels(
  layouts: readonly (StartLayout | null)[],
  t: number,
  h: number,
  w: number,
): Float32Array {
  const cells = h * w;
  const out = new Float32Array(layouts.length * LAYOUT_CHANNELS * t * cells);
  layouts.forEach((layout, b) => {
    if (!layout) return;
    if (layout.rows !== h || layout.cols !== w)
      throw new ShapeError(
        `layoutChannels: clip ${b}'s layout is ${layout.cols}×${layout.rows} cells, the latent ${w}×${h}`,
      );
    // Channel k of clip b starts at ((b·4 + k)·T + 0)·cells: latent frame 0.
    out.set(layout.occupancy, b * LAYOUT_CHANNELS * t * cells);
    for (let k = 0; k < 3; k++)
      out.set(
        layout.color.subarray(k * cells, (k + 1) * cells),
        (b * LAYOUT_CHANNELS + 1 + k) * t * cells,
      );
  });
  return out;
}
