/**
 * The scores on clips painted by hand, so that each rule is checked on motion whose truth is
 * known exactly and independently of the world's simulator. At 64×64 the evaluator takes the
 * world's usual scale (64 px across the typical arena, ~9.1 px per metre), the floor at row 51.2.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { basePixelsPerMetre } from "../camera.ts";
import { OBJECT_COLORS } from "../scene.ts";
import { OCCLUDER_COLORS, THEME_BACKGROUNDS } from "../themes.ts";
import type { Rgb } from "./colour.ts";
import { evaluateVideo } from "./evaluate.ts";
import type { ObjectSummary } from "./objects.ts";
import { scoreAdherence } from "./scores/adherence.ts";
import { type Canvas, paintVideo } from "./synthetic.ts";
import { TYPICAL_ARENA_WIDTH } from "./view.ts";

const PPM = basePixelsPerMetre(TYPICAL_ARENA_WIDTH, 64, 64);
const FLOOR = 51.2;
const SKY = THEME_BACKGROUNDS.day.skyBottom;
const GROUND = THEME_BACKGROUNDS.day.ground;
const R = 3.2;

function clip(draw: (c: Canvas, t: number, i: number) => void, frames = 72) {
  return paintVideo(64, 64, 24, frames, (c, i, t) => {
    c.fillScene(SKY, GROUND, FLOOR);
    draw(c, t, i);
  });
}

/** Height (m) of a ball's centre dropped from h0 under gravity g, bouncing with restitution e. */
function drop(t: number, h0: number, g: number, e: number): number {
  const r = R / PPM;
  let h = h0;
  let v = 0;
  const dt = 1 / 4800;
  for (let s = 0; s < t / dt; s++) {
    v -= g * dt;
    h += v * dt;
    if (h < r && v < 0) {
      h = 2 * r - h;
      v = -v * e;
    }
  }
  return h;
}

const ball = (c: Canvas, x: number, h: number, color: Rgb = OBJECT_COLORS.red) =>
  c.disc(x, FLOOR - h * PPM, R, color);

test("a fall under the world's gravity scores well, a fall under half of it does not", () => {
  const good = evaluateVideo(clip((c, t) => ball(c, 30, drop(t, 4, 9.81, 0.7))));
  assert.ok(good.physics.gravity! >= 0.9, JSON.stringify(good.physics.flights));
  assert.ok(
    Math.abs(good.physics.measuredGravity! - 9.81) < 1,
    `g ${good.physics.measuredGravity}`,
  );
  assert.ok(good.physics.bounceEnergy! >= 0.9);
  const slow = evaluateVideo(clip((c, t) => ball(c, 30, drop(t, 4, 4.5, 0.7))));
  assert.ok(slow.physics.gravity! < 0.3, `gravity score ${slow.physics.gravity}`);
  assert.ok(slow.scores.physics! < good.scores.physics!);
});

test("a bounce that gains energy is caught", () => {
  // Falls from 2 m, then leaves the floor faster than it hit it (restitution 1.4).
  const r = evaluateVideo(clip((c, t) => ball(c, 30, drop(t, 2, 9.81, 1.4)), 40));
  assert.ok(r.physics.bounces.length >= 1, JSON.stringify(r.physics));
  assert.ok(r.physics.bounces[0].ratio > 1.2, `ratio ${r.physics.bounces[0].ratio}`);
  assert.ok(r.physics.bounceEnergy! < 0.5);
});

test("an object that vanishes in the open breaks permanence; one passing behind a pillar does not", () => {
  const roll = (c: Canvas, t: number) => ball(c, 8 + 16 * t, R / PPM);
  const vanish = evaluateVideo(clip((c, t, i) => (i < 30 ? roll(c, t) : undefined)));
  const gone = vanish.permanence.events.filter((e) => !e.ok);
  assert.equal(gone.length, 1, JSON.stringify(vanish.permanence.events));
  assert.equal(gone[0].kind, "vanish");
  assert.equal(gone[0].place, "open");
  assert.equal(gone[0].frame, 30);
  assert.ok(vanish.scores.permanence! < 0.5);
  assert.equal(vanish.verdict.pass, false);

  const pillar = (c: Canvas) => c.rect(28, 10, 36, FLOOR, OCCLUDER_COLORS.pillar);
  const behind = evaluateVideo(
    clip((c, t) => {
      roll(c, t);
      pillar(c);
    }),
  );
  assert.equal(behind.scores.permanence, 1, JSON.stringify(behind.permanence.events));
  assert.equal(behind.objects.length, 1, "one object, followed through its passage");
  const passage = behind.permanence.events.find((e) => e.kind === "reappear");
  assert.ok(passage?.ok && passage.place === "occluder");

  // Goes in red, comes out blue.
  const swapped = evaluateVideo(
    clip((c, t) => {
      const x = 8 + 16 * t;
      ball(c, x, R / PPM, x < 34 ? OBJECT_COLORS.red : OBJECT_COLORS.blue);
      pillar(c);
    }),
  );
  const swap = swapped.permanence.events.find((e) => e.kind === "swap");
  assert.ok(swap && !swap.ok, JSON.stringify(swapped.permanence.events));
  assert.match(swap.reason!, /red object went behind scenery and a blue one came out/);
  assert.ok(swapped.scores.permanence! < 1);
});

test("an object that changes size behind a pillar breaks permanence", () => {
  const r = evaluateVideo(
    clip((c, t) => {
      const x = 8 + 16 * t;
      c.disc(x, FLOOR - 5, x < 34 ? 3 : 5, OBJECT_COLORS.red);
      c.rect(28, 10, 36, FLOOR, OCCLUDER_COLORS.pillar);
    }),
  );
  const bad = r.permanence.events.find((e) => !e.ok);
  assert.ok(bad, JSON.stringify(r.permanence.events));
  assert.match(bad.reason!, /came back larger/);
});

const summary = (o: Partial<ObjectSummary> & Pick<ObjectSummary, "track" | "color">) =>
  ({
    shape: "ball",
    shapeConfidence: 1,
    sizePx: 6,
    firstFrame: 0,
    lastFrame: 71,
    seen: 72,
    leftView: false,
    motion: "resting",
    direction: null,
    bounces: 0,
    ...o,
  }) as ObjectSummary;

test("adherence pairs named objects with the tracked ones that fit them best", () => {
  const seen = [
    summary({ track: 0, color: "blue", shape: "box", motion: "rolled", direction: "left" }),
    summary({ track: 1, color: "red", motion: "thrown", direction: "right", bounces: 2 }),
  ];
  const r = scoreAdherence(
    {
      theme: "night",
      occluders: [],
      objects: [
        { color: "red", shape: "ball", bounces: true, direction: "right" },
        { color: "blue", shape: "triangle", motion: "rolled" },
      ],
    },
    seen,
    "day",
    2,
    { themeDistance: 5, frames: 72, permanence: [] },
  );
  assert.deepEqual(r.pairing, [1, 0]);
  assert.equal(r.color, 1);
  assert.equal(r.shape, 0.5);
  assert.equal(r.bounce, 1);
  assert.equal(r.direction, 1);
  assert.equal(r.motion, 1);
  assert.equal(r.count, 1);
  assert.equal(r.theme, 0);
  assert.equal(r.presence, 1);
  assert.ok(Math.abs(r.score! - 6.5 / 8) < 1e-9);
  const failed = r.checks.filter((c) => !c.ok).map((c) => c.what);
  assert.deepEqual(failed, ["object 2 shape", "theme"]);
});

test("adherence leaves out what the clip cannot show and scores missing objects as failures", () => {
  const tiny = summary({ track: 0, color: "green", shape: null, motion: null });
  const r = scoreAdherence(
    {
      occluders: [],
      count: 3,
      objects: [{ color: "green", shape: "triangle", motion: "dropped" }, { color: "red" }],
    },
    [tiny],
    "day",
    1,
    { themeDistance: 5, frames: 72, permanence: [] },
  );
  assert.equal(r.shape, null, "a shape too small to see is not held against it");
  assert.equal(r.motion, null);
  assert.equal(r.color, 0.5, "the red object is missing");
  assert.ok(Math.abs(r.count! - 1 / 3) < 1e-9);
  assert.ok(r.checks.some((c) => c.unjudged && c.what === "object 1 shape"));
  assert.equal(r.presence, 0.5, "the missing red object is not in view");
  const none = { themeDistance: 5, frames: 72, permanence: [] };
  // A prompt that names nothing still asks for one of the world's backgrounds.
  const nothing = scoreAdherence({ occluders: [], objects: [] }, [tiny], "day", 1, none);
  assert.equal(nothing.score, 1);
  assert.deepEqual(
    nothing.checks.map((c) => c.what),
    ["theme"],
  );
  const off = scoreAdherence({ occluders: [], objects: [] }, [tiny], "day", 1, {
    ...none,
    themeDistance: 90,
  });
  assert.equal(off.score, 0);
});

test("adherence: an object seen half the clip is not there, and a black clip is no night", () => {
  const half = summary({ track: 0, color: "red", lastFrame: 35, seen: 36 });
  const wants = { theme: "night" as const, occluders: [], objects: [{ color: "red" as const }] };
  const ctx = { themeDistance: 5, frames: 72, permanence: [] };
  const r = scoreAdherence(wants, [half], "night", 1, ctx);
  assert.equal(r.presence, 0);
  assert.equal(r.theme, 1);
  // The same sighting explained: it left over the frame's edge.
  assert.equal(scoreAdherence(wants, [{ ...half, leftView: true }], "night", 1, ctx).presence, 1);
  const black = scoreAdherence(wants, [half], "night", 1, { ...ctx, themeDistance: 90 });
  assert.equal(black.theme, 0);
  assert.match(black.checks.find((c) => c.what === "theme")!.got, /no theme \(nearest night/);
});
