import assert from "node:assert/strict";
import { test } from "node:test";
import { OCCLUDER_COLORS, THEME_BACKGROUNDS } from "../themes.ts";
import { rowBackground } from "./background.ts";
import type { Rgb } from "./colour.ts";

const FLOOR = THEME_BACKGROUNDS.night.ground;
const WALL = OCCLUDER_COLORS.wall;

/** One row of `width` pixels, coloured by `at(x)`. */
function row(width: number, at: (x: number) => Rgb): Uint8Array {
  const out = new Uint8Array(width * 3);
  for (let x = 0; x < width; x++) out.set(at(x).map(Math.round), x * 3);
  return out;
}

/** Deterministic noise in [-4, 4], different per pixel and channel. */
function noise(x: number, k: number): number {
  return ((x * 7 + k * 3) % 9) - 4;
}

test("exact colours: the colour most of the row shows, exactly", () => {
  // 40 px of floor, 24 px of wall: the floor is the background.
  const rows = rowBackground(
    row(64, (x) => (x < 24 ? WALL : FLOOR)),
    64,
    1,
  );
  assert.deepEqual(rows[0], [...FLOOR]);
  // No colour shared by a fifth of the row: the per-channel median.
  const spread = rowBackground(
    row(10, (x) => [x * 20, 100, 200 - x * 10]),
    10,
    1,
  );
  assert.deepEqual(spread[0], [100, 100, 160]);
});

test("a noisy floor still outvotes a flat wall that covers fewer of its pixels", () => {
  // After an H.264 encode a floor row's pixels scatter a few levels around its colour, over
  // several 4-level bins, while a wall's face stays flat: counted bin by bin, the wall's 24 px
  // beat any one bin of the floor's 40, and the floor's shadows would be judged against the
  // wall (too dark to be shadows: black objects).
  const rows = rowBackground(
    row(64, (x) =>
      x < 24 ? WALL : [FLOOR[0] + noise(x, 0), FLOOR[1] + noise(x, 1), FLOOR[2] + noise(x, 2)],
    ),
    64,
    1,
  );
  const d = Math.hypot(...rows[0].map((v, k) => v - FLOOR[k]));
  assert.ok(d <= 3, `row background ${rows[0]} is the floor ${FLOOR}`);
});
