/**
 * Validation of the evaluator against the simulator: the simulator's own clips score near
 * perfect, and each corruption costs exactly the scores it should.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Video } from "../../media/video.ts";
import { assertPasses, erase } from "../../testing/eval-support.ts";
import type { SceneConstraints } from "../constraints.ts";
import { expandPrompt } from "../expand.ts";
import { restingHeight, sampleScene } from "../sample.ts";
import type { SceneSpec } from "../scene.ts";
import { simulate } from "../simulate.ts";
import {
  blankFrames,
  freezeFrames,
  reverseFrames,
  rotateHue,
  slowDown,
  speedUp,
} from "./adversarial.ts";
import { deleteObjectMidClip, recolorObject, shuffleFrames, teleportObject } from "./corrupt.ts";
import { type EvalReport, evaluateVideo } from "./evaluate.ts";
import { formatSummary } from "./summary.ts";

const SIZE = { width: 64, height: 64, fps: 24, seconds: 3 };

test("the world's own clips, judged from the video and the prompt alone, pass", () => {
  const prompts: [string, number][] = [
    ["a red ball bouncing on a sunny day", 1],
    ["a large blue box rolling left indoors", 2],
    ["two large balls bouncing at night", 3],
    ["a big green triangle thrown right underwater", 4],
    ["a yellow ball dropped at sunset behind a pillar", 5],
    ["a purple box and an orange ball", 6],
    ["a white ball rolling right while the camera pans left", 8],
  ];
  for (const [prompt, seed] of prompts) {
    const { scene } = expandPrompt(prompt, seed);
    const { video } = simulate(scene, SIZE);
    const r = evaluateVideo(video, { prompt });
    assertPasses(r, `${prompt} (seed ${seed})`, ["adherence", "physics", "permanence"]);
  }
});

test("start places: the world's clip shows each object where the prompt put it; swapped, caught", () => {
  const prompt = "a red ball on the left and a blue box in the middle at night";
  const swappedPrompt = "a red ball in the middle and a blue box on the left at night";
  for (const [width, height] of [
    [64, 64],
    [96, 64],
  ]) {
    const size = { ...SIZE, width, height };
    for (const seed of [11, 12]) {
      const { scene } = expandPrompt(prompt, seed);
      const { video } = simulate(scene, size);
      const r = evaluateVideo(video, { prompt });
      const where = `${width}×${height} seed ${seed}`;
      assert.equal(r.adherence!.place, 1, `${where}\n${formatSummary(r)}`);
      const swapped = evaluateVideo(video, { prompt: swappedPrompt });
      assert.equal(swapped.adherence!.place, 0, `${where}\n${formatSummary(swapped)}`);
      assert.ok(swapped.scores.adherence! < r.scores.adherence!, where);
    }
  }
});

test("sampled scenes of every theme, camera and frame size pass without a prompt", () => {
  const sizes = [
    { width: 64, height: 64, fps: 24 },
    { width: 96, height: 64, fps: 30 },
    { width: 64, height: 96, fps: 12 },
    { width: 128, height: 72, fps: 24 },
  ];
  for (let seed = 20; seed < 32; seed++) {
    const size = sizes[seed % sizes.length];
    const scene = sampleScene(seed);
    const { video } = simulate(scene, { ...size, seconds: 3 });
    const r = evaluateVideo(video);
    const what = `seed ${seed} ${scene.theme} ${scene.camera} ${size.width}×${size.height}@${size.fps}`;
    assertPasses(r, what, ["physics", "permanence"]);
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
      y: restingHeight("box", "large"),
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
      y: restingHeight("triangle", "large"),
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
/** Judged as a user's clip is: the video and what was asked for, no ground truth. */
const judge = (video: Video) => evaluateVideo(video, { constraints: WANTED });
const baseline = judge(stage.video);

test("the clean stage itself scores perfectly, every part of adherence included", () => {
  const a = baseline.adherence!;
  for (const part of [a.color, a.shape, a.count, a.theme, a.motion, a.direction, a.bounce]) {
    assert.equal(part, 1, formatSummary(baseline));
  }
  assert.ok(baseline.scores.physics! >= 0.95, formatSummary(baseline));
  assert.equal(baseline.scores.permanence, 1);
  assert.ok(baseline.scores.temporal! >= 0.95, formatSummary(baseline));
  assert.ok(baseline.verdict.pass, formatSummary(baseline));
  // With the simulator's scene as reference, the continuation is measured too.
  const ref = evaluateVideo(stage.video, { constraints: WANTED, reference: REFERENCE });
  assert.ok(ref.scores.continuation! >= 0.95, formatSummary(ref));
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

test("shuffled frames: time collapses and the verdict fails; colours and shapes stay", () => {
  const r = judge(shuffleFrames(stage.video, 3));
  assert.ok(r.scores.temporal! < 0.3, `temporal ${r.scores.temporal}\n${formatSummary(r)}`);
  assert.equal(r.verdict.pass, false);
  assert.ok(r.verdict.failed.some((f) => f.startsWith("temporal")));
  assert.equal(r.adherence!.color, 1);
  assert.equal(r.adherence!.shape, 1);
});

test("a frozen clip fails: the motions asked for are not there", () => {
  const r = judge(freezeFrames(stage.video));
  assert.equal(r.verdict.pass, false, formatSummary(r));
  assert.ok(r.adherence!.motion! < 0.5, formatSummary(r));
  assert.ok(r.adherence!.bounce === 0, formatSummary(r));
});

test("a black clip gets no score it has no evidence for, and fails", () => {
  const r = judge(blankFrames(stage.video));
  assert.equal(r.objects.length, 0);
  assert.equal(r.scores.permanence, null);
  assert.equal(r.scores.physics, null);
  assert.equal(r.adherence!.theme, 0, "black is no day");
  assert.equal(r.verdict.pass, false);
  const unchecked = r.verdict.unmeasured.map((u) => u.what);
  for (const what of ["physics", "permanence"]) assert.ok(unchecked.includes(what), what);
  assert.match(formatSummary(r), /not checked: permanence: no object found/);
  // Without a prompt, nothing scores below the mark: the verdict still says why it fails.
  const bare = evaluateVideo(blankFrames(stage.video));
  assert.equal(bare.verdict.pass, false);
  const text = formatSummary(bare);
  assert.match(text, /Verdict: FAIL \(.*no object found/);
  assert.match(text, /physics unmeasured/);
  assert.doesNotMatch(text, /Problems: none found/, text);
  assert.match(text, /it fails on what is missing above/);
});

test("a reversed clip fails physics: bounces gain energy, slides speed up", () => {
  const r = judge(reverseFrames(stage.video));
  assert.ok(r.scores.physics! < 0.9, formatSummary(r));
  assert.equal(r.verdict.pass, false);
});

test("slowed 2× (frames held) fails time; sped 2× fails gravity", () => {
  const slow = judge(slowDown(stage.video, 2));
  assert.ok(slow.temporal.noHeldFrames! < 0.5, formatSummary(slow));
  assert.equal(slow.verdict.pass, false);
  const fast = judge(speedUp(stage.video, 2));
  assert.ok(fast.physics.gravity! < 0.5, formatSummary(fast));
  assert.ok(fast.physics.measuredGravity! > 25, `${fast.physics.measuredGravity} m/s²`);
  assert.equal(fast.verdict.pass, false);
});

test("hue rotated: the colours asked for are gone", () => {
  const r = judge(rotateHue(stage.video, 180));
  assert.ok((r.adherence!.color ?? 0) < 0.5, formatSummary(r));
  assert.equal(r.verdict.pass, false);
});

test("a recoloured object: adherence loses its colour, physics and permanence stay", () => {
  const r = judge(recolorObject(stage.video, "red", "purple"));
  assert.ok(r.adherence!.color! <= 2 / 3 + 1e-9, `colour ${r.adherence!.color}`);
  assert.ok(
    r.adherence!.checks.some((c) => c.what === "object 1 color" && !c.ok && c.got === "purple"),
  );
  assert.ok(r.scores.adherence! < baseline.scores.adherence!);
  assertKept(r, ["physics", "permanence"]);
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

test("an object deleted mid-clip in the open: permanence drops and the verdict fails", () => {
  const r = judge(deleteObjectMidClip(stage.video, "red", 30));
  assert.ok(r.scores.permanence! < 0.9, `permanence ${r.scores.permanence}`);
  assert.equal(r.verdict.pass, false);
  const gone = r.permanence.events.find((e) => e.kind === "vanish" && !e.ok);
  assert.ok(gone, JSON.stringify(r.permanence.events));
  assert.equal(gone.frame, 30);
  assert.equal(gone.place, "open");
  assert.equal(r.adherence!.color, 1);
  // (Physics may fall too: the erased ball's faint rim can be left hanging where it was.)
});

/**
 * Two blue boxes slide left; the rear one runs into the front one, which has stopped, and both
 * come to rest against each other, showing as one blob for most of the clip.
 */
function touchingBoxes() {
  const box = (
    id: number,
    size: "medium" | "large",
    material: "heavy" | "light",
    x: number,
    vx: number,
  ) => ({
    id,
    shape: "box" as const,
    color: "blue" as const,
    size,
    material,
    motion: "rolled" as const,
    x,
    y: restingHeight("box", size),
    vx,
    vy: 0,
  });
  const scene: SceneSpec = {
    seed: 3,
    theme: "sunset",
    camera: "still",
    arenaWidth: 7,
    gravity: 9.81,
    occluders: [],
    objects: [box(0, "medium", "heavy", -0.5, -3), box(1, "large", "light", 2.4, -5.2)],
  };
  // A stand-in for the floor behind them: the same stage with one small box far to the right.
  const bare = simulate({ ...scene, objects: [box(0, "medium", "heavy", 3, 0)] }, SIZE).video;
  return { scene, ...simulate(scene, SIZE), bare };
}
const TOUCHING = touchingBoxes();
const TWO_BLUE = "two blue boxes sliding left at sunset";

test("two boxes of one colour resting against each other are both in view throughout", () => {
  const { truth, video } = TOUCHING;
  // Precondition: from frame 20 on they touch (less than a pixel between them).
  for (const f of truth.frames.slice(20)) {
    const [a, b] = f.objects;
    assert.ok(b.bbox[0] - a.bbox[2] < 1, `frame ${f.frame}: ${a.bbox} ${b.bbox}`);
  }
  const r = evaluateVideo(video, { prompt: TWO_BLUE });
  assertPasses(r, TWO_BLUE, ["adherence", "physics", "permanence"]);
  assert.equal(r.objects.length, 2, formatSummary(r));
  for (const o of r.objects) assert.deepEqual([o.firstFrame, o.lastFrame, o.seen], [0, 71, 72]);
  assert.equal(r.adherence!.count, 1);
  assert.equal(r.adherence!.presence, 1);
  assert.deepEqual(r.permanence.events, []);
});

test("one of two touching boxes of one colour erased: still caught", () => {
  const { truth, video, bare } = TOUCHING;
  // From frame 36 the front box (and its shadow) is painted over with the bare floor, up to the
  // rear box's own columns.
  const cut = erase(video, bare, 36, (i) => {
    const [a, b] = truth.frames[i].objects;
    return [Math.floor(a.bbox[0]) - 2, Math.floor(b.bbox[0]), Math.floor(a.bbox[1]) - 2];
  });
  const r = evaluateVideo(cut, { prompt: TWO_BLUE });
  assert.equal(r.verdict.pass, false, formatSummary(r));
  const gone = r.permanence.events.find((e) => e.kind === "vanish" && !e.ok);
  assert.ok(gone, JSON.stringify(r.permanence.events));
  assert.equal(gone.frame, 36);
  assert.ok(r.scores.permanence! < 0.9, formatSummary(r));
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
    "time",
    "continuation",
    "Verdict: FAIL",
    "teleports at frame 30",
  ]) {
    assert.ok(text.includes(word), `summary lacks "${word}":\n${text}`);
  }
  const clean = formatSummary(baseline);
  assert.match(clean, /Problems: none found/);
  assert.match(clean, /Verdict: PASS/);
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

test("the camera is measured from the floor, never taken from the prompt", () => {
  for (const [prompt, camera] of [
    ["a blue box sliding left while the camera pans right", "pan-right"],
    ["a white ball rolling right while the camera pans left", "pan-left"],
    ["a yellow box slides to the left at night", "still"],
  ] as const) {
    const { scene } = expandPrompt(prompt, 4);
    const { video } = simulate(scene, { width: 96, height: 64, fps: 24, seconds: 3 });
    const r = evaluateVideo(video, { prompt });
    assert.equal(r.camera.source, "measured", formatSummary(r));
    assert.equal(r.camera.motion, camera, formatSummary(r));
    assert.ok(r.verdict.pass, formatSummary(r));
  }
  // A still clip judged against a prompt that asked for a pan fails on the camera.
  const { scene } = expandPrompt("a yellow box slides to the left at night", 4);
  const { video } = simulate(scene, { width: 96, height: 64, fps: 24, seconds: 3 });
  const r = evaluateVideo(video, {
    prompt: "a yellow box slides to the left at night, camera pans left",
  });
  assert.equal(r.adherence!.camera, 0, formatSummary(r));
  assert.equal(r.verdict.pass, false);
});
