/**
 * Validation of the evaluator against the simulator: the simulator's own clips score near
 * perfect, and each corruption costs exactly the scores it should.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Video } from "../../media/video.ts";
import type { SceneConstraints } from "../constraints.ts";
import { expandPrompt } from "../expand.ts";
import type { SceneSpec } from "../scene.ts";
import { simulate } from "../simulate.ts";
import { deleteObjectMidClip, recolorObject, shuffleFrames, teleportObject } from "./corrupt.ts";
import { type EvalReport, evaluateVideo } from "./evaluate.ts";
import { formatSummary } from "./summary.ts";

const SIZE = { width: 64, height: 64, fps: 24, seconds: 3 };

test("the simulator's own clips score near perfect on every score", () => {
  const prompts: [string, number][] = [
    ["a red ball bouncing on a sunny day", 1],
    ["a large blue box rolling left indoors", 2],
    ["two large balls bouncing at night", 3],
    ["a big green triangle thrown right underwater", 4],
    ["a yellow ball dropped at sunset behind a pillar", 5],
    ["a purple box and an orange ball", 6],
    ["three objects in front of a wall", 7],
    ["a white ball rolling right while the camera pans left", 8],
  ];
  for (const [prompt, seed] of prompts) {
    const { scene } = expandPrompt(prompt, seed);
    const { video } = simulate(scene, SIZE);
    const r = evaluateVideo(video, { prompt, reference: { scene, contextFrames: 12 } });
    const what = `${prompt} (seed ${seed}): ${JSON.stringify(r.scores)}\n${formatSummary(r)}`;
    for (const [name, value] of Object.entries(r.scores)) {
      // Continuation has nothing to compare when every object has left the view by then.
      const measurable =
        name !== "continuation" || r.continuation!.horizons.some((h) => h.error !== null);
      assert.ok(value !== null || !measurable, `${name} missing for ${what}`);
      if (value !== null) assert.ok(value >= 0.9, `${name} ${value} < 0.9 for ${what}`);
    }
  }
});

test("sampled scenes of every theme, camera and frame size score near perfect", () => {
  const sizes = [
    { width: 64, height: 64, fps: 24 },
    { width: 96, height: 64, fps: 30 },
    { width: 64, height: 96, fps: 12 },
    { width: 128, height: 72, fps: 24 },
  ];
  for (let seed = 20; seed < 32; seed++) {
    const size = sizes[seed % sizes.length];
    const { scene } = expandPrompt("objects", seed);
    const { video } = simulate(scene, { ...size, seconds: 3 });
    const r = evaluateVideo(video, { reference: { scene, contextFrames: size.fps / 2 } });
    const what = `seed ${seed} ${scene.theme} ${scene.camera} ${size.width}×${size.height}@${size.fps}`;
    assert.ok((r.scores.physics ?? 1) >= 0.9, `physics for ${what}\n${formatSummary(r)}`);
    assert.ok(r.scores.permanence >= 0.9, `permanence for ${what}\n${formatSummary(r)}`);
    assert.ok((r.scores.continuation ?? 1) >= 0.9, `continuation for ${what}\n${formatSummary(r)}`);
  }
});

/**
 * A clean stage for the corruptions: still camera, no occluders, a red ball thrown right
 * (it bounces), a blue box sliding left, a green triangle at rest.
 */
const STAGE: SceneSpec = {
  seed: 11,
  theme: "day",
  camera: "still",
  arenaWidth: 8,
  gravity: 9.81,
  occluders: [],
  objects: [
    {
      id: 0,
      shape: "ball",
      color: "red",
      size: "large",
      material: "bouncy",
      motion: "thrown",
      x: -2.8,
      y: 0.9,
      vx: 2.2,
      vy: 4.5,
    },
    {
      id: 1,
      shape: "box",
      color: "blue",
      size: "large",
      material: "light",
      motion: "rolled",
      x: 3,
      y: 0.4,
      vx: -2.5,
      vy: 0,
    },
    {
      id: 2,
      shape: "triangle",
      color: "green",
      size: "large",
      material: "light",
      motion: "resting",
      x: -0.5,
      y: 0.2309,
      vx: 0,
      vy: 0,
    },
  ],
};
const WANTED: SceneConstraints = {
  theme: "day",
  occluders: [],
  objects: [
    { color: "red", shape: "ball", motion: "thrown", direction: "right", bounces: true },
    { color: "blue", shape: "box", motion: "rolled", direction: "left" },
    { color: "green", shape: "triangle", motion: "resting" },
  ],
};
const REFERENCE = { scene: STAGE, contextFrames: 12 };
const stage = simulate(STAGE, SIZE);
const judge = (video: Video) => evaluateVideo(video, { constraints: WANTED, reference: REFERENCE });
const baseline = judge(stage.video);

test("the clean stage itself scores perfectly, every part of adherence included", () => {
  const a = baseline.adherence!;
  for (const part of [a.color, a.shape, a.count, a.theme, a.motion, a.direction, a.bounce]) {
    assert.equal(part, 1, formatSummary(baseline));
  }
  assert.ok(baseline.scores.physics! >= 0.95, formatSummary(baseline));
  assert.equal(baseline.scores.permanence, 1);
  assert.ok(baseline.scores.continuation! >= 0.95);
  assert.deepEqual(baseline.objects.map((o) => `${o.color} ${o.shape}`).sort(), [
    "blue box",
    "green triangle",
    "red ball",
  ]);
});

/** The scores that must stay where the baseline has them. */
function assertKept(
  r: EvalReport,
  parts: ("adherence" | "physics" | "permanence" | "continuation")[],
) {
  for (const p of parts) {
    assert.ok(
      (r.scores[p] ?? 0) >= (baseline.scores[p] ?? 0) - 0.08,
      `${p} fell from ${baseline.scores[p]} to ${r.scores[p]}\n${formatSummary(r)}`,
    );
  }
}

test("shuffled frames: physics and continuation collapse; colours, shapes and permanence stay", () => {
  const r = judge(shuffleFrames(stage.video, 3));
  assert.ok(r.scores.physics! < 0.3, `physics ${r.scores.physics}`);
  assert.ok(r.physics.noTeleport! < 0.3);
  assert.ok(
    r.scores.continuation! < baseline.scores.continuation! - 0.2,
    `continuation ${r.scores.continuation}`,
  );
  assert.equal(r.adherence!.color, 1);
  assert.equal(r.adherence!.shape, 1);
  assertKept(r, ["permanence"]);
});

test("a recoloured object: adherence loses its colour, physics, permanence and continuation stay", () => {
  const r = judge(recolorObject(stage.video, "red", "purple"));
  assert.ok(r.adherence!.color! <= 2 / 3 + 1e-9, `colour ${r.adherence!.color}`);
  assert.ok(
    r.adherence!.checks.some((c) => c.what === "object 1 color" && !c.ok && c.got === "purple"),
  );
  assert.ok(r.scores.adherence! < baseline.scores.adherence!);
  assertKept(r, ["physics", "permanence", "continuation"]);
  assert.equal(r.adherence!.shape, 1);
});

test("a teleported object: the no-teleport score drops, colours and permanence stay", () => {
  // At frame 30 the red ball is in the open mid-frame; 20 px to the left is open sky too.
  const at = stage.truth.frames[30].objects[0];
  assert.ok(at.visible === 1 && at.px - 20 > 5, "precondition: the ball can jump left in view");
  const r = judge(teleportObject(stage.video, "red", 30, -20));
  assert.equal(r.physics.teleports.length, 1, JSON.stringify(r.physics.teleports));
  assert.equal(r.physics.teleports[0].frame, 30);
  assert.ok(r.physics.noTeleport! <= 0.5);
  assert.ok(r.scores.physics! <= 0.5, `physics ${r.scores.physics}`);
  assert.equal(r.adherence!.color, 1);
  assertKept(r, ["permanence"]);
});

test("an object deleted mid-clip in the open: permanence drops, physics and colours stay", () => {
  const r = judge(deleteObjectMidClip(stage.video, "red", 30));
  assert.ok(r.scores.permanence < 0.9, `permanence ${r.scores.permanence}`);
  const gone = r.permanence.events.find((e) => e.kind === "vanish" && !e.ok);
  assert.ok(gone, JSON.stringify(r.permanence.events));
  assert.equal(gone.frame, 30);
  assert.equal(gone.place, "open");
  assert.equal(r.adherence!.color, 1);
  assertKept(r, ["physics"]);
});

test("the summary fits on a screen and names the scores and the problems", () => {
  const text = formatSummary(judge(teleportObject(stage.video, "red", 30, -20)));
  const lines = text.split("\n");
  assert.ok(lines.length <= 30, `${lines.length} lines`);
  assert.ok(
    lines.every((l) => l.length <= 100),
    `lines fit a terminal:\n${text}`,
  );
  for (const word of [
    "adherence",
    "physics",
    "permanence",
    "continuation",
    "teleports at frame 30",
  ]) {
    assert.ok(text.includes(word), `summary lacks "${word}":\n${text}`);
  }
  const clean = formatSummary(baseline);
  assert.match(clean, /Problems: none found/);
  assert.match(clean, /red ball/);
});

test("the report is plain JSON", () => {
  const back = JSON.parse(JSON.stringify(baseline));
  assert.deepEqual(back, baseline);
});

test("bad input gets a clear error", () => {
  const v = stage.video;
  assert.throws(() => evaluateVideo({ ...v, frames: [] }), /has no frames/);
  assert.throws(
    () => evaluateVideo({ ...v, frames: [v.frames[0], v.frames[1].subarray(0, 100)] }),
    /frame 1 has 100 bytes/,
  );
  assert.throws(() => evaluateVideo({ ...v, fps: 0 }), /fps must be > 0/);
  assert.throws(() => evaluateVideo({ ...v, width: 0 }), /width and height/);
  assert.throws(
    () => evaluateVideo(v, { reference: { scene: STAGE, contextFrames: 500 } }),
    /contextFrames must be an integer in 1\.\.72/,
  );
  assert.throws(
    () => evaluateVideo(v, { prompt: "a red ball", constraints: WANTED }),
    /a prompt or constraints, not both/,
  );
  assert.throws(() => evaluateVideo(v, { prompt: "   " }), /prompt is empty/);
  assert.throws(() => evaluateVideo(v, { prompt: "a red blue ball" }), /red|blue/);
  assert.throws(
    () =>
      evaluateVideo(v, { constraints: { objects: [{ color: "teal" as never }], occluders: [] } }),
    /colour of object 0/,
  );
});
