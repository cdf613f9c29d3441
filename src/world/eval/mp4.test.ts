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
import { expandPrompt } from "../expand.ts";
import { simulate } from "../simulate.ts";
import { deleteObjectMidClip, recolorObject, teleportObject } from "./corrupt.ts";
import { type EvalReport, evaluateVideo } from "./evaluate.ts";
import { measureChromaSmear } from "./smear.ts";
import { formatSummary } from "./summary.ts";

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
