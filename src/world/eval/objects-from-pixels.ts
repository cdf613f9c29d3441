/**
 * The evaluator's first step, from pixels alone: segment every frame (allowing for as much colour
 * smear as the clip shows) and track what it finds, keeping the tracks seen for a while without a
 * break. evaluateVideo judges these; benches that need positions per frame use the same tracks.
 */
import type { Video } from "../../media/video.ts";
import { groundRow } from "../camera.ts";
import { GROUND_MARK_SHADE } from "../themes.ts";
import { segmentFrame } from "./segment.ts";
import { measureChromaSmear } from "./smear.ts";
import { sceneryColors, sceneryEdgeColors } from "./theme.ts";
import { type Track, trackDetections } from "./track.ts";

/** Fastest an object of the world plausibly moves (m/s): falls, throws and slides stay under 8 m/s. */
export const MAX_SPEED = 9;

/** `pixelsPerMetre`: the scene's scale on screen (the camera's, or a typical arena's). */
export function objectsFromPixels(video: Video, pixelsPerMetre: number) {
  const { width, height, fps, frames } = video;
  const chromaSmear = measureChromaSmear(frames, width, height).smear;
  const segOpts = {
    chromaSmear,
    sceneryColors: sceneryColors(),
    sceneryEdgeColors: sceneryEdgeColors(),
    shadowFromRow: Math.max(0, Math.floor(groundRow(height)) - 1),
    // A shadow may fall on one of the floor's darker marks (themes.ts).
    shadowDarkest: 0.3 * GROUND_MARK_SHADE,
  };
  const segs = frames.map((f) => segmentFrame(f, width, height, segOpts));
  // A zoom can magnify the top speed by a quarter more.
  const all = trackDetections(
    segs.map((s) => s.detections),
    { maxSpeed: (1.25 * MAX_SPEED * pixelsPerMetre) / fps },
  );
  // An object is seen for a while without a break; what only flickers is segmentation noise
  // (scenery edges blended into an object colour for a frame here and there).
  const minRun = Math.max(3, Math.round(0.15 * fps));
  const tracks = all.filter((t) => longestRun(t) >= minRun);
  return { chromaSmear, segs, all, tracks };
}

/** The most consecutive frames in which a track was detected. */
function longestRun(t: Track): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < t.obs.length; i++) {
    run = i > 0 && t.obs[i].frame === t.obs[i - 1].frame + 1 ? run + 1 : 1;
    best = Math.max(best, run);
  }
  return best;
}
