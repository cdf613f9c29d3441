import assert from "node:assert/strict";
import { test } from "node:test";
import { OBJECT_COLORS } from "../scene.ts";
import { segmentFrame } from "./segment.ts";
import { fitShape } from "./shape.ts";
import { Canvas } from "./synthetic.ts";

const SKY = [135, 190, 235] as const;
const GROUND = [110, 150, 80] as const;

test("finds each coloured object with a sub-pixel centroid and its area", () => {
  const c = new Canvas(64, 64).fillScene(SKY, GROUND, 48);
  c.disc(20.3, 20.7, 5, OBJECT_COLORS.red);
  c.square(44.6, 30.2, 8, 0, OBJECT_COLORS.blue);
  c.disc(10, 44, 3, OBJECT_COLORS.yellow);
  const { detections } = segmentFrame(c.data, 64, 64);
  assert.equal(detections.length, 3);
  const red = detections.find((d) => d.color === "red")!;
  assert.ok(Math.abs(red.cx - 20.3) < 0.15, `red cx ${red.cx}`);
  assert.ok(Math.abs(red.cy - 20.7) < 0.15, `red cy ${red.cy}`);
  assert.ok(Math.abs(red.area - Math.PI * 25) < 5, `red area ${red.area}`);
  const blue = detections.find((d) => d.color === "blue")!;
  assert.ok(Math.abs(blue.cx - 44.6) < 0.15 && Math.abs(blue.cy - 30.2) < 0.15);
  assert.ok(Math.abs(blue.area - 64) < 5, `blue area ${blue.area}`);
  assert.ok(detections.some((d) => d.color === "yellow"));
});

test("shadows, sky and ground are not objects, even under a black object", () => {
  const c = new Canvas(64, 64).fillScene(SKY, GROUND, 48);
  c.shadow(30, 49, 6, 1.5, 0.5);
  c.disc(30, 40, 4, OBJECT_COLORS.black);
  const { detections } = segmentFrame(c.data, 64, 64, { shadowFromRow: 47 });
  assert.equal(detections.length, 1);
  assert.equal(detections[0].color, "black");
  assert.ok(Math.abs(detections[0].cy - 40) < 0.3, `cy ${detections[0].cy}`);
});

test("scenery that is not a palette colour is marked as scenery, not as an object", () => {
  const c = new Canvas(64, 64).fillScene(SKY, GROUND, 48);
  c.rect(28, 10, 36, 48, [150, 150, 160]);
  const seg = segmentFrame(c.data, 64, 64);
  assert.equal(seg.detections.length, 0);
  assert.equal(seg.scenery[30 * 64 + 31], 1);
  assert.equal(seg.scenery[30 * 64 + 5], 0);
});

test("declared scenery colours win over a nearby palette colour", () => {
  const crate = [150, 95, 50] as const; // near brown
  const c = new Canvas(64, 64).fillScene(SKY, GROUND, 48);
  c.rect(40, 38, 50, 48, crate);
  assert.equal(segmentFrame(c.data, 64, 64).detections.length, 1);
  assert.equal(segmentFrame(c.data, 64, 64, { sceneryColors: [crate] }).detections.length, 0);
});

test("shape measures tell balls, boxes (at any angle) and triangles apart", () => {
  const cases: [string, (c: Canvas) => void][] = [
    ["ball", (c) => c.disc(32, 30, 7, OBJECT_COLORS.green)],
    ["ball", (c) => c.disc(32, 30, 4, OBJECT_COLORS.green)],
    ["ball", (c) => c.disc(32.3, 30.6, 2.2, OBJECT_COLORS.green)],
    ["box", (c) => c.square(32.2, 30.7, 4.5, 0.4, OBJECT_COLORS.green)],
    ["triangle", (c) => c.triangle(32.6, 30.1, 6, 0.2, OBJECT_COLORS.green)],
    ["box", (c) => c.square(32, 30, 12, 0, OBJECT_COLORS.green)],
    ["box", (c) => c.square(32, 30, 12, 0.3, OBJECT_COLORS.green)],
    ["box", (c) => c.square(32, 30, 12, Math.PI / 4, OBJECT_COLORS.green)],
    ["box", (c) => c.square(32, 30, 7, 0.6, OBJECT_COLORS.green)],
    ["triangle", (c) => c.triangle(32, 30, 14, 0, OBJECT_COLORS.green)],
    ["triangle", (c) => c.triangle(32, 30, 14, 1, OBJECT_COLORS.green)],
    ["triangle", (c) => c.triangle(32, 30, 10, 2.5, OBJECT_COLORS.green)],
  ];
  for (const [want, draw] of cases) {
    const c = new Canvas(64, 64).fillScene(SKY, GROUND, 56);
    draw(c);
    const d = segmentFrame(c.data, 64, 64).detections;
    assert.equal(d.length, 1);
    assert.ok(d[0].patch, "has a coverage patch");
    const got = fitShape(d[0].patch!, d[0].cx, d[0].cy, d[0].area);
    assert.equal(got.shape, want, `${want}: ${JSON.stringify(got.errors)}`);
  }
});

test("a blob cut by the frame edge is flagged and gets no shape patch", () => {
  const c = new Canvas(64, 64).fillScene(SKY, GROUND, 48);
  c.disc(1, 20, 5, OBJECT_COLORS.red);
  const [d] = segmentFrame(c.data, 64, 64).detections;
  assert.equal(d.touchesEdge, true);
  assert.equal(d.patch, null);
});

test("bad input is rejected with a message naming the problem", () => {
  assert.throws(() => segmentFrame(new Uint8Array(10), 64, 64), /frame has 10 bytes/);
  assert.throws(
    () => segmentFrame(new Uint8Array(12), 2, 2, { maxColorDistance: Number.NaN }),
    /maxColorDistance/,
  );
});
