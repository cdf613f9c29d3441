/**
 * Which background theme a clip shows, from the colours behind its objects: each row's median
 * colour compared with each theme's sky gradient (above the ground line) and ground (below).
 */
import { groundRow } from "../camera.ts";
import { THEMES, type ThemeName } from "../scene.ts";
import { ARENA_POST_COLOR, OCCLUDER_COLORS, skyColorAt, THEME_BACKGROUNDS } from "../themes.ts";
import { rowBackground } from "./background.ts";
import type { Rgb } from "./colour.ts";

export interface ThemeGuess {
  theme: ThemeName;
  /** Mean sRGB distance of the rows from the chosen theme's colours. */
  distance: number;
  /** Mean distance from each theme, for the report. */
  distances: Record<ThemeName, number>;
}

/** Every scenery colour the world paints: theme skies and grounds, occluders, arena posts. */
export function sceneryColors(): Rgb[] {
  const out: Rgb[] = [];
  for (const t of THEMES) {
    const b = THEME_BACKGROUNDS[t];
    out.push(b.skyTop, b.skyBottom, b.ground);
  }
  for (const c of Object.values(OCCLUDER_COLORS)) out.push(c);
  out.push(ARENA_POST_COLOR);
  return out;
}

/** Scenery the renderer draws over the background with anti-aliased edges. */
export function sceneryEdgeColors(): Rgb[] {
  return [...Object.values(OCCLUDER_COLORS), ARENA_POST_COLOR];
}

/** Guesses the theme from a few frames of a clip (first, middle, last). */
export function guessTheme(frames: Uint8Array[], width: number, height: number): ThemeGuess {
  if (frames.length === 0) throw new Error("guessTheme: no frames");
  const picks = [...new Set([0, frames.length >> 1, frames.length - 1])];
  const ground = groundRow(height);
  const sums = Object.fromEntries(THEMES.map((t) => [t, 0])) as Record<ThemeName, number>;
  let rowsSeen = 0;
  for (const k of picks) {
    const rows = rowBackground(frames[k], width, height);
    rows.forEach((c, y) => {
      const mid = y + 0.5;
      // The row that straddles the ground line mixes sky and ground.
      if (Math.abs(mid - ground) < 1) return;
      rowsSeen++;
      for (const t of THEMES) {
        const b = THEME_BACKGROUNDS[t];
        const want = mid < ground ? skyColorAt(b, mid / ground) : b.ground;
        sums[t] += Math.hypot(c[0] - want[0], c[1] - want[1], c[2] - want[2]);
      }
    });
  }
  const distances = Object.fromEntries(
    THEMES.map((t) => [t, rowsSeen > 0 ? sums[t] / rowsSeen : Number.POSITIVE_INFINITY]),
  ) as Record<ThemeName, number>;
  let theme: ThemeName = THEMES[0];
  for (const t of THEMES) if (distances[t] < distances[theme]) theme = t;
  return { theme, distance: distances[theme], distances };
}
