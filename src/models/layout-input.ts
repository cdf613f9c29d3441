/**
 * The first-frame layout (src/world/start-layout.ts) as extra input channels of the diffusion
 * transformer: [B, 4, T, h, w] holding occupancy and the three colour channels (× LAYOUT_SCALE),
 * [B, 6, T, h, w] with the starting velocity's two after them for a model with startMotion,
 * at latent frame 0
 * (the first frame alone, as the autoencoder encodes it) and zeros in every later latent frame.
 * A clip without a layout (a dropped one in training, a user's own footage, a mode that gives
 * none) is all zeros, which the model is trained to read as "no plan".
 */
import { ShapeError } from "../tensor/errors.ts";
import type { StartLayout } from "../world/start-layout.ts";
import type { DitConfig } from "./config.ts";

/** Occupancy, then R, G, B times occupancy. */
export const LAYOUT_CHANNELS = 4;
/** Then x and y starting velocity times occupancy (a model with startMotion). */
export const MOTION_CHANNELS = 2;

/** The layout channels a DiT of this config takes (0 without startLayout). */
export function layoutChannelCount(cfg: Pick<DitConfig, "startLayout" | "startMotion">): number {
  if (!cfg.startLayout) return 0;
  return LAYOUT_CHANNELS + (cfg.startMotion ? MOTION_CHANNELS : 0);
}

/**
 * Every channel is multiplied by this, so that a cell holding an object reads about 1, as the
 * unit-variance latent beside it does: objects are 4–8 pixels across, so they cover a tenth to a
 * half of an 8 × 8-pixel cell. With Adam each weight moves about the same amount per step
 * whatever its input's scale, so an input 4× smaller is learned 4× slower: in a first run at
 * scale 1, moving the layout's ball from left to right changed the velocity at t = 0.9 by 0.1%
 * after 1,000 steps (bench/caption-sensitivity.ts).
 */
export const LAYOUT_SCALE = 4;

/**
 * Layout channels [B, n, T, h, w] (row-major) for a latent of T frames of h × w cells: n = 4
 * (occupancy and colour) or 6 (and the starting velocity).
 */
export function layoutChannels(
  layouts: readonly (StartLayout | null)[],
  t: number,
  h: number,
  w: number,
  n: number = LAYOUT_CHANNELS,
): Float32Array {
  if (n !== LAYOUT_CHANNELS && n !== LAYOUT_CHANNELS + MOTION_CHANNELS)
    throw new ShapeError(`layoutChannels: ${n} channels; a layout has 4, or 6 with its motion`);
  const cells = h * w;
  const out = new Float32Array(layouts.length * n * t * cells);
  layouts.forEach((layout, b) => {
    if (!layout) return;
    if (layout.rows !== h || layout.cols !== w)
      throw new ShapeError(
        `layoutChannels: clip ${b}'s layout is ${layout.cols}×${layout.rows} cells, the latent ${w}×${h}`,
      );
    // Channel k of clip b starts at ((b·n + k)·T + 0)·cells: latent frame 0.
    const put = (values: Float32Array, k: number) => {
      const at = (b * n + k) * t * cells;
      for (let i = 0; i < cells; i++) out[at + i] = LAYOUT_SCALE * values[i];
    };
    put(layout.occupancy, 0);
    for (let k = 0; k < 3; k++) put(layout.color.subarray(k * cells, (k + 1) * cells), 1 + k);
    if (n > LAYOUT_CHANNELS)
      for (let k = 0; k < MOTION_CHANNELS; k++)
        put(layout.motion.subarray(k * cells, (k + 1) * cells), LAYOUT_CHANNELS + k);
  });
  return out;
}
