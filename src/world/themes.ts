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
