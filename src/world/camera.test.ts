import assert from "node:assert/strict";
import { test } from "node:test";
import { cameraAt, GROUND_FRACTION, groundRow, pixelToWorld, worldToPixel } from "./camera.ts";
import { SIZES } from "./scene.ts";
import { makeScene } from "./test-scenes.ts";

const SIZES_PX: [number, number][] = [
  [64, 64],
  [96, 64],
  [64, 96],
  [128, 72],
  [256, 256],
  [256, 64],
  [64, 256],
];

test("every aspect ratio shows the ground and a sensible slice of the arena", () => {
  for (const arenaWidth of [5, 8, 12]) {
    const scene = makeScene([{ x: 0, y: 1 }], { arenaWidth });
    for (const [w, h] of SIZES_PX) {
      const cam = cameraAt(scene, 0, w, h);
      const at = `${w}×${h}, arena ${arenaWidth} m`;
      // The ground line is on its row, centred arena.
      const [gx, gy] = worldToPixel(cam, 0, 0);
      assert.ok(Math.abs(gy - h * (1 - GROUND_FRACTION)) < 1e-9, at);
      assert.ok(Math.abs(gx - w / 2) < 1e-9, at);
      const viewWidth = w / cam.pixelsPerMetre;
      const skyHeight = groundRow(h) / cam.pixelsPerMetre;
      if (w >= h) {
        // Landscape: the whole arena width is in view (exactly, unless the frame is very wide).
        assert.ok(viewWidth >= arenaWidth - 1e-9, `${at}: view ${viewWidth} m`);
        if (w / h <= 16 / 9) assert.ok(Math.abs(viewWidth - arenaWidth) < 1e-9, at);
      } else {
        // Portrait: at least half the arena, and objects larger than a fit-to-width view would draw them.
        assert.ok(viewWidth >= arenaWidth / 2 - 1e-9, `${at}: view ${viewWidth} m`);
        assert.ok(cam.pixelsPerMetre > w / arenaWidth, at);
      }
      assert.ok(skyHeight >= 0.35 * arenaWidth, `${at}: only ${skyHeight} m above the ground`);
      assert.ok(SIZES.small * cam.pixelsPerMetre >= (0.3 * Math.min(w, h)) / arenaWidth, at);
    }
  }
});

test("worldToPixel and pixelToWorld are inverse", () => {
  const cam = cameraAt(makeScene([{ x: 0, y: 1 }], { camera: "zoom-in" }), 2.5, 96, 64);
  for (const [x, y] of [
    [0, 0],
    [-3.2, 1.7],
    [4, -0.5],
  ]) {
    const [px, py] = worldToPixel(cam, x, y);
    const [x2, y2] = pixelToWorld(cam, px, py);
    assert.ok(Math.abs(x2 - x) < 1e-12 && Math.abs(y2 - y) < 1e-12);
  }
  // y grows upward in the world and downward in pixels.
  assert.ok(worldToPixel(cam, 0, 1)[1] < worldToPixel(cam, 0, 0)[1]);
});

test("a still camera never moves; pans drift slowly and stay bounded; zoom grows from the floor", () => {
  const W = 8;
  const still = makeScene([{ x: 0, y: 1 }]);
  assert.deepEqual(cameraAt(still, 0, 64, 64), cameraAt(still, 7, 64, 64));
  for (const dir of ["pan-left", "pan-right"] as const) {
    const scene = makeScene([{ x: 0, y: 1 }], { camera: dir, arenaWidth: W });
    let prev = cameraAt(scene, 0, 128, 72);
    assert.equal(prev.cx, 0);
    for (let t = 0.1; t <= 20; t += 0.1) {
      const cam = cameraAt(scene, t, 128, 72);
      const step = cam.cx - prev.cx;
      assert.ok(dir === "pan-left" ? step < 0 : step > 0, `${dir} at ${t}`);
      assert.ok(Math.abs(step) <= 0.05 * W * 0.1 + 1e-12, "slow: at most 5% of the arena a second");
      assert.ok(Math.abs(cam.cx) <= 0.2 * W, "bounded");
      assert.equal(cam.pixelsPerMetre, prev.pixelsPerMetre);
      prev = cam;
    }
  }
  const zoom = makeScene([{ x: 0, y: 1 }], { camera: "zoom-in" });
  let prev = cameraAt(zoom, 0, 96, 64);
  for (let t = 0.25; t <= 20; t += 0.25) {
    const cam = cameraAt(zoom, t, 96, 64);
    assert.ok(cam.pixelsPerMetre > prev.pixelsPerMetre, `zoom grows at ${t}`);
    assert.ok(cam.pixelsPerMetre / prev.pixelsPerMetre < 1.03, "slowly");
    assert.ok(Math.abs(worldToPixel(cam, 0, 0)[1] - groundRow(64)) < 1e-9, "ground row fixed");
    prev = cam;
  }
  assert.ok(prev.pixelsPerMetre / cameraAt(zoom, 0, 96, 64).pixelsPerMetre <= 1.6 + 1e-9);
});

test("cameraAt rejects a bad time or frame size", () => {
  const scene = makeScene([{ x: 0, y: 1 }]);
  assert.throws(() => cameraAt(scene, -1, 64, 64), /t must be/);
  assert.throws(() => cameraAt(scene, Number.NaN, 64, 64), /t must be/);
  assert.throws(() => cameraAt(scene, 0, 0, 64), /width and height/);
});
