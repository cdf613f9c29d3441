import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sampleScene } from "./sample.ts";
import { OBJECT_COLORS, SHAPES } from "./scene.ts";
import { simulate } from "./simulate.ts";
import { MARK_CHANNELS, MOTION_UNIT, startLayout } from "./start-layout.ts";
import { makeScene } from "./test-scenes.ts";

const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);

describe("startLayout", () => {
  it("puts each object in the cells its first-frame pixels fall in, with its colour", () => {
    // A blue box on the left, a yellow box on the right, both in the air.
    const scene = makeScene([
      { x: -2.5, y: 2, shape: "box", color: "blue", size: "large" },
      { x: 2.5, y: 2, shape: "box", color: "yellow", size: "large" },
    ]);
    const layout = startLayout(scene, 64, 64, 8);
    assert.equal(layout.rows, 8);
    assert.equal(layout.cols, 8);
    const { truth, video } = simulate(scene, { width: 64, height: 64, fps: 8, seconds: 0.125 });
    const cell = (px: number, py: number) => Math.floor(py / 8) * 8 + Math.floor(px / 8);
    for (const o of truth.frames[0].objects) {
      const c = cell(o.px, o.py);
      assert.ok(layout.occupancy[c] > 0.2, `object ${o.id}'s centre cell is occupied`);
      // Colour over occupancy gives back the object's colour where only it is.
      const rgb = OBJECT_COLORS[scene.objects[o.id].color].map((v) => (v / 255) * 2 - 1);
      for (let k = 0; k < 3; k++) {
        const got = layout.color[k * 64 + c] / layout.occupancy[c];
        assert.ok(Math.abs(got - rgb[k]) < 1e-4, `channel ${k}: ${got} vs ${rgb[k]}`);
      }
    }
    // The covered area matches the rendered objects: pixels painted (nearly) in their colours.
    const frame = video.frames[0];
    let painted = 0;
    for (let p = 0; p < 64 * 64; p++)
      for (const name of ["blue", "yellow"] as const) {
        const [r, g, b] = OBJECT_COLORS[name];
        const d =
          Math.abs(frame[3 * p] - r) +
          Math.abs(frame[3 * p + 1] - g) +
          Math.abs(frame[3 * p + 2] - b);
        if (d < 120) painted++;
      }
    const area = sum(layout.occupancy) * 64;
    assert.ok(Math.abs(area - painted) <= 0.3 * painted, `area ${area} vs ${painted} pixels`);
    // Nothing in the left half's top row beyond the ball, nothing at all in the sky's far corners.
    assert.equal(layout.occupancy[0], 0);
    assert.equal(layout.occupancy[7], 0);
  });

  it("matches the simulation's first frame on sampled scenes", () => {
    for (let seed = 0; seed < 20; seed++) {
      const scene = sampleScene(seed);
      const layout = startLayout(scene, 64, 48, 8);
      const { truth } = simulate(scene, { width: 64, height: 48, fps: 8, seconds: 0.125 });
      // Every object the simulation sees at frame 0 has layout where its box is, none elsewhere.
      const boxes = truth.frames[0].objects.filter((o) => o.visible > 0).map((o) => o.bbox);
      for (let r = 0; r < layout.rows; r++)
        for (let c = 0; c < layout.cols; c++) {
          const touches = boxes.some(
            ([x0, y0, x1, y1]) => x1 > c * 8 && x0 < (c + 1) * 8 && y1 > r * 8 && y0 < (r + 1) * 8,
          );
          if (!touches) assert.equal(layout.occupancy[r * layout.cols + c], 0, `seed ${seed}`);
        }
      const seen = truth.frames[0].objects.reduce((s, o) => s + o.visible, 0);
      assert.equal(sum(layout.occupancy) > 0, seen > 0, `seed ${seed}: something is seen`);
    }
  });

  it("leaves out what a front occluder hides", () => {
    const ball = { x: 0, y: 0.4, size: "medium" as const };
    const open = startLayout(makeScene([ball]), 64, 64, 8);
    const hidden = startLayout(
      makeScene([ball], {
        occluders: [{ kind: "wall", x: 0, width: 2, height: 2, layer: "front" }],
      }),
      64,
      64,
      8,
    );
    const behind = startLayout(
      makeScene([ball], {
        occluders: [{ kind: "wall", x: 0, width: 2, height: 2, layer: "back" }],
      }),
      64,
      64,
      8,
    );
    assert.ok(sum(open.occupancy) > 0.3, `occupancy ${sum(open.occupancy)}`);
    assert.equal(sum(hidden.occupancy), 0);
    assert.deepEqual(behind.occupancy, open.occupancy);
  });

  it("holds each object's starting velocity on the screen, as the simulation moves it", () => {
    // A ball thrown right and up on the left, a box resting on the right.
    const scene = makeScene([
      { x: -2, y: 1.5, shape: "ball", size: "large", motion: "thrown", vx: 3, vy: 4 },
      { x: 2, y: 0.5, shape: "box", size: "large", motion: "resting" },
    ]);
    const layout = startLayout(scene, 64, 64, 8);
    // Its pixels' shift over the first 1/120 s, in cells per second over MOTION_UNIT.
    const fps = 120;
    const { truth } = simulate(scene, { width: 64, height: 64, fps, seconds: 2 / fps });
    const [a, b] = [truth.frames[0].objects[0], truth.frames[1].objects[0]];
    const want = [((b.px - a.px) * fps) / 8 / MOTION_UNIT, ((b.py - a.py) * fps) / 8 / MOTION_UNIT];
    assert.ok(want[0] > 0.5 && want[1] < -0.5, `right and up: ${want}`);
    const cell = Math.floor(a.py / 8) * 8 + Math.floor(a.px / 8);
    for (let k = 0; k < 2; k++) {
      const got = layout.motion[k * 64 + cell] / layout.occupancy[cell];
      assert.ok(
        Math.abs(got - want[k]) < 0.05 * Math.abs(want[k]),
        `axis ${k}: ${got} vs ${want[k]}`,
      );
    }
    // The resting box's cells are occupied and still.
    const rest = truth.frames[0].objects[1];
    const boxCell = Math.floor(rest.py / 8) * 8 + Math.floor(rest.px / 8);
    assert.ok(layout.occupancy[boxCell] > 0.2);
    assert.equal(layout.motion[boxCell], 0);
    assert.equal(layout.motion[64 + boxCell], 0);
  });

  it("marks each object once, at its centre, with its place in the cell, shape and size", () => {
    // Three objects, one hidden behind a front wall.
    const scene = makeScene(
      [
        { x: -2.1, y: 1.3, shape: "ball", size: "small" },
        { x: 0.9, y: 0.5, shape: "triangle", size: "large" },
        { x: 2.6, y: 0.4, shape: "box", size: "medium" },
      ],
      { occluders: [{ kind: "wall", x: 2.6, width: 1.5, height: 2, layer: "front" }] },
    );
    const layout = startLayout(scene, 64, 64, 8);
    const cells = 64;
    const ch = (k: number) => layout.marks.subarray(k * cells, (k + 1) * cells);
    assert.equal(layout.marks.length, MARK_CHANNELS * cells);
    assert.equal(sum(ch(0)), 3, "one mark per object in the frame, the hidden one too");
    const { truth } = simulate(scene, { width: 64, height: 64, fps: 8, seconds: 0.125 });
    for (const o of truth.frames[0].objects) {
      const [x0, y0, x1, y1] = o.bbox;
      const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
      const cell = Math.floor(cy / 8) * 8 + Math.floor(cx / 8);
      assert.equal(ch(0)[cell], 1, `object ${o.id} is marked in the cell of its centre`);
      // The place in the cell gives the centre back, to a tenth of a pixel.
      const px = (Math.floor(cx / 8) + (ch(1)[cell] + 1) / 2) * 8;
      const py = (Math.floor(cy / 8) + (ch(2)[cell] + 1) / 2) * 8;
      assert.ok(Math.abs(px - cx) < 0.1 && Math.abs(py - cy) < 0.1, `${px},${py} vs ${cx},${cy}`);
      const shape = SHAPES.indexOf(scene.objects[o.id].shape);
      for (let s = 0; s < SHAPES.length; s++) assert.equal(ch(3 + s)[cell], s === shape ? 1 : 0);
      assert.ok(Math.abs(ch(6)[cell] - (x1 - x0) / 8) < 0.05, `object ${o.id}'s width in cells`);
      // The wall hides the box: no coverage, but its mark says it is there.
      if (o.id === 2) assert.equal(layout.occupancy[cell], 0);
    }
    // One mark of each shape, and none anywhere else.
    for (let s = 0; s < SHAPES.length; s++) assert.equal(sum(ch(3 + s)), 1, SHAPES[s]);
  });

  it("holds each object's restitution, which tells whether its fall ends in a bounce", () => {
    // The same ball dropped from the same height on the left and on the right: bouncy, heavy.
    const scene = makeScene([
      { x: -2, y: 2.5, size: "large", material: "bouncy" },
      { x: 2, y: 2.5, size: "large", material: "heavy" },
    ]);
    const layout = startLayout(scene, 64, 64, 8);
    const { truth } = simulate(scene, { width: 64, height: 64, fps: 16, seconds: 2 });
    const [bouncy, heavy] = truth.frames[0].objects;
    const cellOf = (o: { px: number; py: number }) =>
      Math.floor(o.py / 8) * 8 + Math.floor(o.px / 8);
    const read = (o: { px: number; py: number }) => {
      const c = cellOf(o);
      assert.ok(layout.occupancy[c] > 0.2, "the centre cell is occupied");
      return layout.bounce[c] / layout.occupancy[c];
    };
    assert.ok(Math.abs(read(bouncy) - 0.85) < 1e-4, `bouncy reads ${read(bouncy)}`);
    assert.ok(Math.abs(read(heavy) - 0.2) < 1e-4, `heavy reads ${read(heavy)}`);
    // Nothing where no object is.
    for (let c = 0; c < 64; c++) if (layout.occupancy[c] === 0) assert.equal(layout.bounce[c], 0);
    // What it stands for: after hitting the ground, the bouncy ball rises far higher (up the
    // screen: its lowest y on the screen after the first contact).
    const rise = (id: number) => {
      const ys = truth.frames.map((f) => f.objects[id].py);
      const ground = ys.indexOf(Math.max(...ys));
      return ys[ground] - Math.min(...ys.slice(ground));
    };
    assert.ok(rise(0) > 4 * Math.max(rise(1), 1), `bouncy rises ${rise(0)} px, heavy ${rise(1)}`);
  });

  it("refuses a size that is not whole cells", () => {
    const scene = makeScene([{ x: 0, y: 1 }]);
    assert.throws(() => startLayout(scene, 60, 64, 8), /60×64 is not a whole number of 8-pixel/);
    assert.throws(() => startLayout(scene, 64, 64, 0), /not a whole number/);
  });
});
