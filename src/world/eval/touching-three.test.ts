/**
 * Three objects of one colour that come to rest touching show as one blob: the judge must still
 * see three, each in view throughout, and must still catch one of them erased. Below, rows of
 * three to five painted boxes check the tracks' shares themselves.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertPasses, erase, GROUND_Y, paintedTracks } from "../../testing/eval-support.ts";
import { restingHeight } from "../sample.ts";
import { OBJECT_COLORS, type ObjectSpec, type SceneSpec, type SizeName } from "../scene.ts";
import { simulate } from "../simulate.ts";
import { evaluateVideo } from "./evaluate.ts";
import { formatSummary } from "./summary.ts";

const SIZE = { width: 64, height: 64, fps: 24, seconds: 3 };
const FRAMES = SIZE.fps * SIZE.seconds;

const box = (
  id: number,
  size: SizeName,
  material: "heavy" | "light",
  x: number,
  vx: number,
): ObjectSpec => ({
  id,
  shape: "box",
  color: "blue",
  size,
  material,
  motion: "rolled",
  x,
  y: restingHeight("box", size),
  vx,
  vy: 0,
});

/**
 * Three blue boxes slide left: the front one stops, the middle one runs into it and the rear one
 * into the middle one, and from frame 17 on all three rest in a row, one blob.
 */
function threeBoxes() {
  const scene: SceneSpec = {
    seed: 3,
    theme: "sunset",
    camera: "still",
    arenaWidth: 7,
    gravity: 9.81,
    occluders: [],
    objects: [
      box(0, "medium", "heavy", -1.5, -3),
      box(1, "large", "light", 0.9, -5.2),
      box(2, "medium", "heavy", 2.9, -7),
    ],
  };
  // A stand-in for the floor behind them: the same stage with one small box far to the right.
  const bare = simulate({ ...scene, objects: [box(0, "small", "heavy", 3, 0)] }, SIZE).video;
  return { scene, ...simulate(scene, SIZE), bare };
}
const THREE = threeBoxes();
const THREE_BLUE = "three blue boxes sliding left at sunset";

test("three boxes of one colour resting in a row are all in view throughout", () => {
  const { truth, video } = THREE;
  // Precondition: from frame 17 on they touch (less than a pixel between neighbours).
  for (const f of truth.frames.slice(17)) {
    const [a, b, c] = f.objects;
    assert.ok(b.bbox[0] - a.bbox[2] < 1, `frame ${f.frame}: ${a.bbox} ${b.bbox}`);
    assert.ok(c.bbox[0] - b.bbox[2] < 1, `frame ${f.frame}: ${b.bbox} ${c.bbox}`);
  }
  const r = evaluateVideo(video, { prompt: THREE_BLUE });
  assertPasses(r, THREE_BLUE, ["adherence", "physics", "permanence"]);
  assert.equal(r.objects.length, 3, formatSummary(r));
  for (const o of r.objects) {
    assert.deepEqual([o.firstFrame, o.lastFrame, o.seen], [0, FRAMES - 1, FRAMES]);
  }
  assert.equal(r.adherence!.count, 1);
  assert.equal(r.adherence!.presence, 1);
  assert.deepEqual(r.permanence.events, []);
});

test("the front one of three touching boxes of one colour erased: still caught", () => {
  const { truth, video, bare } = THREE;
  // From frame 36 the front box (and its shadow) is painted over up to the middle box's columns.
  const cut = erase(video, bare, 36, (i) => {
    const [a, b] = truth.frames[i].objects;
    return [Math.floor(a.bbox[0]) - 2, Math.floor(b.bbox[0]), Math.floor(a.bbox[1]) - 2];
  });
  const r = evaluateVideo(cut, { prompt: THREE_BLUE });
  assert.equal(r.verdict.pass, false, formatSummary(r));
  const gone = r.permanence.events.find((e) => e.kind === "vanish" && !e.ok);
  assert.ok(gone, JSON.stringify(r.permanence.events));
  assert.equal(gone.frame, 36);
  assert.ok(r.scores.permanence! < 0.9, formatSummary(r));
});

test("the middle one of three touching boxes of one colour erased: still caught", () => {
  const { truth, video, bare } = THREE;
  // From frame 36 the middle box is painted over between its neighbours' columns, leaving a gap.
  const cut = erase(video, bare, 36, (i) => {
    const [a, b, c] = truth.frames[i].objects;
    return [Math.ceil(a.bbox[2]), Math.floor(c.bbox[0]), Math.floor(b.bbox[1]) - 2];
  });
  const r = evaluateVideo(cut, { prompt: THREE_BLUE });
  assert.equal(r.verdict.pass, false, formatSummary(r));
  const gone = r.permanence.events.find((e) => e.kind === "vanish" && !e.ok);
  assert.ok(gone, JSON.stringify(r.permanence.events));
  assert.equal(gone.frame, 36);
  assert.ok(r.scores.permanence! < 0.9, formatSummary(r));
});

/**
 * Mixed shapes: a blue box at rest, one blue ball dropped onto its top and another dropped beside
 * it; from frame 30 on the three rest touching, one blob shaped like an L.
 */
function boxAndTwoBalls() {
  const ball = (id: number, x: number, y: number): ObjectSpec => ({
    id,
    shape: "ball",
    color: "blue",
    size: "medium",
    material: "heavy",
    motion: "dropped",
    x,
    y,
    vx: 0,
    vy: 0,
  });
  const scene: SceneSpec = {
    seed: 3,
    theme: "sunset",
    camera: "still",
    arenaWidth: 7,
    gravity: 9.81,
    occluders: [],
    objects: [
      { ...box(0, "medium", "heavy", 0, 0), motion: "resting" },
      ball(1, 0, 2),
      ball(2, 0.77, 4.5),
    ],
  };
  const bare = simulate({ ...scene, objects: [box(0, "small", "heavy", 3, 0)] }, SIZE).video;
  return { scene, ...simulate(scene, SIZE), bare };
}
const MIXED = boxAndTwoBalls();
const MIXED_PROMPT = "a blue box with two blue balls dropped on it at sunset";

test("a box and two balls of one colour resting against each other are all in view", () => {
  const { truth, video } = MIXED;
  // Precondition: from frame 30 on the balls touch the box (one on its top, one at its side).
  for (const f of truth.frames.slice(30)) {
    const [b, top, side] = f.objects;
    assert.ok(b.bbox[1] - top.bbox[3] < 1, `frame ${f.frame}: ${b.bbox} ${top.bbox}`);
    assert.ok(side.bbox[0] - b.bbox[2] < 1, `frame ${f.frame}: ${b.bbox} ${side.bbox}`);
    assert.ok(side.bbox[1] < b.bbox[3], `frame ${f.frame}: ${b.bbox} ${side.bbox}`);
  }
  const r = evaluateVideo(video, { prompt: MIXED_PROMPT });
  assertPasses(r, MIXED_PROMPT, ["adherence", "physics", "permanence"]);
  assert.equal(r.objects.length, 3, formatSummary(r));
  assert.deepEqual(r.objects.map((o) => o.shape).sort(), ["ball", "ball", "box"]);
  for (const o of r.objects) {
    assert.deepEqual([o.firstFrame, o.lastFrame, o.seen], [0, FRAMES - 1, FRAMES]);
  }
  assert.equal(r.adherence!.count, 1);
  assert.equal(r.adherence!.presence, 1);
  assert.deepEqual(r.permanence.events, []);
});

test("the ball on top of a box, beside another ball of their colour, erased: still caught", () => {
  const { truth, video, bare } = MIXED;
  // From frame 48 the ball on top is painted over with the sky behind it, down to the box's top.
  const cut = erase(
    video,
    bare,
    48,
    (i) => {
      const [, top] = truth.frames[i].objects;
      return [Math.floor(top.bbox[0]) - 2, Math.ceil(top.bbox[2]) + 2, Math.floor(top.bbox[1]) - 2];
    },
    (i) => Math.floor(truth.frames[i].objects[0].bbox[1]),
  );
  const r = evaluateVideo(cut, { prompt: MIXED_PROMPT });
  assert.equal(r.verdict.pass, false, formatSummary(r));
  const gone = r.permanence.events.find((e) => e.kind === "vanish" && !e.ok);
  assert.ok(gone, JSON.stringify(r.permanence.events));
  assert.equal(gone.frame, 48);
  assert.ok(r.scores.permanence! < 0.9, formatSummary(r));
});

/**
 * Painted boxes of one colour (sides given) slide left and come to rest in a row against each
 * other: the front one stops at x = 8 and each of the others runs into the one ahead of it.
 */
function boxesInARow(sides: number[]) {
  const starts = [22, 32, 42, 52, 60];
  const speeds = [0, 1.2, 1.6, 2, 2.4];
  const place = (k: number, i: number): number => {
    if (k === 0) return 8 + 14 * Math.max(0, 1 - i / 16) ** 2;
    const touching = place(k - 1, i) + (sides[k - 1] + sides[k]) / 2;
    return Math.max(touching, starts[k] - speeds[k] * i);
  };
  const { tracks } = paintedTracks((c, i) => {
    sides.forEach((s, k) => {
      c.square(place(k, i), GROUND_Y - s / 2, s, 0, OBJECT_COLORS.blue);
    });
  });
  const what = tracks.map((t) => `${t.id}: frames ${t.obs[0].frame}–${t.obs.at(-1)!.frame}`);
  return { tracks, place, what: what.join(", ") };
}

// With four or five, the blob is too big for any one track to take: it is split all the same.
for (const sides of [
  [7, 9, 7],
  [6, 6, 6, 6],
  [6, 6, 6, 6, 6],
]) {
  test(`${sides.length} painted boxes of one colour in a row keep their tracks, each its share`, () => {
    const { tracks, place, what } = boxesInARow(sides);
    // Precondition: from frame 20 on they form one blob.
    assert.ok(
      sides.every(
        (_, k) => k === 0 || place(k, 20) - place(k - 1, 20) <= (sides[k - 1] + sides[k]) / 2,
      ),
    );
    assert.equal(tracks.length, sides.length, what);
    sides.forEach((side, k) => {
      const t = tracks.find((t) => Math.abs(t.obs[0].cx - place(k, 0)) < 1);
      assert.ok(t, `box ${k}: ${what}`);
      // Seen in every frame, without a gap or a jump.
      assert.equal(t.obs.length, 48, what);
      assert.deepEqual(t.links, []);
      for (const o of t.obs.filter((o) => o.frame >= 20)) {
        assert.ok(o.merged, `box ${k} frame ${o.frame}: merged ${o.merged}`);
        const x = place(k, o.frame);
        assert.ok(Math.abs(o.cx - x) < 0.5, `box ${k} frame ${o.frame}: x ${o.cx} for ${x}`);
        assert.ok(Math.abs(o.area / side ** 2 - 1) < 0.15, `box ${k} frame ${o.frame}: ${o.area}`);
      }
    });
  });
}
