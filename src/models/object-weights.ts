/**
 * Loss weights that lean toward the objects, from the world's ground-truth boxes: per pixel for
 * the autoencoder and per latent cell for the diffusion transformer. Objects cover a few percent
 * of a frame (5–10 px of 64), so a uniform loss learns the backgrounds first and the objects late
 * or never (issue 10: a first autoencoder run and a pixel-space DiT learned no objects at all).
 */
import { ShapeError } from "../tensor/errors.ts";

/** Per clip, per frame: the boxes [x0, y0, x1, y1] (pixels) of the objects in view. */
export type ClipBoxes = readonly (readonly (readonly number[])[])[];

/**
 * Per-pixel loss weights [B·T·H·W] for clips whose objects' boxes are known: 1 + `extra` inside
 * any object's bounding box (grown by one pixel, so edges and anti-aliased rims count), 1
 * elsewhere, then divided by their mean so that the loss keeps its scale whatever the objects'
 * share of the frame. `boxes[b][f]` lists frame f's boxes [x0, y0, x1, y1] in pixels.
 */
export function objectWeights(
  boxes: readonly ClipBoxes[],
  frames: number,
  height: number,
  width: number,
  extra: number,
): Float32Array {
  const out = new Float32Array(boxes.length * frames * height * width).fill(1);
  boxes.forEach((clip, b) => {
    if (clip.length !== frames)
      throw new ShapeError(
        `objectWeights: clip ${b} has boxes for ${clip.length} frames, not ${frames}`,
      );
    clip.forEach((frameBoxes, f) => {
      const base = (b * frames + f) * height * width;
      for (const [x0, y0, x1, y1] of frameBoxes) {
        const i0 = Math.max(0, Math.floor(y0) - 1);
        const i1 = Math.min(height, Math.ceil(y1) + 1);
        const j0 = Math.max(0, Math.floor(x0) - 1);
        const j1 = Math.min(width, Math.ceil(x1) + 1);
        for (let i = i0; i < i1; i++)
          out.fill(1 + extra, base + i * width + j0, base + i * width + Math.max(j0, j1));
      }
    });
  });
  return normaliseMean(out);
}

/**
 * Per-latent-cell loss weights [B·T'·h·w] for the diffusion transformer: 1 + `extra` on a cell
 * whose `down`×`down` pixel square meets an object's box (grown by a pixel) in any of the frames
 * its latent frame encodes, 1 elsewhere, divided by their mean. The latent is causal in time:
 * latent frame 0 encodes frame 0 alone and latent frame j > 0 frames r(j−1)+1 … rj.
 */
export function latentObjectWeights(
  boxes: readonly ClipBoxes[],
  frames: number,
  height: number,
  width: number,
  grid: { down: number; temporalDown: number },
  extra: number,
): Float32Array {
  const { down, temporalDown: r } = grid;
  const [lt, lh, lw] = latentGridOf("latentObjectWeights", frames, height, width, grid);
  const out = new Float32Array(boxes.length * lt * lh * lw).fill(1);
  boxes.forEach((clip, b) => {
    if (clip.length !== frames)
      throw new ShapeError(
        `latentObjectWeights: clip ${b} has boxes for ${clip.length} frames, not ${frames}`,
      );
    clip.forEach((frameBoxes, f) => {
      const base = (b * lt + latentFrameOf(f, r)) * lh * lw;
      for (const [x0, y0, x1, y1] of frameBoxes) {
        // Cells whose pixels [i·down, (i+1)·down) meet the grown box [y0 − 1, y1 + 1).
        const i0 = Math.max(0, Math.floor((y0 - 1) / down));
        const i1 = Math.min(lh, Math.ceil((y1 + 1) / down));
        const j0 = Math.max(0, Math.floor((x0 - 1) / down));
        const j1 = Math.min(lw, Math.ceil((x1 + 1) / down));
        for (let i = i0; i < i1; i++)
          out.fill(1 + extra, base + i * lw + j0, base + i * lw + Math.max(j0, j1));
      }
    });
  });
  return normaliseMean(out);
}

/** Divides by the mean, so that the weighted loss keeps its scale. */
function normaliseMean(out: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i];
  const mean = sum / out.length;
  for (let i = 0; i < out.length; i++) out[i] /= mean;
  return out;
}

/**
 * The latent grid [T', h, w] of a clip of `frames` frames at width × height, on a latent of cells
 * of `down` pixels and `temporalDown` frames (`who` names the caller when they do not divide).
 */
export function latentGridOf(
  who: string,
  frames: number,
  height: number,
  width: number,
  grid: { down: number; temporalDown: number },
): [number, number, number] {
  const { down, temporalDown: r } = grid;
  const lt = 1 + (frames - 1) / r;
  if (!Number.isInteger(lt) || height % down !== 0 || width % down !== 0)
    throw new ShapeError(
      `${who}: ${width}×${height}×${frames} is not a whole latent of ${down}× in space and ${r}× in time`,
    );
  return [lt, height / down, width / down];
}

/**
 * The latent frame that encodes frame f: the latent is causal in time, latent frame 0 encodes
 * frame 0 alone and latent frame j > 0 frames r(j−1)+1 … rj.
 */
export function latentFrameOf(f: number, temporalDown: number): number {
  return f === 0 ? 0 : Math.ceil(f / temporalDown);
}
