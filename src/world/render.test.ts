import assert from "node:assert/strict";
import { test } from "node:test";
import { cameraAt } from "./camera.ts";
import { renderFrameReference } from "./reference-render.ts";
import { prepareRender, renderFrame, shadowOf } from "./render.ts";
import { OBJECT_COLORS, type SceneSpec, THEMES } from "./scene.ts";
import { type Pose, screenShape, shapeBounds } from "./screen.ts";
import { simulate } from "./simulate.ts";
import { makeScene } from "./test-scenes.ts";
import {
  ARENA_POST_COLOR,
  GROUND_MARK_SHADE,
  OCCLUDER_COLORS,
  skyColorAt,
  THEME_BACKGROUNDS,
} from "./themes.ts";

const ASPECTS: [number, number][] = [
  [64, 64],
  [96, 64],
  [64, 96],
  [128, 72],
  [256, 256],
];

/** A pose far outside any view, to render a scene's background alone. */
const AWAY: Pose = { x: 0, y: 500, angle: 0 };

function pixel(frame: Uint8Array, width: number, i: number, j: number): number[] {
  const o = (j * width + i) * 3;
  return [frame[o], frame[o + 1], frame[o + 2]];
}

function dist(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

function busyScene(camera: SceneSpec["camera"] = "pan-right"): SceneSpec {
  return makeScene(
    [
      { size: "large", x: -1.5, y: 2.5 },
      {
        shape: "box",
        size: "large",
        color: "blue",
        material: "heavy",
        motion: "resting",
        x: 0,
        y: 0.4,
      },
      { shape: "triangle", color: "green", motion: "thrown", x: 2.4, y: 1, vx: -3, vy: 4 },
      { size: "small", color: "yellow", motion: "rolled", x: -2.5, y: 0.15, vx: 3 },
    ],
    {
      camera,
      arenaWidth: 6,
      occluders: [
        { kind: "pillar", x: 1.2, width: 0.5, height: 2.5, layer: "front" },
        { kind: "wall", x: -2, width: 1.1, height: 1.2, layer: "back" },
      ],
    },
  );
}

const BUSY_POSES: Pose[] = [
  { x: -1.5, y: 1.7, angle: 0.7 },
  { x: 0.1, y: 0.5, angle: 0.3 },
  { x: 2.0, y: 1.3, angle: 1.1 },
  { x: 1.1, y: 0.9, angle: 0 },
];

test("frames have width × height × 3 bytes at every size and aspect", () => {
  for (const [w, h] of ASPECTS) {
    const scene = busyScene();
    const frame = renderFrame(prepareRender(scene, w, h), cameraAt(scene, 1, w, h), BUSY_POSES);
    assert.equal(frame.length, w * h * 3);
  }
  const scene = busyScene();
  const setup = prepareRender(scene, 8, 8);
  assert.throws(
    () => renderFrame(setup, cameraAt(scene, 0, 8, 8), BUSY_POSES, new Uint8Array(10)),
    /out has 10 bytes, expected 192/,
  );
  assert.throws(() => renderFrame(setup, cameraAt(scene, 0, 8, 8), []), /0 poses for 4 objects/);
});

test("each theme paints its own sky gradient and ground", () => {
  for (const theme of THEMES) {
    const scene = makeScene([{ x: 0, y: 1 }], { theme });
    const [w, h] = [32, 40];
    const frame = renderFrame(prepareRender(scene, w, h), cameraAt(scene, 0, w, h), [AWAY]);
    const bg = THEME_BACKGROUNDS[theme];
    const groundY = h * 0.8;
    assert.ok(dist(pixel(frame, w, 5, 0), skyColorAt(bg, 0.5 / groundY)) < 1.5, theme);
    assert.ok(dist(pixel(frame, w, 20, 30), skyColorAt(bg, 30.5 / groundY)) < 1.5, theme);
    // The floor: its own colour, or darker where a mark lies, and both along the bottom row.
    const floor = Array.from({ length: w }, (_, x) => dist(pixel(frame, w, x, h - 1), bg.ground));
    assert.ok(
      floor.some((d) => d < 1e-9),
      theme,
    );
    // At 4 px/m a mark covers under two pixels: at least one pixel shows half its darkening.
    const darkest = Math.max(...floor);
    const full = dist(
      bg.ground.map((c) => c * GROUND_MARK_SHADE),
      bg.ground,
    );
    assert.ok(darkest >= 0.5 * full && darkest <= full + 1, `${theme}: the floor shows its marks`);
    // Every theme is told apart from every other by its top row alone.
    for (const other of THEMES) {
      if (other === theme) continue;
      const top = pixel(frame, w, 0, 0);
      assert.ok(dist(top, THEME_BACKGROUNDS[other].skyTop) > dist(top, bg.skyTop) + 30, theme);
    }
  }
});

test("object colours stay far from every background, ground, occluder and post colour", () => {
  const scenery: number[][] = [...Object.values(OCCLUDER_COLORS), ARENA_POST_COLOR].map((c) => [
    ...c,
  ]);
  for (const bg of Object.values(THEME_BACKGROUNDS)) {
    for (let f = 0; f <= 1; f += 0.05) scenery.push(skyColorAt(bg, f));
    scenery.push([...bg.ground]);
  }
  for (const [name, c] of Object.entries(OBJECT_COLORS)) {
    for (const s of scenery) assert.ok(dist(c, s) >= 55, `${name} is too close to ${s}`);
  }
  for (const [kind, c] of Object.entries(OCCLUDER_COLORS)) {
    const [r, g, b] = c;
    assert.ok(Math.max(r, g, b) - Math.min(r, g, b) <= 8, `${kind} occluder is a neutral grey`);
  }
});

test("the fast renderer's anti-aliasing matches the 4×4 supersampled reference", () => {
  for (const [w, h] of [...ASPECTS.slice(0, 4), [160, 90] as [number, number]]) {
    const scene = busyScene();
    const setup = prepareRender(scene, w, h);
    const cam = cameraAt(scene, 1.3, w, h);
    const fast = renderFrame(setup, cam, BUSY_POSES);
    const ref = renderFrameReference(setup, cam, BUSY_POSES);
    const diffs = Array.from(fast, (v, i) => Math.abs(v - ref[i])).sort((a, b) => a - b);
    const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
    const at = `${w}×${h}`;
    assert.ok(mean < 1, `${at}: mean difference ${mean}`);
    assert.ok(diffs[Math.floor(diffs.length * 0.99)] <= 20, `${at}: 99th percentile`);
    assert.ok(diffs[diffs.length - 1] <= 64, `${at}: max difference ${diffs[diffs.length - 1]}`);
  }
  // And edges really are blended: a large ball's rim has pixels between its colour and the sky.
  const scene = makeScene([{ size: "large", color: "red", x: 0, y: 2 }]);
  const [w, h] = [128, 72];
  const pose = { x: 0.013, y: 2.07, angle: 0 };
  const setup = prepareRender(scene, w, h);
  const cam = cameraAt(scene, 0, w, h);
  const frame = renderFrame(setup, cam, [pose]);
  const bg = renderFrame(setup, cam, [AWAY]);
  let partial = 0;
  for (let k = 0; k < w * h; k++) {
    const a = pixel(frame, w, k % w, Math.floor(k / w));
    const b = pixel(bg, w, k % w, Math.floor(k / w));
    const along = dist(a, b) / dist(OBJECT_COLORS.red, b);
    if (along > 0.15 && along < 0.85) partial++;
  }
  assert.ok(partial >= 8, `only ${partial} blended rim pixels`);
});

test("drawing an object touches only its bounding box and its shadow's", () => {
  for (const [w, h] of ASPECTS) {
    const scene = busyScene("still");
    const setup = prepareRender(scene, w, h);
    const cam = cameraAt(scene, 0, w, h);
    for (let k = 0; k < 4; k++) {
      const poses = BUSY_POSES.map((p, i) => (i === k ? p : AWAY));
      const alone = renderFrame(setup, cam, poses);
      const none = renderFrame(setup, cam, [AWAY, AWAY, AWAY, AWAY]);
      const [x0, y0, x1, y1] = shapeBounds(screenShape(setup.geoms[k], BUSY_POSES[k], cam));
      const s = shadowOf(setup.geoms[k], BUSY_POSES[k], cam, setup.groundY);
      let changed = 0;
      for (let j = 0; j < h; j++) {
        for (let i = 0; i < w; i++) {
          if (dist(pixel(alone, w, i, j), pixel(none, w, i, j)) === 0) continue;
          changed++;
          // The pixel's square overlaps the shape's bounding box.
          const inShape = i + 1 > x0 && i < x1 && j + 1 > y0 && j < y1;
          const inShadow =
            Math.abs(i + 0.5 - s.cx) <= s.a + 1 && Math.abs(j + 0.5 - s.cy) <= s.b + 1;
          assert.ok(inShape || inShadow, `${w}×${h} object ${k}: pixel ${i},${j} changed`);
        }
      }
      assert.ok(changed > 0, `${w}×${h} object ${k} drew nothing`);
    }
  }
});

test("a ball's pixel centroid matches its ground-truth centre at every size", () => {
  for (const [w, h] of ASPECTS) {
    const scene = makeScene(
      [{ size: "large", color: "purple", motion: "thrown", x: -1, y: 1.5, vx: 1.3, vy: 2 }],
      {
        theme: "night",
        camera: "zoom-in",
      },
    );
    const { video, truth } = simulate(scene, { width: w, height: h, fps: 24, seconds: 0.6 });
    const setup = prepareRender(scene, w, h);
    for (const f of [0, 6, 13]) {
      const bg = renderFrame(setup, cameraAt(scene, f / 24, w, h), [AWAY]);
      const frame = video.frames[f];
      let sw = 0;
      let sx = 0;
      let sy = 0;
      for (let j = 0; j < h; j++) {
        for (let i = 0; i < w; i++) {
          const b = pixel(bg, w, i, j);
          const a = dist(pixel(frame, w, i, j), b) / dist(OBJECT_COLORS.purple, b);
          if (a < 0.05 || j >= setup.groundY - 1) continue; // skip the floor, where the shadow is
          sw += a;
          sx += a * (i + 0.5);
          sy += a * (j + 0.5);
        }
      }
      const o = truth.frames[f].objects[0];
      assert.ok(sw > 0, `${w}×${h} frame ${f}: ball not drawn`);
      assert.ok(
        Math.hypot(sx / sw - o.px, sy / sw - o.py) < 0.5,
        `${w}×${h} frame ${f}: centroid ${sx / sw},${sy / sw} vs truth ${o.px},${o.py}`,
      );
    }
  }
});

test("the floor's marks are fixed in the world: a pan slides them across the frame", () => {
  const scene = makeScene([{ x: 0, y: 1 }], { camera: "pan-left" });
  const [w, h] = [96, 64];
  const setup = prepareRender(scene, w, h);
  const row = (t: number) => {
    const cam = cameraAt(scene, t, w, h);
    const f = renderFrame(setup, cam, [AWAY]);
    return { cam, lum: Array.from({ length: w }, (_, x) => pixel(f, w, x, h - 1)[1]) };
  };
  const a = row(0);
  const b = row(2);
  // The view moved left by (cx0 - cx1) m, so the floor moved right by that many metres of pixels.
  const shift = (a.cam.cx - b.cam.cx) * a.cam.pixelsPerMetre;
  assert.ok(shift > 4, `the pan moves ${shift} px`);
  let best = 0;
  let bestErr = Number.POSITIVE_INFINITY;
  for (let s = -20; s <= 20; s++) {
    let e = 0;
    for (let x = 20; x < w - 20; x++) e += Math.abs(b.lum[x + s] - a.lum[x]);
    if (e < bestErr) {
      bestErr = e;
      best = s;
    }
  }
  assert.ok(
    Math.abs(best - shift) <= 1,
    `marks moved ${best} px, the camera ${shift.toFixed(1)} px`,
  );
});
