/**
 * Test support for the evaluator's tests: the pass check every clip that must pass goes through,
 * and the tracks of a painted clip on a plain stage (sky above, ground below row GROUND_Y).
 */
import assert from "node:assert/strict";
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
