/**
 * Colours of everything that is not a moving object: each theme's background (a vertical gradient
 * from the top of the frame to the ground line) and ground, the occluders, and the arena's side
 * posts. They are exported so the evaluator can recognise a theme and tell scenery from objects.
 * All are chosen well away (in RGB distance) from every OBJECT_COLORS entry, and the occluders
 * are neutral greys that no theme uses for its background.
 */
import type { OccluderKind, ThemeName } from "./scene.ts";

export type Rgb = readonly [number, number, number];

export interface ThemeBackground {
  /** Background colour at the top of the frame and just above the ground line. */
  skyTop: Rgb;
  skyBottom: Rgb;
  /** The floor, from the ground line to the bottom of the frame. */
  ground: Rgb;
}

export const THEME_BACKGROUNDS = {
  day: { skyTop: [110, 165, 230], skyBottom: [175, 210, 240], ground: [150, 135, 105] },
  sunset: { skyTop: [90, 50, 130], skyBottom: [235, 165, 120], ground: [70, 60, 80] },
  night: { skyTop: [25, 35, 85], skyBottom: [55, 70, 125], ground: [70, 72, 82] },
  indoor: { skyTop: [175, 160, 135], skyBottom: [200, 185, 160], ground: [140, 115, 90] },
  underwater: { skyTop: [20, 120, 150], skyBottom: [10, 65, 100], ground: [175, 165, 125] },
} as const satisfies Record<ThemeName, ThemeBackground>;

/** Occluders are flat neutral greys, one shade per kind, the same in every theme. */
export const OCCLUDER_COLORS = {
  pillar: [200, 200, 206],
  wall: [128, 130, 136],
  crate: [100, 100, 104],
} as const satisfies Record<OccluderKind, Rgb>;

/** The posts that stand on the arena's side walls (seen only when the view reaches past them). */
export const ARENA_POST_COLOR: Rgb = [80, 80, 88];
/** Width of a side post (m), standing just outside the arena. */
export const ARENA_POST_WIDTH = 0.15;

/** Background colour at a fraction f of the way from the top of the frame (0) to the ground line (1). */
export function skyColorAt(theme: ThemeBackground, f: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, f));
  return [
    theme.skyTop[0] + (theme.skyBottom[0] - theme.skyTop[0]) * u,
    theme.skyTop[1] + (theme.skyBottom[1] - theme.skyTop[1]) * u,
    theme.skyTop[2] + (theme.skyBottom[2] - theme.skyTop[2]) * u,
  ];
}

/**
 * Marks on the floor, fixed in the world: darker bands of irregular width and spacing (so no
 * shift of the view matches another), which slide across the frame when the camera pans and
 * spread when it zooms, so that camera motion can be measured on any theme. Each band k starts
 * in [k·GROUND_MARK_SPACING, (k + 0.5)·GROUND_MARK_SPACING) and is 0.15–0.35 m wide (1–3 px at
 * the smallest frames' 8 px/m).
 */
export const GROUND_MARK_SPACING = 0.8;
/** A mark darkens the floor to this share of its colour. */
export const GROUND_MARK_SHADE = 0.88;

/** The world x range [x0, x1] (m) of floor mark k (any integer k). */
export function groundMark(k: number): [number, number] {
  const u = hash01(k);
  const v = hash01(k + 7919);
  const x0 = (k + 0.5 * u) * GROUND_MARK_SPACING;
  return [x0, x0 + 0.15 + 0.2 * v];
}

/** Whether world x lies on a floor mark. */
export function onGroundMark(x: number): boolean {
  const k = Math.floor(x / GROUND_MARK_SPACING);
  const [x0, x1] = groundMark(k);
  return x >= x0 && x < x1;
}

/** A fixed pseudo-random number in [0, 1) for an integer (integer hash, no state). */
function hash01(k: number): number {
  let h = Math.imul(k | 0, 0x9e3779b1) ^ 0x5bd1e995;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
