import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SceneConstraints } from "./constraints.ts";
import { objectPlace, PLACES, placeRange } from "./place.ts";
import {
  ARENA_WIDTHS,
  boundingRadius,
  constraintViolations,
  GRAVITY,
  objectSatisfies,
  restingHeight,
  sampleScene,
} from "./sample.ts";
import {
  CAMERAS,
  MOTIONS,
  type ObjectSpec,
  OCCLUDER_KINDS,
  type SceneSpec,
  SHAPES,
  THEMES,
} from "./scene.ts";

const EPS = 1e-6;

/** Every physical promise the sampler makes about a scene, as assertion failures. */
function checkScene(scene: SceneSpec): void {
  const half = scene.arenaWidth / 2;
  assert.ok(
    scene.arenaWidth >= ARENA_WIDTHS[0] && scene.arenaWidth <= ARENA_WIDTHS[1],
    `arena ${scene.arenaWidth}`,
  );
  assert.equal(scene.gravity, GRAVITY);
  assert.ok(scene.objects.length >= 1 && scene.objects.length <= 4);
  scene.objects.forEach((o, i) => {
    assert.equal(o.id, i);
    const r = boundingRadius(o.shape, o.size);
    const ground = restingHeight(o.shape, o.size);
    assert.ok(Math.abs(o.x) + r <= half + EPS, `object ${i} outside the walls: ${o.x}`);
    assert.ok(o.y >= ground - EPS, `object ${i} below the ground: ${o.y}`);
    checkMotion(o, ground);
  });
  for (let a = 0; a < scene.objects.length; a++)
    for (let b = a + 1; b < scene.objects.length; b++) {
      const p = scene.objects[a];
      const q = scene.objects[b];
      const d = Math.hypot(p.x - q.x, p.y - q.y);
      const need = boundingRadius(p.shape, p.size) + boundingRadius(q.shape, q.size);
      assert.ok(d >= need, `objects ${a} and ${b} overlap (${d} < ${need})`);
    }
  assert.ok(scene.occluders.length <= 3);
  for (const occ of scene.occluders) {
    assert.ok(OCCLUDER_KINDS.includes(occ.kind));
    assert.ok(occ.layer === "front" || occ.layer === "back");
    assert.ok(Math.abs(occ.x) + occ.width / 2 <= half, `occluder outside the arena: ${occ.x}`);
    assert.ok(occ.width > 0 && occ.height > 0);
  }
}

function checkMotion(o: ObjectSpec, ground: number): void {
  const what = `${o.motion} object ${o.id} (${o.x}, ${o.y}, ${o.vx}, ${o.vy})`;
  switch (o.motion) {
    case "dropped":
      assert.ok(o.y >= 1.5 && o.y <= 3, what);
      assert.equal(o.vy, 0, what);
      assert.ok(Math.abs(o.vx) <= 1, what);
      break;
    case "thrown":
      assert.ok(o.vy >= 3 && o.vy <= 5.5, what);
      assert.ok(Math.abs(o.vx) >= 1.5 && Math.abs(o.vx) <= 3.5, what);
      assert.ok(o.y - ground <= 0.8 + EPS, what);
      break;
    case "rolled":
      assert.ok(Math.abs(o.y - ground) < 1e-3, what);
      assert.equal(o.vy, 0, what);
      assert.ok(Math.abs(o.vx) >= 2 && Math.abs(o.vx) <= 6.5, what);
      break;
    case "resting":
      assert.ok(Math.abs(o.y - ground) < 1e-3, what);
      assert.equal(o.vx, 0, what);
      assert.equal(o.vy, 0, what);
      break;
  }
}

describe("sampleScene", () => {
  it("is deterministic in seed and constraints", () => {
    const c: SceneConstraints = { objects: [{ color: "red", bounces: true }], occluders: ["wall"] };
    assert.deepEqual(sampleScene(42, c), sampleScene(42, c));
    assert.deepEqual(sampleScene(7), sampleScene(7));
    assert.notDeepEqual(sampleScene(42, c), sampleScene(43, c));
  });

  it("draws physically sensible scenes covering every option", () => {
    const seen = { theme: new Set(), camera: new Set(), motion: new Set(), shape: new Set() };
    const counts = new Set<number>();
    const occluderCounts = new Set<number>();
    for (let seed = 0; seed < 600; seed++) {
      const scene = sampleScene(seed);
      checkScene(scene);
      assert.equal(scene.seed, seed);
      seen.theme.add(scene.theme);
      seen.camera.add(scene.camera);
      counts.add(scene.objects.length);
      occluderCounts.add(scene.occluders.length);
      for (const o of scene.objects) {
        seen.motion.add(o.motion);
        seen.shape.add(o.shape);
      }
      // Open colours are drawn without repeats, so objects stay easy to tell apart.
      const colors = scene.objects.map((o) => o.color);
      assert.equal(new Set(colors).size, colors.length, `seed ${seed}: ${colors}`);
    }
    assert.equal(seen.theme.size, THEMES.length);
    assert.equal(seen.camera.size, CAMERAS.length);
    assert.equal(seen.motion.size, MOTIONS.length);
    assert.equal(seen.shape.size, SHAPES.length);
    assert.deepEqual([...counts].sort(), [1, 2, 3, 4]);
    assert.deepEqual([...occluderCounts].sort(), [0, 1, 2]);
  });

  it("keeps front occluders off objects that stay in one place", () => {
    let checked = 0;
    for (let seed = 0; seed < 400; seed++) {
      const scene = sampleScene(seed, {
        objects: [{ motion: "resting" }, { motion: "dropped" }],
        occluders: ["pillar"],
        occluderLayers: ["front"],
      });
      const pillar = scene.occluders[0];
      assert.equal(pillar.layer, "front");
      for (const o of scene.objects) {
        const gap = Math.abs(o.x - pillar.x) - pillar.width / 2 - boundingRadius(o.shape, o.size);
        if (gap > 0) checked++;
      }
    }
    // Nearly always possible; the sampler only gives up when the arena has no room at all.
    assert.ok(checked >= 790, `only ${checked} of 800 objects kept clear`);
  });

  it("honours every constraint it is given", () => {
    const cases: SceneConstraints[] = [
      { objects: [{ shape: "ball", color: "red", bounces: true }], occluders: [], theme: "night" },
      {
        objects: [
          { shape: "box", color: "blue", motion: "rolled", direction: "left" },
          { shape: "box", color: "blue", motion: "rolled", direction: "left" },
        ],
        occluders: [],
        theme: "day",
        count: 2,
      },
      {
        objects: [
          {
            shape: "triangle",
            size: "small",
            material: "heavy",
            color: "green",
            motion: "thrown",
            direction: "right",
          },
        ],
        occluders: ["pillar"],
        occluderLayers: ["front"],
        camera: "pan-left",
      },
      {
        objects: [{ shape: "ball" }, { shape: "ball" }, { shape: "ball" }],
        occluders: [],
        count: 3,
      },
      { objects: [{ color: "white" }], occluders: ["crate", "wall", "pillar"], count: 4 },
      { objects: [{ direction: "left" }, { direction: "right", bounces: true }], occluders: [] },
      { objects: [{ motion: "dropped", direction: "right" }], occluders: [] },
      { objects: [{ motion: "rolled", bounces: true }], occluders: [], camera: "zoom-in" },
      { objects: [], occluders: ["wall"], occluderLayers: ["back"], count: 4 },
    ];
    for (const c of cases)
      for (let seed = 0; seed < 60; seed++) {
        const scene = sampleScene(seed, c);
        checkScene(scene);
        assert.deepEqual(constraintViolations(scene, c), [], `${JSON.stringify(c)} seed ${seed}`);
        // Described objects come first, in the prompt's order.
        for (const [i, oc] of c.objects.entries())
          assert.ok(objectSatisfies(scene.objects[i], oc, scene.arenaWidth));
        if (c.count) assert.equal(scene.objects.length, c.count);
        else if (c.objects.length > 0) assert.equal(scene.objects.length, c.objects.length);
      }
  });

  it("finds room for four large objects all rolling the same way", () => {
    const box = { shape: "box", size: "large", motion: "rolled", direction: "right" } as const;
    for (let seed = 0; seed < 200; seed++) {
      const scene = sampleScene(seed, { objects: [box, box, box, box], occluders: [] });
      checkScene(scene);
      assert.ok(scene.objects.every((o) => o.vx > 0));
    }
  });

  it("makes a bouncing object bouncy and falling unless told otherwise", () => {
    for (let seed = 0; seed < 100; seed++) {
      const [o] = sampleScene(seed, { objects: [{ bounces: true }], occluders: [] }).objects;
      assert.equal(o.material, "bouncy");
      assert.ok(o.motion === "dropped" || o.motion === "thrown");
      const [h] = sampleScene(seed, {
        objects: [{ bounces: true, material: "heavy", motion: "rolled" }],
        occluders: [],
      }).objects;
      assert.equal(h.material, "heavy");
      assert.equal(h.motion, "rolled");
    }
  });

  it("sets the sign of vx from a direction", () => {
    for (let seed = 0; seed < 100; seed++) {
      const scene = sampleScene(seed, {
        objects: [{ direction: "left" }, { direction: "right" }],
        occluders: [],
      });
      assert.ok(scene.objects[0].vx < 0);
      assert.ok(scene.objects[1].vx > 0);
      assert.notEqual(scene.objects[0].motion, "resting");
    }
  });

  it("starts an object in the third of the view it is placed in, whatever its motion", () => {
    for (const place of PLACES)
      for (const motion of MOTIONS)
        for (let seed = 0; seed < 40; seed++) {
          const scene = sampleScene(seed, { objects: [{ place, motion }], occluders: [] });
          checkScene(scene);
          const [o] = scene.objects;
          const [lo, hi] = placeRange(place, scene.arenaWidth);
          assert.ok(o.x > lo && o.x < hi, `${place} ${motion} seed ${seed}: x ${o.x}`);
          assert.equal(objectPlace(o, scene.arenaWidth), place);
        }
    // Places said for some objects leave the others free.
    const mixed = sampleScene(3, { objects: [{ place: "right" }, {}], occluders: [] });
    assert.equal(objectPlace(mixed.objects[0], mixed.arenaWidth), "right");
  });

  it("says plainly when the objects placed in one third cannot fit there", () => {
    const big = { shape: "box", size: "large", place: "middle" } as const;
    assert.throws(
      () => sampleScene(1, { objects: [big, big, big, big], occluders: [] }),
      /no room for object \d \(large box\) in the middle of the view/,
    );
  });

  it("rejects bad constraints with errors naming the problem", () => {
    const bad: [unknown, RegExp][] = [
      [{ objects: [], occluders: [], theme: "space" }, /unknown theme "space"/],
      [{ objects: [], occluders: [], camera: "dolly" }, /unknown camera "dolly"/],
      [{ objects: [{ shape: "star" }], occluders: [] }, /unknown shape of object 0: "star"/],
      [{ objects: [{ color: "grey" }], occluders: [] }, /unknown colour of object 0: "grey"/],
      [{ objects: [{ motion: "flying" }], occluders: [] }, /unknown motion/],
      [{ objects: [{ direction: "up" }], occluders: [] }, /unknown direction/],
      [{ objects: [{ place: "top" }], occluders: [] }, /unknown place of object 0: "top"/],
      [{ objects: [], occluders: [], count: 0 }, /count 0 is outside 1\.\.4/],
      [{ objects: [], occluders: [], count: 5 }, /count 5 is outside 1\.\.4/],
      [{ objects: [], occluders: [], count: 2.5 }, /count 2\.5 is outside/],
      [{ objects: [{}, {}], occluders: [], count: 1 }, /count 1 is smaller than the 2 objects/],
      [{ objects: [{}, {}, {}, {}, {}], occluders: [] }, /5 objects described; at most 4/],
      [
        { objects: [{ motion: "resting", bounces: true }], occluders: [] },
        /resting, so it cannot bounce/,
      ],
      [{ objects: [{ motion: "resting", direction: "left" }], occluders: [] }, /cannot move left/],
      [{ objects: [], occluders: ["tree"] }, /unknown occluder 0: "tree"/],
      [{ objects: [], occluders: ["wall"], occluderLayers: [] }, /one entry per occluder/],
      [{ objects: [], occluders: ["wall", "wall", "wall", "wall"] }, /4 occluders; at most 3/],
      [{ occluders: [] }, /objects must be an array/],
    ];
    for (const [c, message] of bad)
      assert.throws(() => sampleScene(1, c as SceneConstraints), message, JSON.stringify(c));
    assert.throws(() => sampleScene(Number.NaN), /seed must be a finite number/);
  });
});

describe("constraintViolations", () => {
  it("names each way a scene misses its constraints", () => {
    const scene = sampleScene(3, {
      objects: [{ color: "red", shape: "ball", motion: "rolled", direction: "right" }],
      occluders: ["pillar"],
      theme: "night",
      camera: "still",
      count: 1,
    });
    assert.deepEqual(
      constraintViolations(scene, { objects: [{ color: "red" }], occluders: ["pillar"] }),
      [],
    );
    const v = constraintViolations(scene, {
      objects: [{ color: "red", direction: "left" }],
      occluders: ["wall"],
      theme: "day",
      camera: "zoom-in",
      count: 2,
    });
    assert.equal(v.length, 5);
    assert.match(v.join("\n"), /theme is night, not day/);
    assert.match(v.join("\n"), /camera is still, not zoom-in/);
    assert.match(v.join("\n"), /1 objects, not 2/);
  });
});
