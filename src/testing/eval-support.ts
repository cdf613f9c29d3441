/**
 * Test support for the evaluator's tests: the pass check every clip that must pass goes through,
 * the tracks of a painted clip on a plain stage (sky above, ground below row GROUND_Y), and
 * objects erased by painting the bare stage over them.
 */
import assert from "node:assert/strict";
import type { Video } from "../media/video.ts";
import type { EvalReport } from "../world/eval/evaluate.ts";
import { segmentFrame } from "../world/eval/segment.ts";
import { formatSummary } from "../world/eval/summary.ts";
import { type Canvas, paintVideo } from "../world/eval/synthetic.ts";
import { trackDetections } from "../world/eval/track.ts";

export const SKY = [135, 190, 235] as const;
export const GROUND = [110, 150, 80] as const;
export const GROUND_Y = 56;

/** Every score the verdict needs, present and at the mark: a missing score is a failure. */
export function assertPasses(
  r: EvalReport,
  what: string,
  needed: (keyof EvalReport["scores"])[],
): void {
  const text = `${what}: ${JSON.stringify(r.scores)}\n${formatSummary(r)}`;
  for (const name of needed) {
    const value = r.scores[name];
    assert.ok(value !== null, `${name} missing for ${text}`);
    assert.ok(value >= 0.9, `${name} ${value} < 0.9 for ${text}`);
  }
  assert.ok(r.verdict.pass, `verdict for ${text}`);
}

/** A 64×64 painted clip on the plain stage, and its tracks (12 m/s at 16 px/m and 24 fps). */
export function paintedTracks(
  draw: (c: Canvas, i: number, t: number) => void,
  frames = 48,
  fps = 24,
) {
  const video = paintVideo(64, 64, fps, frames, (c, i, t) => {
    c.fillScene(SKY, GROUND, GROUND_Y);
    draw(c, i, t);
  });
  const dets = video.frames.map((f) => segmentFrame(f, 64, 64).detections);
  return { video, tracks: trackDetections(dets, { maxSpeed: 8 }) };
}

/**
 * Paints columns [x0, x1) from row y0 down (to row `below`, not included, or to the bottom) with
 * the bare stage, from frame `from` on.
 */
export function erase(
  video: Video,
  bare: Video,
  from: number,
  box: (frame: number) => [number, number, number],
  below: (frame: number) => number = () => video.height,
): Video {
  const frames = video.frames.map((frame, i) => {
    if (i < from) return frame;
    const out = frame.slice();
    const [x0, x1, y0] = box(i);
    for (let y = Math.max(0, y0); y < Math.min(video.height, below(i)); y++) {
      for (let x = Math.max(0, x0); x < Math.min(video.width, x1); x++) {
        const o = (y * video.width + x) * 3;
        out.set(bare.frames[i].subarray(o, o + 3), o);
      }
    }
    return out;
  });
  return { ...video, frames };
}
