import assert from "node:assert/strict";
import { test } from "node:test";
import { OBJECT_COLORS } from "../scene.ts";
import { THEME_BACKGROUNDS } from "../themes.ts";
import {
  blankFrames,
  freezeFrames,
  reverseFrames,
  rotateHue,
  sameClip,
  slowDown,
  speedUp,
} from "./adversarial.ts";
import { paintVideo } from "./synthetic.ts";

/** A red disc moving right one pixel a frame over a day sky. */
const clip = paintVideo(32, 32, 24, 8, (c, i) => {
  c.fillScene(THEME_BACKGROUNDS.day.skyBottom, THEME_BACKGROUNDS.day.ground, 26);
  c.disc(6 + i, 12.5, 3, OBJECT_COLORS.red);
});
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

test("frozen, blank and reversed clips keep the length and change the frames as named", () => {
  const frozen = freezeFrames(clip);
  assert.equal(frozen.frames.length, 8);
  assert.ok(frozen.frames.every((f) => same(f, clip.frames[0])));
  assert.notEqual(frozen.frames[1], frozen.frames[0], "frames are copies");
  const blank = blankFrames(clip);
  assert.ok(blank.frames.every((f) => f.length === 32 * 32 * 3 && f.every((v) => v === 0)));
  const back = reverseFrames(clip);
  back.frames.forEach((f, i) => {
    assert.ok(same(f, clip.frames[7 - i]));
  });
  assert.ok(sameClip(reverseFrames(back), clip));
  assert.ok(!sameClip(back, clip));
  assert.ok(sameClip(clip, clip));
});

test("slowDown repeats every frame; speedUp keeps every other one", () => {
  const slow = slowDown(clip, 2);
  assert.equal(slow.frames.length, 16);
  assert.equal(slow.fps, clip.fps);
  slow.frames.forEach((f, i) => {
    assert.ok(same(f, clip.frames[i >> 1]));
  });
  const fast = speedUp(clip, 2);
  assert.equal(fast.frames.length, 4);
  fast.frames.forEach((f, i) => {
    assert.ok(same(f, clip.frames[2 * i]));
  });
  assert.throws(() => slowDown(clip, 1.5), /factor must be a whole number in 2\.\.8/);
  assert.throws(() => speedUp({ ...clip, frames: clip.frames.slice(0, 3) }, 2), /too short/);
});

test("rotateHue turns colours about grey and keeps greys", () => {
  const half = rotateHue(clip, 180);
  const at = (v: typeof clip, x: number, y: number) => {
    const o = (y * 32 + x) * 3;
    return [...v.frames[0].subarray(o, o + 3)];
  };
  // The disc's centre: red becomes a blue-green of about the same brightness.
  const [r, g, b] = at(half, 6, 12);
  assert.ok(r < 100 && g > 100 && b > 100, `${[r, g, b]}`);
  const grey = paintVideo(4, 4, 24, 1, (c) => c.rect(0, 0, 4, 4, [128, 128, 128]));
  assert.deepEqual([...rotateHue(grey, 90).frames[0].subarray(0, 3)], [128, 128, 128]);
  assert.ok(sameClip(rotateHue(rotateHue(grey, 120), 240), grey));
  assert.throws(() => rotateHue(clip, 360), /not a whole turn/);
  assert.throws(() => freezeFrames({ ...clip, frames: [] }), /has no frames/);
});
