/**
 * How much of each object the viewer can see: the share of its anti-aliased coverage that falls
 * inside the frame and is not covered by occluders standing in front of the action. Objects do
 * not hide each other here (they are all in one depth layer), only front occluders and the frame
 * edges do. The same coverage as the renderer's is used, so an unoccluded object inside the frame
 * is exactly 1 and one fully behind an occluder is exactly 0.
 */
import type { CameraView } from "./camera.ts";
import type { OccluderSpec } from "./scene.ts";
import {
  occluderRect,
  rectCoverage,
  type ScreenShape,
  shapeBounds,
  shapeCoverage,
} from "./screen.ts";

export interface Visibility {
  /** Share of the object inside the frame, ignoring occluders (0..1). */
  inFrame: number;
  /** Share inside the frame and not behind a front occluder (0..1). */
  visible: number;
}

export function frontOccluderRects(
  occluders: readonly OccluderSpec[],
  cam: CameraView,
): [number, number, number, number][] {
  return occluders.filter((o) => o.layer === "front").map((o) => occluderRect(o, cam));
}

export function measureVisibility(
  shape: ScreenShape,
  fronts: readonly (readonly [number, number, number, number])[],
  width: number,
  height: number,
): Visibility {
  const [x0, y0, x1, y1] = shapeBounds(shape);
  if (x1 <= 0 || y1 <= 0 || x0 >= width || y0 >= height) return { inFrame: 0, visible: 0 };
  // The pixels the renderer covers: those whose square overlaps the bounding box.
  const i0 = Math.floor(x0);
  const i1 = Math.ceil(x1) - 1;
  const j0 = Math.floor(y0);
  const j1 = Math.ceil(y1) - 1;
  let total = 0;
  let inside = 0;
  let seen = 0;
  for (let j = j0; j <= j1; j++) {
    for (let i = i0; i <= i1; i++) {
      const cov = shapeCoverage(shape, i + 0.5, j + 0.5);
      if (cov === 0) continue;
      total += cov;
      if (i < 0 || j < 0 || i >= width || j >= height) continue;
      inside += cov;
      let open = 1;
      for (const r of fronts) open *= 1 - rectCoverage(r, i, j);
      seen += cov * open;
    }
  }
  if (total === 0) return { inFrame: 0, visible: 0 };
  return { inFrame: inside / total, visible: seen / total };
}
