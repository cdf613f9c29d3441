/**
 * The first-frame layout (src/world/start-layout.ts) as extra input channels of the diffusion
 * transformer: [B, 4, T, h, w] holding occupancy and the three colour channels (× LAYOUT_SCALE),
 * [B, 6, T, h, w] with the starting velocity's two after them for a model with startMotion,
 * [B, 13, T, h, w] with the objects' marks (one per object at its centre: the count, the place in
 * the cell, the shape, the size) after those for a model with startMarks, at latent frame 0
 * (the first frame alone, as the autoencoder encodes it) and zeros in every later latent frame;
 * a model with planFlag takes one channel more after any of these, LAYOUT_SCALE in every cell of
 * latent frame 0 of a planned clip. A clip without a layout (a dropped one in training, a user's
 * own footage, a mode that gives none) is all zeros, which the model is trained to read as "no
 * plan"; without the flag, a planned clip's empty cells read the same.
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

/**
 * The channel counts a layout comes in: plain, with the motion, with the motion and marks; each
 * one more with the plan flag.
 */
const LAYOUT_SIZES = [
  LAYOUT_CHANNELS,
  LAYOUT_CHANNELS + MOTION_CHANNELS,
  LAYOUT_CHANNELS + MOTION_CHANNELS + MARK_CHANNELS,
];

/** The layout channels a DiT of this config takes (0 without startLayout). */
export function layoutChannelCount(
  cfg: Pick<DitConfig, "startLayout" | "startMotion" | "startMarks" | "planFlag">,
): number {
  if (!cfg.startLayout) return 0;
  if (cfg.startMarks && !cfg.startMotion)
    throw new ShapeError("layoutChannelCount: startMarks needs startMotion (the marks follow it)");
  return (
    LAYOUT_CHANNELS +
    (cfg.startMotion ? MOTION_CHANNELS : 0) +
    (cfg.startMarks ? MARK_CHANNELS : 0) +
    (cfg.planFlag ? 1 : 0)
  );
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
 * Layout channels [B, n, T, h, w] (row-major) for a latent of T frames of h × w cells: n = 4
 * (occupancy and colour), 6 (and the starting velocity) or 13 (and the marks), or one more of
 * any of these for the plan flag last.
 */
export function layoutChannels(
  layouts: readonly (StartLayout | null)[],
  t: number,
  h: number,
  w: number,
  n: number = LAYOUT_CHANNELS,
): Float32Array {
  const flagged = !LAYOUT_SIZES.includes(n) && LAYOUT_SIZES.includes(n - 1);
  if (!LAYOUT_SIZES.includes(n) && !flagged)
    throw new ShapeError(
      `layoutChannels: ${n} channels; a layout has 4, 6 with its motion or 13 with its marks, or one more with the plan flag`,
    );
  const planned = flagged ? n - 1 : n; // the channels before the flag
  const cells = h * w;
  const out = new Float32Array(layouts.length * n * t * cells);
  layouts.forEach((layout, b) => {
    if (!layout) return;
    if (layout.rows !== h || layout.cols !== w)
      throw new ShapeError(
        `layoutChannels: clip ${b}'s layout is ${layout.cols}×${layout.rows} cells, the latent ${w}×${h}`,
      );
    // Channel k of clip b starts at ((b·n + k)·T + 0)·cells: latent frame 0.
    const put = (values: Float32Array, k: number, scale = LAYOUT_SCALE) => {
      const at = (b * n + k) * t * cells;
      for (let i = 0; i < cells; i++) out[at + i] = scale * values[i];
    };
    put(layout.occupancy, 0);
    for (let k = 0; k < 3; k++) put(layout.color.subarray(k * cells, (k + 1) * cells), 1 + k);
    if (planned > LAYOUT_CHANNELS)
      for (let k = 0; k < MOTION_CHANNELS; k++)
        put(layout.motion.subarray(k * cells, (k + 1) * cells), LAYOUT_CHANNELS + k);
    if (planned > LAYOUT_CHANNELS + MOTION_CHANNELS)
      for (let k = 0; k < MARK_CHANNELS; k++)
        put(
          layout.marks.subarray(k * cells, (k + 1) * cells),
          LAYOUT_CHANNELS + MOTION_CHANNELS + k,
          MARK_SCALE,
        );
    if (flagged) put(new Float32Array(cells).fill(1), planned);
  });
  return out;
}
