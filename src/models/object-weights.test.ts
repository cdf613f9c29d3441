import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { latentObjectWeights, objectWeights } from "./object-weights.ts";

describe("objectWeights", () => {
  it("weighs object boxes (grown by a pixel) 1 + extra against 1, with mean 1", () => {
    // One clip, two frames of 4×6: a box on frame 0, none on frame 1.
    const w = objectWeights([[[[2, 1, 3, 2]], []]], 2, 4, 6, 8);
    assert.equal(w.length, 2 * 4 * 6);
    const inside = new Set<number>();
    for (let i = 0; i <= 2; i++) for (let j = 1; j <= 3; j++) inside.add(i * 6 + j);
    const hi = w[inside.values().next().value as number];
    const lo = w[5];
    assert.ok(Math.abs(hi / lo - 9) < 1e-5, `ratio ${hi / lo}`);
    for (let p = 0; p < 24; p++) assert.equal(w[p], inside.has(p) ? hi : lo, `pixel ${p}`);
    for (let p = 24; p < 48; p++) assert.equal(w[p], lo, "frame 1 has no object");
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    assert.ok(Math.abs(mean - 1) < 1e-6);
    assert.throws(() => objectWeights([[[]]], 2, 4, 6, 8), /boxes for 1 frames, not 2/);
  });
});

describe("latentObjectWeights", () => {
  it("weighs the latent cells an object's box meets in the frames each latent frame encodes", () => {
    // One clip of 5 frames, 16×24 px, 8× in space and 4× in time: a 2×3 grid, latent frames
    // {0} and {1, 2, 3, 4}. Frame 0: a box inside cell (0, 0). Frame 3: a box across cells (1, 1)
    // and (1, 2). Frame 4: a thin box at x 15–15.5 in cell (0, 1),
    // whose grown pixel reaches cell (0, 2).
    const boxes = [[[[2, 2, 5, 5]], [], [], [[9, 10, 18, 14]], [[15, 1, 15.5, 3]]]];
    const w = latentObjectWeights(boxes, 5, 16, 24, { down: 8, temporalDown: 4 }, 4);
    assert.equal(w.length, 2 * 2 * 3);
    const hi = Math.max(...w);
    const lo = Math.min(...w);
    assert.ok(Math.abs(hi / lo - 5) < 1e-5, `ratio ${hi / lo}`);
    const on = new Set([0, 6 + 3 + 1, 6 + 3 + 2, 6 + 0 + 1, 6 + 0 + 2]);
    for (let c = 0; c < w.length; c++) assert.equal(w[c], on.has(c) ? hi : lo, `cell ${c}`);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    assert.ok(Math.abs(mean - 1) < 1e-6);
    assert.throws(
      () => latentObjectWeights([[[]]], 2, 16, 24, { down: 8, temporalDown: 4 }, 4),
      /not a whole latent/,
    );
    assert.throws(
      () => latentObjectWeights([[[]]], 5, 16, 24, { down: 8, temporalDown: 4 }, 4),
      /boxes for 1 frames, not 5/,
    );
  });
});
