import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../util/rng.ts";
import { shapeGeometry } from "./geometry.ts";
import { BASE_DT, createWorld, type PhysicsWorld, stepWorld, totalEnergy } from "./physics.ts";
import {
  MATERIALS,
  type MaterialName,
  type SceneSpec,
  SHAPES,
  SIZE_NAMES,
  SIZES,
} from "./scene.ts";
import { makeScene } from "./test-scenes.ts";

function run(world: PhysicsWorld, seconds: number, each?: (w: PhysicsWorld) => void): void {
  const steps = Math.round(seconds / BASE_DT);
  for (let i = 0; i < steps; i++) {
    stepWorld(world);
    each?.(world);
  }
}

/** Four objects of random shape and size thrown about in random directions. */
function randomScene(seed: number, arenaWidth: number, material?: MaterialName): SceneSpec {
  const rng = new Rng(seed);
  const objects = [0, 1, 2, 3].map((i) => ({
    shape: rng.pick(SHAPES),
    size: rng.pick(SIZE_NAMES),
    material: material ?? rng.pick(["bouncy", "heavy", "light"] as const),
    motion: "thrown" as const,
    x: (i - 1.5) * (arenaWidth / 4.5),
    y: rng.uniform(0.6, 3),
    vx: rng.uniform(-8, 8),
    vy: rng.uniform(-5, 8),
  }));
  return makeScene(objects, { seed, arenaWidth });
}

test("energy never increases without input, over long runs of many bouncing objects", () => {
  const scenes = [
    ...[1, 2, 3, 4, 5, 6].map((s) => randomScene(s, 8, "bouncy")),
    ...[7, 8, 9].map((s) => randomScene(s, 8)),
    ...[10, 11, 12].map((s) => randomScene(s, 3.5, "bouncy")),
  ];
  for (const scene of scenes) {
    const world = createWorld(scene);
    const e0 = totalEnergy(world);
    let prev = e0;
    let worst = 0;
    run(world, 12, (w) => {
      const e = totalEnergy(w);
      worst = Math.max(worst, e - prev);
      prev = e;
    });
    assert.ok(
      worst <= 1e-4 * e0,
      `seed ${scene.seed}: energy rose by ${worst} in one step (E0 ${e0})`,
    );
    assert.ok(
      prev < 0.5 * e0,
      `seed ${scene.seed}: bouncing should lose energy (${prev} of ${e0})`,
    );
  }
});

test("the same scene gives bit-identical states; a different seed changes a thrown box's spin", () => {
  const scene = randomScene(21, 8);
  const a = createWorld(scene);
  const b = createWorld(structuredClone(scene));
  run(a, 5);
  run(b, 5);
  assert.deepEqual(
    a.bodies.map((x) => [x.x, x.y, x.angle, x.vx, x.vy, x.w]),
    b.bodies.map((x) => [x.x, x.y, x.angle, x.vx, x.vy, x.w]),
  );
  assert.deepEqual(a.events, b.events);
  const box = makeScene([{ shape: "box", motion: "thrown", x: 0, y: 2, vx: 2, vy: 1 }]);
  const w1 = createWorld(box);
  const w2 = createWorld({ ...box, seed: 2 });
  assert.notEqual(w1.bodies[0].w, w2.bodies[0].w);
  assert.ok(w1.bodies[0].w < 0, "a box thrown to the right tumbles forwards (clockwise)");
});

test("free flight accelerates at exactly gravity, with constant horizontal speed", () => {
  const world = createWorld(
    makeScene([{ motion: "thrown", x: -2, y: 1, vx: 2, vy: 6 }], { gravity: 7 }),
  );
  let vx = world.bodies[0].vx;
  let vy = world.bodies[0].vy;
  run(world, 1, (w) => {
    const b = w.bodies[0];
    assert.ok(Math.abs((b.vy - vy) / BASE_DT + 7) < 1e-6, `acceleration ${(b.vy - vy) / BASE_DT}`);
    assert.equal(b.vx, vx);
    vx = b.vx;
    vy = b.vy;
  });
  assert.ok(world.bodies[0].y > 1, "still in the air after 1 s");
});

test("nothing tunnels: very fast objects stay above the ground, inside the walls and out of each other", () => {
  const r = SIZES.small / 2;
  const fast = makeScene(
    [
      { size: "small", motion: "thrown", x: 0, y: 3, vx: 8, vy: -49 },
      { size: "small", motion: "thrown", x: -2, y: 0.5, vx: -50, vy: 0 },
      { shape: "box", size: "small", motion: "thrown", x: 2, y: 2, vx: 35, vy: -35 },
    ],
    { arenaWidth: 6 },
  );
  const world = createWorld(fast);
  let lowest = Infinity;
  let widest = 0;
  run(world, 4, (w) => {
    for (const b of w.bodies) {
      // Extreme points of the outline: the ball's circle or the box's corners.
      const xs = b.isBall ? [b.x - r, b.x + r] : [...b.wx];
      const ys = b.isBall ? [b.y - r] : [...b.wy];
      lowest = Math.min(lowest, ...ys);
      widest = Math.max(widest, ...xs.map((x) => Math.abs(x) - 3));
    }
  });
  assert.ok(lowest > -0.02, `an object sank ${-lowest} m into the ground`);
  assert.ok(widest < 0.02, `an object went ${widest} m into a wall`);

  // A small ball at 50 m/s at a resting large box bounces off its face instead of passing through.
  const box = SIZES.large / 2;
  const hit = createWorld(
    makeScene([
      { size: "small", motion: "thrown", x: -3, y: box, vx: 50, vy: 0 },
      { shape: "box", size: "large", material: "heavy", motion: "resting", x: 1, y: box },
    ]),
  );
  let deepest = -Infinity;
  run(hit, 0.5, (w) => {
    const [ball, b] = w.bodies;
    deepest = Math.max(deepest, ball.x + r - (b.x - box));
  });
  assert.ok(deepest < 0.03, `the ball went ${deepest} m into the box`);
  assert.ok(hit.bodies[0].x < hit.bodies[1].x, "the ball stayed on its side of the box");
});

test("resting objects stay exactly at rest, alone or stacked", () => {
  const scene = makeScene([
    {
      shape: "box",
      size: "large",
      material: "heavy",
      motion: "resting",
      x: -2.5,
      y: SIZES.large / 2,
    },
    {
      shape: "triangle",
      size: "medium",
      motion: "resting",
      x: 0,
      y: shapeGeometry("triangle", "medium").inradius,
    },
    { shape: "ball", size: "small", motion: "resting", x: 1.5, y: SIZES.small / 2 },
    { shape: "box", size: "small", motion: "resting", x: -2.5, y: SIZES.large + SIZES.small / 2 },
  ]);
  const world = createWorld(scene);
  const start = world.bodies.map((b) => [b.x, b.y, b.angle]);
  let drift = 0;
  run(world, 10, (w) => {
    w.bodies.forEach((b, i) => {
      drift = Math.max(
        drift,
        Math.abs(b.x - start[i][0]),
        Math.abs(b.y - start[i][1]),
        Math.abs(b.angle - start[i][2]),
      );
    });
  });
  assert.ok(drift < 1e-6, `resting objects moved by ${drift}`);
  assert.ok(
    world.bodies.every((b) => b.asleep),
    "all settle into sleep",
  );
  assert.equal(world.events.length, 0, "resting contact is not an event");
});

test("a dropped ball rebounds to about e² of its drop height", () => {
  const e = MATERIALS.bouncy.restitution;
  const r = SIZES.medium / 2;
  const world = createWorld(makeScene([{ x: 0, y: 2 + r }]));
  let bounced = false;
  let apex = 0;
  run(world, 1.8, (w) => {
    const b = w.bodies[0];
    if (b.vy > 0) bounced = true;
    if (bounced) apex = Math.max(apex, b.y - r);
  });
  assert.ok(Math.abs(apex - e * e * 2) < 0.03 * 2, `apex ${apex}, expected ${e * e * 2}`);
});

test("a rolled ball rolls without slipping and slows; a pushed box slides to a stop", () => {
  const r = SIZES.medium / 2;
  const world = createWorld(
    makeScene([
      { motion: "rolled", x: -3, y: r, vx: 2 },
      { shape: "box", material: "heavy", motion: "rolled", x: 1, y: SIZES.medium / 2, vx: 3 },
    ]),
  );
  run(world, 1);
  const [ball, box] = world.bodies;
  assert.ok(ball.vx > 1 && ball.vx < 2, `ball speed ${ball.vx}`);
  assert.ok(
    Math.abs(ball.w + ball.vx / r) < 1e-3 * Math.abs(ball.vx / r),
    "spin follows ground speed",
  );
  // Sliding with friction μ stops after v² / (2 μ g).
  const mu = MATERIALS.heavy.friction;
  const expected = 1 + (3 * 3) / (2 * mu * 9.81);
  assert.ok(Math.abs(box.vx) < 1e-9, `box still sliding at ${box.vx}`);
  assert.ok(Math.abs(box.x - expected) < 0.05, `box stopped at ${box.x}, expected ${expected}`);
  assert.ok(Math.abs(box.angle) < 1e-6, "the box slid flat without tipping");
});

test("object collisions conserve momentum and bounce off walls lose speed by restitution", () => {
  const r = SIZES.medium / 2;
  const world = createWorld(
    makeScene(
      [
        { material: "heavy", motion: "thrown", x: -1, y: 3, vx: 3, vy: 0 },
        { material: "light", motion: "thrown", x: 1, y: 3, vx: -2, vy: 0 },
      ],
      { gravity: 0.5 },
    ),
  );
  const momentum = () => world.bodies.reduce((s, b) => s + b.mass * b.vx, 0);
  const before = momentum();
  run(world, 0.6);
  assert.ok(
    world.events.some((e) => e.kind === "collision"),
    "they collided",
  );
  assert.ok(Math.abs(momentum() - before) < 1e-9 * Math.abs(before) + 1e-12);
  assert.ok(world.bodies[1].vx > 0 && world.bodies[0].vx < 3, "they pushed each other");

  const wall = createWorld(
    makeScene([{ motion: "thrown", x: 3, y: 2, vx: 5, vy: 0 }], { gravity: 0.01 }),
  );
  run(wall, 0.5);
  const e = MATERIALS.bouncy.restitution;
  assert.ok(Math.abs(wall.bodies[0].vx + e * 5) < 0.05, `rebound ${wall.bodies[0].vx}`);
  assert.ok(wall.bodies[0].x < 4 - r);
  assert.equal(wall.events[0]?.surface, "right-wall");
});
