import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ShapeError } from "../tensor/errors.ts";
import { sampleScene } from "../world/sample.ts";
import { simulate } from "../world/simulate.ts";
import { startLayout } from "../world/start-layout.ts";
import { makeScene } from "../world/test-scenes.ts";
import { LAYOUT_SCALE } from "./layout-input.ts";
import { TRAJECTORY_CHANNELS, trajectoryTargets } from "./trajectory-target.ts";

const GRID = { down: 8, temporalDown: 2 };
const [W, H, FRAMES, LT, CELLS] = [64, 64, 17, 9, 64];

/** Channel k of latent frame j of clip 0 in targets [1, 3, LT, 8, 8]. */
const plane = (v: Float32Array, k: number, j: number) =>
  v.subarray((k * LT + j) * CELLS, (k * LT + j + 1) * CELLS);
const sum = (a: Float32Array) => a.reduce((s, x) => s + x, 0);
/** The occupancy-weighted mean row of a plane (cell rows, 0 at the top). */
const meanRow = (occ: Float32Array) => {
  let [s, n] = [0, 0];
  occ.forEach((v, i) => {
    s += v * Math.floor(i / 8);
    n += v;
  });
  return s / n;
};

function clip(scene: ReturnType<typeof makeScene>) {
  return simulate(scene, { width: W, height: H, fps: 8, seconds: FRAMES / 8 }).truth;
}

describe("trajectory targets", () => {
  it("follow a dropped ball down to the floor, with its downward speed, latent frame by frame", () => {
    // A heavy ball let go 2.5 m up: it lands in about 0.7 s (frame 5 or 6) and stays down.
    const scene = makeScene([{ x: 0, y: 2.5, size: "large", material: "heavy" }]);
    const truth = clip(scene);
    const v = trajectoryTargets([truth], FRAMES, H, W, GRID);
    assert.equal(v.length, TRAJECTORY_CHANNELS * LT * CELLS);
    // Latent frame 0 is the first frame alone: exactly the start layout, scaled.
    const start = startLayout(scene, W, H, 8);
    plane(v, 0, 0).forEach((x, i) => {
      assert.ok(Math.abs(x - LAYOUT_SCALE * start.occupancy[i]) < 1e-5, `cell ${i}`);
    });
    // The ball goes down frame by frame while it falls, then stays at the floor.
    const rows = Array.from({ length: LT }, (_, j) => meanRow(plane(v, 0, j)));
    for (let j = 1; j < 3; j++) assert.ok(rows[j] > rows[j - 1] + 0.2, `falls: ${rows}`);
    assert.ok(rows[LT - 1] - rows[0] > 1.5, `ends 2 m (16 px) lower: ${rows}`);
    assert.ok(Math.abs(rows[LT - 1] - rows[LT - 2]) < 0.05, `at rest at the end: ${rows}`);
    // Falling (latent frames 1-2) it moves down the screen (y grows downward), not sideways; at
    // rest it does not move.
    for (const j of [1, 2]) {
      assert.ok(sum(plane(v, 2, j)) > 0.5, `downward speed in latent frame ${j}`);
      assert.ok(Math.abs(sum(plane(v, 1, j))) < 1e-3, `no sideways speed in latent frame ${j}`);
    }
    assert.ok(Math.abs(sum(plane(v, 2, LT - 1))) < 0.05, "still at the end");
    // The whole ball is in view throughout: the same area in every latent frame.
    const area = sum(plane(v, 0, 0));
    for (let j = 1; j < LT; j++)
      assert.ok(Math.abs(sum(plane(v, 0, j)) - area) < 0.1 * area, `area in latent frame ${j}`);
  });

  it("average the frames each latent frame encodes", () => {
    // A ball rolling right: latent frame 1 is the mean of frames 1 and 2's layouts.
    const scene = makeScene([{ x: -2, y: 0.5, vx: 3, motion: "rolled", size: "large" }]);
    const truth = clip(scene);
    const v = trajectoryTargets([truth], FRAMES, H, W, GRID);
    const one = (f: number) =>
      trajectoryTargets([{ scene, frames: [truth.frames[f]] }], 1, H, W, GRID).subarray(0, CELLS);
    const [f1, f2] = [one(1), one(2)];
    plane(v, 0, 1).forEach((x, i) => {
      assert.ok(Math.abs(x - (f1[i] + f2[i]) / 2) < 1e-5, `cell ${i}`);
    });
    assert.ok(sum(plane(v, 1, 1)) > 0.5, "moving right");
  });

  it("hold every clip of a batch in its own rows, and check the shapes", () => {
    const truths = [3, 4].map((seed) => clip(sampleScene(seed)));
    const both = trajectoryTargets(truths, FRAMES, H, W, GRID);
    const second = trajectoryTargets([truths[1]], FRAMES, H, W, GRID);
    assert.deepEqual(both.subarray(second.length), second);
    assert.throws(() => trajectoryTargets(truths, 16, H, W, GRID), ShapeError);
    assert.throws(() => trajectoryTargets(truths, 15, H, W, GRID), /truth for 17 frames, not 15/);
    assert.throws(() => trajectoryTargets(truths, FRAMES, H, 60, GRID), ShapeError);
  });
});
