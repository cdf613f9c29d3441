/**
 * Does a video really start with the reference clip it is evaluated against? The continuation
 * score compares the video's later frames with the simulator's own continuation of the
 * reference scene; a reference from another prompt, seed, size or frame rate would give a
 * meaningless score without a word. So the reference's size and frame rate must be the
 * video's, and its first frames, simulated again from its scene, must look like the video's
 * context frames.
 */
import type { Video } from "../media/video.ts";
import type { ClipTruth } from "../world/scene.ts";
import { simulate } from "../world/simulate.ts";

/** A pixel differs when a colour channel is off by more than this (codec noise stays well under). */
const PIXEL_DIFFERS = 48;

/**
 * Share of differing pixels, averaged over the context frames, above which the video does not
 * start with the reference. The world's objects are small, so a mean colour difference hides a
 * wrong scene; counting pixels that clearly differ does not. Measured (bench/NOTES.md, issue 12):
 * a clip against its own re-render, H.264 at crf 12 to 30 and 17 to 256 px, 0 to 0.36 %; against
 * the same prompt with another seed, or another motion of the same object, 1.2 % and more.
 */
export const CONTEXT_MISMATCH = 0.008;

/** Fraction of pixels of `a` and `b` (packed RGB) that differ clearly. */
export function differingShare(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 3) {
    const d = Math.max(
      Math.abs(a[i] - b[i]),
      Math.abs(a[i + 1] - b[i + 1]),
      Math.abs(a[i + 2] - b[i + 2]),
    );
    if (d > PIXEL_DIFFERS) n++;
  }
  return n / (a.length / 3);
}

export function checkReference(
  video: Video,
  state: ClipTruth,
  contextFrames: number,
  videoPath: string,
  refPath: string,
): void {
  const what = `--reference ${refPath} does not belong to ${videoPath}`;
  if (state.width !== video.width || state.height !== video.height) {
    throw new Error(
      `${what}: the reference is ${state.width}×${state.height}, the video ${video.width}×${video.height}`,
    );
  }
  if (Math.abs(state.fps - video.fps) > 0.01 * state.fps) {
    throw new Error(`${what}: the reference is ${state.fps} fps, the video ${video.fps} fps`);
  }
  if (contextFrames > video.frames.length) {
    throw new Error(
      `--context-frames ${contextFrames} is more than the ${video.frames.length} frames of ${videoPath}`,
    );
  }
  if (contextFrames > state.frames.length) {
    throw new Error(
      `--context-frames ${contextFrames} is more than the ${state.frames.length} frames of the reference ${refPath}`,
    );
  }
  const { video: again } = simulate(state.scene, {
    width: state.width,
    height: state.height,
    fps: state.fps,
    seconds: contextFrames / state.fps,
  });
  let total = 0;
  const n = Math.min(contextFrames, again.frames.length);
  for (let f = 0; f < n; f++) total += differingShare(again.frames[f], video.frames[f]);
  const share = total / n;
  if (share > CONTEXT_MISMATCH) {
    throw new Error(
      `${what}: in its first ${n} frames ${(share * 100).toFixed(1)} % of the pixels differ from the reference scene (a copy differs in under ${CONTEXT_MISMATCH * 100} %); it shows another clip`,
    );
  }
}
