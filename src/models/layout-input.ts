/**
 * The first-frame layout (src/world/start-layout.ts) as extra input channels of the diffusion
 * transformer, at latent frame 0 (the first frame alone, as the autoencoder encodes it) and
 * zeros in every later latent frame: [B, n, T, h, w] holding occupancy and the three colour
 * channels (× LAYOUT_SCALE), then, as the model's config asks, the starting velocity's two
 * (startMotion), the objects' marks (startMarks: one per object at its centre: the count, the
 * place in the cell, the shape, the size), the plan flag (planFlag: LAYOUT_SCALE in every cell
 * of latent frame 0 of a planned clip) and the restitution (startBounce). The parts come in
 * the order they were added to the project, so that a trained model grown to read a newer one
 * (`train dit --transfer`) gains its projection's columns last (src/models/grow.ts). A clip
 * without a layout (a dropped one in training, a user's own footage, a mode that gives none) is
 * all zeros, which the model is trained to read as "no plan"; without the flag, a planned
 * clip's empty cells read the same.
 */
import { ShapeError } from "../tensor/errors.ts";
import { MARK_CHANNELS, type StartLayout } from "../world/start-layout.ts";
import type { DitConfig } from "./config.ts";

/** Occupancy, then R, G, B times occupancy. */
export const LAYOUT_CHANNELS = 4;
/** Then x and y starting velocity times occupancy (a model with startMotion). */
export const MOTION_CHANNELS = 2;

/** Then the objects' marks (a model with startMarks, which also has startMotion). */
export { MARK_CHANNELS };

/** Last the restitution times occupancy (a model with startBounce), one channel. */
export const BOUNCE_CHANNELS = 1;

/** Which parts of the layout a model reads, after occupancy and colour (its DiT config's flags). */
export type LayoutParts = Pick<
  DitConfig,
  "startMotion" | "startMarks" | "startBounce" | "planFlag"
>;

/** The layout channels a model reading these parts takes. */
function partsChannelCount(parts: LayoutParts): number {
  if (parts.startMarks && !parts.startMotion)
    throw new ShapeError("layoutChannelCount: startMarks needs startMotion (the marks follow it)");
  return (
    LAYOUT_CHANNELS +
    (parts.startMotion ? MOTION_CHANNELS : 0) +
    (parts.startMarks ? MARK_CHANNELS : 0) +
    (parts.planFlag ? 1 : 0) +
    (parts.startBounce ? BOUNCE_CHANNELS : 0)
  );
}

/** The layout channels a DiT of this config takes (0 without startLayout). */
export function layoutChannelCount(cfg: LayoutParts & Pick<DitConfig, "startLayout">): number {
  return cfg.startLayout ? partsChannelCount(cfg) : 0;
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
 * The marks are whole numbers and places of order 1 already (a mark reads 1 where the coverage
 * of a 5-pixel object in a cell reads 0.4 at most), so they go in as they are.
 */
export const MARK_SCALE = 1;

/**
 * Layout channels [B, n, T, h, w] (row-major) for a latent of T frames of h × w cells, with the
 * parts a model of `parts` reads (its DiT config): n = layoutChannelCount of it.
 */
export function layoutChannels(
  layouts: readonly (StartLayout | null)[],
  t: number,
  h: number,
  w: number,
  parts: LayoutParts = {},
): Float32Array {
  const n = partsChannelCount(parts);
  const cells = h * w;
  const out = new Float32Array(layouts.length * n * t * cells);
  layouts.forEach((layout, b) => {
    if (!layout) return;
    if (layout.rows !== h || layout.cols !== w)
      throw new ShapeError(
        `layoutChannels: clip ${b}'s layout is ${layout.cols}×${layout.rows} cells, the latent ${w}×${h}`,
      );
    // Channel k of clip b starts at ((b·n + k)·T + 0)·cells: latent frame 0; the parts in order.
    let k = 0;
    const put = (values: Float32Array, channels: number, scale = LAYOUT_SCALE) => {
      for (let c = 0; c < channels; c++, k++) {
        const at = (b * n + k) * t * cells;
        for (let i = 0; i < cells; i++) out[at + i] = scale * values[c * cells + i];
      }
    };
    put(layout.occupancy, 1);
    put(layout.color, 3);
    if (parts.startMotion) put(layout.motion, MOTION_CHANNELS);
    if (parts.startMarks) put(layout.marks, MARK_CHANNELS, MARK_SCALE);
    if (parts.planFlag) put(new Float32Array(cells).fill(1), 1);
    if (parts.startBounce) put(layout.bounce, BOUNCE_CHANNELS);
  });
  return out;
}
