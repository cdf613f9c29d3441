import assert from "node:assert/strict";
import { test } from "node:test";
import { assertVideo } from "../media/video.ts";
import { MATERIALS, type SceneSpec, SIZES } from "./scene.ts";
import { simulate, truthToJSON } from "./simulate.ts";
import { makeScene } from "./test-scenes.ts";

const SMALL = { width: 64, height: 48, fps: 30, seconds: 2 };

test("a clip has round(seconds × fps) frames of the right size, and plain-JSON truth", () => {
  const scene = makeScene([
    { x: -1, y: 2 },
    { shape: "box", color: "blue", motion: "thrown", x: 1, y: 1, vx: -2, vy: 3 },
  ]);
  const { video, truth } = simulate(scene, { width: 96, height: 64, fps: 25, seconds: 1.5 });
  assertVideo(video);
  assert.equal(video.frames.length, 38);
  assert.equal(truth.frames.length, 38);
  assert.deepEqual([truth.width, truth.height, truth.fps], [96, 64, 25]);
  truth.frames.forEach((f, i) => {
    assert.equal(f.frame, i);
    assert.equal(f.t, i / 25);
    assert.deepEqual(
      f.objects.map((o) => o.id),
      [0, 1],
    );
  });
  // Plain data: survives a JSON round trip unchanged, and the compact form parses back closely.
  assert.deepEqual(JSON.parse(JSON.stringify(truth)), truth);
  const compact = JSON.parse(truthToJSON(truth));
  assert.equal(compact.frames.length, 38);
  assert.ok(Math.abs(compact.frames[20].objects[1].px - truth.frames[20].objects[1].px) < 1e-6);
  assert.ok(truthToJSON(truth).length < JSON.stringify(truth).length);
});

test("the same scene gives identical frames and truth; physics does not depend on the frame rate", () => {
  const scene = makeScene(
    [
      { x: -1, y: 2 },
      { shape: "triangle", color: "green", motion: "thrown", x: 1, y: 1, vx: -2, vy: 3 },
      { shape: "box", color: "blue", motion: "rolled", x: -3, y: SIZES.medium / 2, vx: 3 },
    ],
    { camera: "pan-left" },
  );
  const a = simulate(scene, SMALL);
  const b = simulate(structuredClone(scene), SMALL);
  assert.deepEqual(a.truth, b.truth);
  a.video.frames.forEach((f, i) => {
    assert.ok(Buffer.from(f).equals(b.video.frames[i]), `frame ${i} differs`);
  });
  // At 60 fps every second frame falls at the same time as a 30 fps frame: same state exactly.
  const fast = simulate(scene, { ...SMALL, fps: 60 });
  a.truth.frames.forEach((f, i) => {
    const g = fast.truth.frames[2 * i];
    f.objects.forEach((o, k) => {
      assert.equal(g.objects[k].x, o.x);
      assert.equal(g.objects[k].y, o.y);
    });
  });
  // 7 fps does not land on physics steps: frames interpolate between neighbouring states.
  const odd = simulate(scene, { ...SMALL, fps: 7 });
  const ref = simulate(scene, { ...SMALL, fps: 120 });
  odd.truth.frames.forEach((f) => {
    const near = ref.truth.frames[Math.round(f.t * 120)];
    f.objects.forEach((o, k) => {
      assert.ok(Math.abs(o.x - near.objects[k].x) < 0.05);
    });
  });
});

test("a dropped bouncy ball reports bounces at the frames physics predicts", () => {
  const r = SIZES.medium / 2;
  const g = 9.81;
  const fps = 30;
  const scene = makeScene([{ x: 0.5, y: 2 + r }]);
  const { truth } = simulate(scene, { width: 64, height: 64, fps, seconds: 4 });
  // Free fall to the ground, then each rebound leaves at e times the landing speed.
  const e = MATERIALS.bouncy.restitution;
  const expected: number[] = [];
  let t = Math.sqrt((2 * 2) / g);
  let v = g * t;
  while (expected.length < 4) {
    expected.push(t * fps);
    v *= e;
    t += (2 * v) / g;
  }
  const bounces = truth.events.filter((ev) => ev.kind === "bounce");
  assert.ok(bounces.length >= 4, `only ${bounces.length} bounces`);
  expected.forEach((frame, i) => {
    assert.deepEqual(bounces[i].objects, [0]);
    assert.ok(
      Math.abs(bounces[i].frame - frame) <= 1,
      `bounce ${i} at ${bounces[i].frame}, expected ${frame}`,
    );
    // At the bounce frame the ball is at (or within a frame's fall of) the ground.
    const y = truth.frames[bounces[i].frame].objects[0].y;
    assert.ok(y - r < 0.25, `ball ${y - r} m up at bounce ${i}`);
  });
  assert.ok(
    !truth.events.some((ev) => ev.kind === "collision"),
    "a lone ball collides with nothing",
  );
  // Between bounces, frame-to-frame acceleration is gravity.
  const ys = truth.frames.map((f) => f.objects[0].y);
  for (let f = 1; f < 15; f++) {
    const acc = (ys[f + 1] - 2 * ys[f] + ys[f - 1]) * fps * fps;
    assert.ok(Math.abs(acc + g) < 1e-6, `frame ${f}: acceleration ${acc}`);
  }
});

test("two balls rolled at each other report one collision when they meet", () => {
  const r = SIZES.medium / 2;
  const scene = makeScene([
    { motion: "rolled", x: -2, y: r, vx: 2 },
    { color: "blue", motion: "rolled", x: 2, y: r, vx: -2 },
  ]);
  const { truth } = simulate(scene, { width: 64, height: 48, fps: 30, seconds: 2 });
  const hits = truth.events.filter((e) => e.kind === "collision");
  assert.equal(hits.length, 1);
  assert.deepEqual(hits[0].objects, [0, 1]);
  // They meet when the gap of 4 - 2r closes at about 4 m/s (rolling resistance slows them a little).
  const frame = hits[0].frame;
  assert.ok(frame >= 26 && frame <= 30, `collision at frame ${frame}`);
  const [a, b] = truth.frames[frame].objects;
  assert.ok(b.x - a.x < 2 * r + 0.15);
});

test("a ball rolling behind a front wall is hidden, then reappears; a back wall hides nothing", () => {
  const r = SIZES.medium / 2;
  const wall = { kind: "wall" as const, x: 0, width: 1.2, height: 1.5 };
  const run = (layer: "front" | "back") =>
    simulate(
      makeScene([{ motion: "rolled", x: -3, y: r, vx: 3 }], { occluders: [{ ...wall, layer }] }),
      {
        width: 128,
        height: 72,
        fps: 30,
        seconds: 2.5,
      },
    ).truth;
  const front = run("front");
  const vis = front.frames.map((f) => f.objects[0].visible);
  assert.equal(vis[0], 1);
  assert.ok(
    vis.some((v) => v === 0),
    "fully hidden at some frame",
  );
  const kinds = front.events.filter((e) => e.kind === "hidden" || e.kind === "reappear");
  assert.deepEqual(
    kinds.map((e) => e.kind),
    ["hidden", "reappear"],
  );
  const [hidden, back] = kinds;
  assert.ok(vis[hidden.frame] < 0.01 && vis[hidden.frame - 1] >= 0.01);
  assert.ok(vis[back.frame] >= 0.01 && vis[back.frame - 1] < 0.01);
  // Part-way behind the wall, the visible share falls between 0 and 1.
  assert.ok(vis.some((v) => v > 0.2 && v < 0.8));
  const behind = run("back");
  assert.ok(behind.frames.every((f) => f.objects[0].visible === 1));
  assert.ok(!behind.events.some((e) => e.kind === "hidden"));
});

test("an object crossing a narrow portrait view enters and leaves it", () => {
  const r = SIZES.small / 2;
  // A 64×96 view of an 8 m arena shows its middle 4.8 m: the ball starts outside it.
  const scene = makeScene([{ size: "small", motion: "rolled", x: -3.6, y: r, vx: 4 }]);
  const { truth } = simulate(scene, { width: 64, height: 96, fps: 30, seconds: 3 });
  const first = truth.frames[0].objects[0];
  assert.equal(first.visible, 0);
  assert.ok(first.bbox[2] < 0, "starts left of the frame");
  const kinds = truth.events.filter((e) => e.kind === "enter" || e.kind === "leave");
  assert.deepEqual(
    kinds.slice(0, 2).map((e) => e.kind),
    ["enter", "leave"],
  );
  const entered = truth.frames[kinds[0].frame].objects[0];
  assert.ok(entered.visible > 0 && entered.bbox[0] < 0, "enters across the left edge");
  const left = truth.frames[kinds[1].frame].objects[0];
  assert.ok(left.visible < 0.01 && left.px > 64, "leaves across the right edge");
  // It bounces off the right wall and comes back into view.
  assert.ok(truth.events.some((e) => e.kind === "bounce" && e.frame > kinds[1].frame));
  assert.equal(kinds[2]?.kind, "enter");
});

test("bad options and bad scenes are rejected with errors that name the problem", () => {
  const scene = makeScene([{ x: 0, y: 1 }]);
  const opts = { width: 64, height: 64, fps: 30, seconds: 1 };
  const bad: [Partial<typeof opts>, RegExp][] = [
    [{ width: 0 }, /width must be an integer from 1 to 2048, got 0/],
    [{ width: 64.5 }, /width must be an integer/],
    [{ height: 4096 }, /height must be an integer from 1 to 2048, got 4096/],
    [{ fps: 0 }, /fps must be a number from 1 to 120/],
    [{ fps: Number.NaN }, /fps must be/],
    [{ fps: 500 }, /fps must be/],
    [{ seconds: 0 }, /seconds must be > 0/],
    [{ seconds: 121 }, /seconds must be > 0 and <= 120/],
    [{ width: 2048, height: 2048, fps: 120, seconds: 60 }, /GiB of frames, more than/],
  ];
  for (const [o, msg] of bad) assert.throws(() => simulate(scene, { ...opts, ...o }), msg);

  const obj = scene.objects[0];
  const badScenes: [Partial<SceneSpec> | ((s: SceneSpec) => void), RegExp][] = [
    [
      { theme: "noon" as never },
      /scene.theme must be one of day, sunset, night, indoor, underwater; got "noon"/,
    ],
    [{ camera: "dolly" as never }, /scene.camera must be one of/],
    [{ arenaWidth: 0 }, /scene.arenaWidth must be from 1 to 100 m, got 0/],
    [{ gravity: -9.81 }, /scene.gravity must be > 0/],
    [{ seed: Number.POSITIVE_INFINITY }, /scene.seed must be a finite number/],
    [{ objects: [] }, /1 to 4 objects, got 0/],
    [
      { objects: [0, 1, 2, 3, 4].map((id) => ({ ...obj, id, x: id - 2 })) },
      /1 to 4 objects, got 5/,
    ],
    [{ objects: [{ ...obj, id: 3 }] }, /objects\[0\].id must equal its index 0, got 3/],
    [
      { objects: [{ ...obj, shape: "cone" as never }] },
      /objects\[0\].shape must be one of ball, box, triangle/,
    ],
    [{ objects: [{ ...obj, color: "teal" as never }] }, /objects\[0\].color must be one of/],
    [{ objects: [{ ...obj, size: "huge" as never }] }, /objects\[0\].size must be one of/],
    [
      { objects: [{ ...obj, material: "rubber" as never }] },
      /objects\[0\].material must be one of/,
    ],
    [{ objects: [{ ...obj, motion: "flying" as never }] }, /objects\[0\].motion must be one of/],
    [{ objects: [{ ...obj, x: Number.NaN }] }, /objects\[0\].x must be a finite number, got NaN/],
    [{ objects: [{ ...obj, vy: 80 }] }, /faster than 50/],
    [{ objects: [{ ...obj, x: 3.9 }] }, /does not fit between the arena walls at ±4 m/],
    [{ objects: [{ ...obj, y: 0.1 }] }, /is below the ground by/],
    [
      { occluders: [{ kind: "tree" as never, x: 0, width: 1, height: 1, layer: "front" }] },
      /occluders\[0\].kind must be one of pillar, wall, crate/,
    ],
    [
      { occluders: [{ kind: "wall", x: 0, width: 1, height: 1, layer: "middle" as never }] },
      /occluders\[0\].layer must be one of front, back/,
    ],
    [
      { occluders: [{ kind: "wall", x: 0, width: -1, height: 1, layer: "front" }] },
      /occluders\[0\].width must be > 0/,
    ],
    [(s) => Object.assign(s, { objects: "ball" }), /scene.objects must be an array/],
  ];
  for (const [change, msg] of badScenes) {
    const s = structuredClone(scene);
    if (typeof change === "function") change(s);
    else Object.assign(s, change);
    assert.throws(() => simulate(s, opts), msg);
  }
  // Placement rounding of a millimetre is tolerated.
  assert.doesNotThrow(() =>
    simulate(makeScene([{ x: 0, y: SIZES.medium / 2 - 5e-4 }]), { ...opts, seconds: 0.1 }),
  );
});
