/**
 * Every motion a prompt names is plain to see, measured on screen in pixels from the rendered
 * frames (not in world units): a slide or a roll crosses at least a quarter of the frame, a fall
 * ends on the ground inside the clip, a bounce rebounds at least twice, and nothing asked for
 * a camera that moves.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { groundRow } from "./camera.ts";
import { expandPrompt } from "./expand.ts";
import { OBJECT_COLORS } from "./scene.ts";
import { simulate } from "./simulate.ts";

const W = 64;
const H = 64;
const SEEDS = [0, 1, 2, 3, 4, 5];

/**
 * Per frame, the object's pixels: those at least half painted in its colour over the row's
 * background (scenery of other colours stays out), their centroid and lowest row.
 * Anti-aliased edges of the smallest objects (2–3 px across) count that way too.
 */
function onScreen(prompt: string, seed: number) {
  const { scene } = expandPrompt(prompt, seed);
  const { video } = simulate(scene, { width: W, height: H, fps: 24, seconds: 3 });
  const rgb = OBJECT_COLORS[scene.objects[0].color];
  const dist = (f: Uint8Array, o: number, c: readonly number[]) =>
    Math.hypot(f[o] - c[0], f[o + 1] - c[1], f[o + 2] - c[2]);
  const track = video.frames.map((f) => {
    let n = 0;
    let sx = 0;
    let bottom = -1;
    for (let y = 0; y < H; y++) {
      // The row's background: its median colour (objects cover a small part of a row).
      const bg = [0, 1, 2].map((k) => {
        const vs = Array.from({ length: W }, (_, x) => f[(y * W + x) * 3 + k]).sort(
          (a, b) => a - b,
        );
        return vs[W >> 1];
      });
      for (let x = 0; x < W; x++) {
        const o = (y * W + x) * 3;
        // A blend a·colour + (1 − a)·background lies (1 − a)·|colour − background| from the colour.
        if (dist(f, o, rgb) >= 0.5 * dist(rgb as unknown as Uint8Array, 0, bg)) continue;
        n++;
        sx += x;
        bottom = Math.max(bottom, y);
      }
    }
    return n >= 1 ? { x: sx / n, bottom } : null;
  });
  return { scene, track };
}

/** The lowest row an object standing on the ground paints at least half (within a pixel). */
const FLOOR_ROW = Math.floor(groundRow(H)) - 2;

test("a slide or a roll crosses at least a quarter of the frame", () => {
  for (const prompt of [
    "a yellow box slides to the left at night",
    "a red triangle sliding right on a sunny day",
    "a blue ball rolls to the right indoors",
    "a large green box rolling left underwater",
  ]) {
    for (const seed of SEEDS) {
      const { scene, track } = onScreen(prompt, seed);
      assert.equal(scene.camera, "still", "no camera motion was asked for");
      const seen = track.filter((t) => t !== null);
      const xs = seen.map((t) => t.x);
      const travel = Math.max(...xs) - Math.min(...xs);
      assert.ok(travel >= W / 4, `${prompt} (seed ${seed}): moved ${travel.toFixed(1)} px`);
    }
  }
});

test("a fall ends on the ground inside the clip", () => {
  for (const prompt of ["a purple box falls at sunset", "a white ball dropped on a sunny day"]) {
    for (const seed of SEEDS) {
      const { track } = onScreen(prompt, seed);
      const seen = track.filter((t) => t !== null);
      assert.ok(seen.length >= 0.9 * track.length, `${prompt} (seed ${seed}) is in view`);
      const first = seen[0];
      const last = track[track.length - 1];
      assert.ok(first.bottom < FLOOR_ROW - 4, `${prompt} (seed ${seed}) starts in the air`);
      assert.ok(last && last.bottom >= FLOOR_ROW, `${prompt} (seed ${seed}) ends on the ground`);
    }
  }
});

test("a bounce rebounds at least twice", () => {
  for (const prompt of ["a red ball bouncing on a sunny day", "an orange ball bounces at night"]) {
    for (const seed of SEEDS) {
      const { track } = onScreen(prompt, seed);
      // A rebound: down to the floor, then up again by at least 2 px.
      let rebounds = 0;
      let low = false;
      let top = Number.POSITIVE_INFINITY;
      for (const t of track) {
        if (!t) continue;
        if (t.bottom >= FLOOR_ROW) {
          low = true;
          top = t.bottom;
        } else if (low && t.bottom <= top - 2) {
          rebounds++;
          low = false;
        }
      }
      assert.ok(rebounds >= 2, `${prompt} (seed ${seed}): ${rebounds} rebounds`);
    }
  }
});
