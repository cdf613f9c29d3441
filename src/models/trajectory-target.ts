/**
 * What the diffusion transformer's trajectory head learns to predict (`dit.trajectoryWeight`):
 * where the clip's objects are in every latent frame and how they move, as the layout of
 * src/world/start-layout.ts has it for the first frame: per latent cell, the objects' occupancy
 * and their velocity on the screen times the occupancy, from the world's ground truth.
 *
 * Why: the transformer draws an object's first frame where the plan puts it, and then, for a
 * drop, stops it in the air after four frames and lets it hover (a 2.5 m drop lands at frame 5 in
 * the world; the model's stops about 7 pixels above the floor), or draws it again at the end of
 * its path with nothing between (a roll becomes a jump). Its only loss is on the latent's pixels,
 * where a small object's path is a few percent of the cells. A second head that must say where
 * every object is at every latent frame, from the same features and at every noise level (at high
 * noise from the caption and the first frame's plan alone), asks the network to represent the
 * motion itself, as VideoJAM (Chefer et al. 2025) trains a video model to predict the motion
 * beside the pixels. The head is used in training only: sampling reads the velocity head alone.
 */
import { ShapeError } from "../tensor/errors.ts";
import type { ClipTruth } from "../world/scene.ts";
import { layoutAt } from "../world/start-layout.ts";
import { LAYOUT_SCALE } from "./layout-input.ts";
import { latentFrameOf, latentGridOf } from "./object-weights.ts";

/** Occupancy, then x and y velocity on the screen times occupancy (MOTION_UNIT as the layout). */
export const TRAJECTORY_CHANNELS = 3;

/**
 * The targets [B, TRAJECTORY_CHANNELS, T', h, w] (row-major) for clips of `frames` frames of
 * height × width with their truths (scene and per-frame object states), on a latent of cells of
 * `down` pixels and `temporalDown` frames: latent frame 0 is frame 0 alone and latent frame
 * j > 0 the mean of frames r(j − 1) + 1 … rj's layouts, as the causal autoencoder encodes them.
 * Every value is × LAYOUT_SCALE, as the layout input's, so an object's cell reads about 1.
 */
export function trajectoryTargets(
  truths: readonly Pick<ClipTruth, "scene" | "frames">[],
  frames: number,
  height: number,
  width: number,
  grid: { down: number; temporalDown: number },
): Float32Array {
  const { down, temporalDown: r } = grid;
  const [lt, lh, lw] = latentGridOf("trajectoryTargets", frames, height, width, grid);
  const cells = lh * lw;
  const n = TRAJECTORY_CHANNELS;
  const out = new Float32Array(truths.length * n * lt * cells);
  truths.forEach((truth, b) => {
    if (truth.frames.length !== frames)
      throw new ShapeError(
        `trajectoryTargets: clip ${b} has truth for ${truth.frames.length} frames, not ${frames}`,
      );
    const { scene } = truth;
    truth.frames.forEach((frame, f) => {
      const j = latentFrameOf(f, r);
      const share = LAYOUT_SCALE / (j === 0 ? 1 : r);
      // The objects' poses in the scene's order (the truth lists them by id).
      const poses = scene.objects.map((o) => {
        const state = frame.objects.find((s) => s.id === o.id);
        if (!state)
          throw new Error(`trajectoryTargets: frame ${f} has no state for object ${o.id}`);
        return state;
      });
      const layout = layoutAt(scene, poses, frame.t, width, height, down);
      // Channel k of clip b, latent frame j starts at ((b·n + k)·T' + j)·cells.
      const put = (values: Float32Array, at: number, k: number) => {
        const base = ((b * n + k) * lt + j) * cells;
        for (let i = 0; i < cells; i++) out[base + i] += share * values[at * cells + i];
      };
      put(layout.occupancy, 0, 0);
      put(layout.motion, 0, 1);
      put(layout.motion, 1, 2);
    });
  });
  return out;
}
