import assert from "node:assert/strict";
import { test } from "node:test";
import { OBJECT_COLORS } from "../scene.ts";
import { THEME_BACKGROUNDS } from "../themes.ts";
import { deleteObjectMidClip, recolorObject, shuffleFrames, teleportObject } from "./corrupt.ts";
import { paintVideo } from "./synthetic.ts";

const SKY = THEME_BACKGROUNDS.day.skyBottom;
const GROUND = THEME_BACKGROUNDS.day.ground;

/** A red disc moving right over sky and a blue one resting on the ground. */
const clip = paintVideo(64, 64, 24, 24, (c, i) => {
  c.fillScene(SKY, GROUND, 51);
  c.disc(10 + i, 20.5, 4, OBJECT_COLORS.red);
  c.disc(40, 47, 4, OBJECT_COLORS.blue);
});

/** Centroid and count of the pixels within `tol` of a colour. */
function colorMass(frame: Uint8Array, rgb: readonly number[], tol = 40) {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let p = 0; p < 64 * 64; p++) {
    const d = Math.hypot(
      frame[p * 3] - rgb[0],
      frame[p * 3 + 1] - rgb[1],
      frame[p * 3 + 2] - rgb[2],
    );
    if (d < tol) {
      n++;
      sx += p % 64;
      sy += Math.floor(p / 64);
    }
  }
  return { n, x: n ? sx / n : Number.NaN, y: n ? sy / n : Number.NaN };
}

test("shuffleFrames reorders the very same frames, by seed", () => {
  const a = shuffleFrames(clip, 1);
  const b = shuffleFrames(clip, 1);
  const c = shuffleFrames(clip, 2);
  const index = (v: typeof clip) =>
    v.frames.map((f) => clip.frames.findIndex((g) => Buffer.compare(f, g) === 0));
  const ia = index(a);
  assert.deepEqual(
    [...ia].sort((x, y) => x - y),
    [...clip.frames.keys()],
  );
  assert.notDeepEqual(ia, [...clip.frames.keys()]);
  assert.deepEqual(index(b), ia);
  assert.notDeepEqual(index(c), ia);
  assert.notEqual(a.frames[0], clip.frames[ia[0]], "frames are copies, not shared");
  assert.throws(() => shuffleFrames(clip, Number.NaN), /seed must be a finite number/);
});

test("recolorObject repaints one object, rim included, and nothing else", () => {
  const out = recolorObject(clip, "red", "green");
  for (let f = 0; f < clip.frames.length; f++) {
    assert.equal(colorMass(out.frames[f], OBJECT_COLORS.red, 90).n, 0, `red left in frame ${f}`);
    const was = colorMass(clip.frames[f], OBJECT_COLORS.red);
    const now = colorMass(out.frames[f], OBJECT_COLORS.green);
    assert.equal(now.n, was.n);
    assert.ok(Math.abs(now.x - was.x) < 1e-9 && Math.abs(now.y - was.y) < 1e-9);
    // The blue disc and the background are untouched.
    assert.deepEqual(
      colorMass(out.frames[f], OBJECT_COLORS.blue),
      colorMass(clip.frames[f], OBJECT_COLORS.blue),
    );
    assert.deepEqual(
      out.frames[f].subarray(0, 64 * 3 * 10),
      clip.frames[f].subarray(0, 64 * 3 * 10),
    );
  }
  assert.throws(() => recolorObject(clip, "red", "teal" as never), /unknown colour "teal"/);
});

test("teleportObject moves an object by whole pixels from a frame on", () => {
  const out = teleportObject(clip, "red", 10, 20, -5);
  for (let f = 0; f < 10; f++) assert.deepEqual(out.frames[f], clip.frames[f]);
  for (let f = 10; f < clip.frames.length; f++) {
    const was = colorMass(clip.frames[f], OBJECT_COLORS.red);
    const now = colorMass(out.frames[f], OBJECT_COLORS.red);
    assert.equal(now.n, was.n, `frame ${f}`);
    assert.ok(Math.abs(now.x - was.x - 20) < 1e-9 && Math.abs(now.y - was.y + 5) < 1e-9);
    // Where it was is sky again.
    const o = (20 * 64 + Math.round(was.x)) * 3;
    assert.deepEqual([...out.frames[f].subarray(o, o + 3)], [...SKY]);
  }
  assert.throws(() => teleportObject(clip, "red", 10, 1.5), /whole pixels/);
  assert.throws(() => teleportObject(clip, "red", 99, 4), /frame must be an integer in 0\.\.23/);
});

test("deleteObjectMidClip removes an object for good and restores what it hid", () => {
  const out = deleteObjectMidClip(clip, "red", 12);
  for (let f = 0; f < 12; f++) assert.deepEqual(out.frames[f], clip.frames[f]);
  for (let f = 12; f < clip.frames.length; f++) {
    assert.equal(colorMass(out.frames[f], OBJECT_COLORS.red, 120).n, 0, `frame ${f}`);
    // Every sky row is uniform again.
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 64; x++) {
        const o = (y * 64 + x) * 3;
        assert.deepEqual(
          [...out.frames[f].subarray(o, o + 3)],
          [...SKY],
          `pixel ${x},${y} frame ${f}`,
        );
      }
    }
  }
  assert.throws(() => deleteObjectMidClip({ ...clip, frames: [] }, "red", 0), /has no frames/);
});
