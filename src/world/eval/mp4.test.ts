/**
 * The evaluator on clips that went through an ordinary H.264 encode (writeMp4's defaults: crf
 * 12, yuv420p, so colour at half resolution): they must score like the rendered frames they
 * came from, and the corruptions the evaluator catches on rendered frames it must still catch.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { readVideo } from "../../media/read-video.ts";
import type { Video } from "../../media/video.ts";
import { writeMp4 } from "../../media/write-mp4.ts";
import { groundRow } from "../camera.ts";
import { expandPrompt } from "../expand.ts";
import { stripeColor } from "../render.ts";
import { OBJECT_COLORS } from "../scene.ts";
import { simulate } from "../simulate.ts";
import { GROUND_MARK_SHADE, OCCLUDER_COLORS, THEME_BACKGROUNDS } from "../themes.ts";
import { deleteObjectMidClip, recolorObject, teleportObject } from "./corrupt.ts";
import { type EvalReport, evaluateVideo } from "./evaluate.ts";
import { measureChromaSmear } from "./smear.ts";
import { formatSummary } from "./summary.ts";
import { paintVideo } from "./synthetic.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-eval-mp4-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let encodes = 0;
/** The clip as it comes back from writeMp4 (default lossy settings) and readVideo. */
async function throughMp4(video: Video): Promise<Video> {
  const path = join(dir, `clip-${encodes++}.mp4`);
  await writeMp4(video, path);
  const back = await readVideo(path);
  assert.equal(back.frames.length, video.frames.length, "every frame comes back");
  return back;
}

/** Night, day and underwater; every frame shape; pillars, walls and crates in front and behind. */
const CLIPS: { prompt: string; seed: number; width: number; height: number }[] = [
  // The two clips this work started from: a small red ball read as a box, and a pale pillar's
  // edges read as white objects.
  { prompt: "red ball bouncing at night", seed: 1, width: 96, height: 64 },
  { prompt: "red ball bouncing at night", seed: 3, width: 96, height: 64 },
  { prompt: "a red ball bouncing at night behind a pillar", seed: 11, width: 64, height: 64 },
  {
    prompt: "a blue box rolling left on a sunny day in front of a wall",
    seed: 12,
    width: 96,
    height: 64,
  },
  {
    prompt: "a green triangle thrown right underwater behind a crate",
    seed: 13,
    width: 64,
    height: 96,
  },
  { prompt: "two balls bouncing at night in front of a pillar", seed: 14, width: 128, height: 72 },
  { prompt: "a white ball rolling right at night behind a wall", seed: 17, width: 64, height: 96 },
  {
    prompt: "a pink ball and a black box on a sunny day behind a pillar",
    seed: 18,
    width: 128,
    height: 72,
  },
];

function describe(r: EvalReport): string {
  return `${JSON.stringify(r.scores)}\n${formatSummary(r)}`;
}

test("encoded clips score like the rendered frames they came from", async () => {
  const themes = new Set<string>();
  for (const c of CLIPS) {
    const { scene } = expandPrompt(c.prompt, c.seed);
    themes.add(scene.theme);
    const { video } = simulate(scene, { width: c.width, height: c.height, fps: 24, seconds: 3 });
    const encoded = await throughMp4(video);
    const raw = evaluateVideo(video, { prompt: c.prompt });
    const mp4 = evaluateVideo(encoded, { prompt: c.prompt });
    const what = `"${c.prompt}" seed ${c.seed} ${c.width}×${c.height}`;
    assert.equal(raw.video.chromaSmear, 0, `rendered frames have exact colour: ${what}`);
    assert.ok(mp4.video.chromaSmear > 0.8, `yuv420p smears colour: ${what}`);
    // Where the rendered clip reaches the bar, the encoded one must too.
    for (const name of ["adherence", "physics", "permanence"] as const) {
      const before = raw.scores[name] ?? 1;
      const now = mp4.scores[name] ?? 1;
      if (before >= 0.9) {
        assert.ok(now >= 0.9, `${name} ${now} < 0.9 after encoding ${what}\n${describe(mp4)}`);
      }
    }
    assert.equal(
      mp4.objects.length,
      raw.objects.length,
      `object count after encoding ${what}\nraw: ${describe(raw)}\nmp4: ${describe(mp4)}`,
    );
    assert.deepEqual(
      mp4.objects.map((o) => o.color).sort(),
      raw.objects.map((o) => o.color).sort(),
      `colours after encoding ${what}`,
    );
  }
  assert.deepEqual([...themes].sort(), ["day", "night", "underwater"]);
});

test("the README's two blue boxes, at rest against each other, are both in view after encoding", async () => {
  // They slide left and stop touching, one blob from frame 29 on: both objects must stay seen.
  const prompt = "two blue boxes sliding left on a sunny day";
  const { scene } = expandPrompt(prompt, 7);
  const { video } = simulate(scene, { width: 96, height: 64, fps: 24, seconds: 4 });
  const r = evaluateVideo(await throughMp4(video), { prompt: "two blue boxes sliding left" });
  assert.ok(r.verdict.pass, describe(r));
  assert.equal(r.objects.length, 2, describe(r));
  for (const o of r.objects) assert.equal(o.seen, 96, describe(r));
  assert.equal(r.adherence!.presence, 1);
  assert.equal(r.permanence.violations, 0);
});

test("a large ball's dark shadow on a floor row a wall shares is not an object after encoding", async () => {
  // Night: a marked floor, a wall over a quarter of the frame reaching down onto the floor's
  // first row, and a large striped white ball rolling on the floor over its own dark shadow.
  // After encoding, that floor row's pixels scatter over several colour bins while the wall's
  // stay together; were the wall taken for the row's background, the shadow under the ball
  // would be too dark for a shadow of it and read as a black object riding along.
  const width = 64;
  const height = 96;
  const night = THEME_BACKGROUNDS.night;
  const floorY = Math.ceil(groundRow(height));
  const mark = night.ground.map((v) => v * GROUND_MARK_SHADE) as [number, number, number];
  const white = OBJECT_COLORS.white;
  const stripe = stripeColor(white);
  const r = 7.5;
  const video = paintVideo(width, height, 24, 36, (c, i) => {
    c.fillScene(night.skyBottom, night.ground, floorY);
    for (let x = 20; x < width; x += 12) c.rect(x, floorY, x + 3, height, mark);
    c.rect(0, 20, 17, floorY + 1, OCCLUDER_COLORS.wall);
    const cx = 26 + 0.8 * i;
    const cy = floorY - r;
    c.shadow(cx, floorY + 0.5, 0.8 * r, 1.5, 0.6);
    c.disc(cx, cy, r, white);
    // The stripe turns with the ball; it is the ball's own darker shade.
    const a = 0.3 * i;
    const [ux, uy] = [Math.cos(a), Math.sin(a)];
    c.paint(
      (x, y) =>
        (x - cx) ** 2 + (y - cy) ** 2 <= r * r &&
        Math.abs((x - cx) * ux + (y - cy) * uy) <= 0.2 * r,
      [cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1],
      stripe,
    );
  });
  const prompt = "a white ball rolling right at night";
  const raw = evaluateVideo(video, { prompt });
  assert.deepEqual(
    raw.objects.map((o) => o.color),
    ["white"],
    `precondition: the painted frames hold one white object\n${describe(raw)}`,
  );
  const mp4 = evaluateVideo(await throughMp4(video), { prompt });
  assert.ok(mp4.video.chromaSmear > 0.8, "yuv420p smears colour");
  assert.deepEqual(
    mp4.objects.map((o) => o.color),
    ["white"],
    describe(mp4),
  );
});

test("a box's shadow, tinted by the box after encoding, is neither an object nor a brief blob", async () => {
  // The floor's first row shares its chroma with the box's lowest: the dark shadow under a red
  // box comes back red-brown, a blend of brown over the sand. It must stay the box's shadow, or
  // the blob beside the box breaks the run in which its slide along the floor is judged.
  const prompt = "a red box rolling left underwater";
  const { scene } = expandPrompt(prompt, 5039);
  const { video } = simulate(scene, { width: 128, height: 128, fps: 24, seconds: 3 });
  const raw = evaluateVideo(video, { prompt });
  assert.equal(
    raw.ignoredBlobs,
    0,
    `precondition: no stray blobs in the rendered frames\n${describe(raw)}`,
  );
  const mp4 = evaluateVideo(await throughMp4(video), { prompt });
  assert.deepEqual(
    mp4.objects.map((o) => o.color),
    ["red"],
    describe(mp4),
  );
  assert.equal(mp4.ignoredBlobs, 0, describe(mp4));
  assert.ok(
    mp4.physics.ground.some((e) => e.kind === "slides" && e.ok),
    `the slide is judged\n${describe(mp4)}`,
  );
});

test("corruptions are still caught after encoding", async () => {
  const prompt = "a blue box rolling left on a sunny day in front of a wall";
  const { scene, constraints } = expandPrompt(prompt, 12);
  const { video, truth } = simulate(scene, { width: 96, height: 64, fps: 24, seconds: 3 });
  const judge = async (v: Video) => evaluateVideo(await throughMp4(v), { constraints });
  const clean = await judge(video);
  assert.equal(clean.scores.permanence, 1, describe(clean));
  assert.equal(clean.physics.teleports.length, 0, describe(clean));

  const recoloured = await judge(recolorObject(video, "blue", "purple"));
  assert.ok(
    recoloured.adherence!.checks.some((c) => c.what.endsWith("color") && !c.ok),
    describe(recoloured),
  );

  // At frame 30 the box is in view, and 30 px to its left is open floor.
  const at = truth.frames[30].objects[0];
  assert.ok(at.visible === 1 && at.px - 30 > 8, "precondition: the box can jump left in view");
  const teleported = await judge(teleportObject(video, "blue", 30, -30));
  assert.ok(
    teleported.physics.teleports.some((t) => Math.abs(t.frame - 30) <= 1),
    describe(teleported),
  );
  assert.ok(teleported.scores.physics! <= 0.5, describe(teleported));

  const deleted = await judge(deleteObjectMidClip(video, "blue", 30));
  assert.ok(deleted.scores.permanence! < 0.9, describe(deleted));
  assert.equal(deleted.verdict.pass, false, describe(deleted));
});

test("the smear measure tells rendered frames from encoded ones", async () => {
  const { scene } = expandPrompt("two balls bouncing at night in front of a pillar", 14);
  const { video } = simulate(scene, { width: 64, height: 64, fps: 24, seconds: 1 });
  const exact = measureChromaSmear(video.frames, 64, 64);
  assert.equal(exact.smear, 0);
  assert.ok(exact.sharpness !== null && exact.sharpness > 0.95, JSON.stringify(exact));
  const lossy = measureChromaSmear((await throughMp4(video)).frames, 64, 64);
  assert.ok(lossy.smear > 0.8, JSON.stringify(lossy));
  assert.throws(() => measureChromaSmear([], 64, 64), /no frames/);
  assert.throws(() => measureChromaSmear([new Uint8Array(5)], 64, 64), /frame has 5 bytes/);
});
