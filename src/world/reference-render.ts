/**
 * A slow, straightforward reference renderer: every pixel takes 4×4 point samples, and each
 * sample tests every layer and every shape. It shares no rasterising code with the fast renderer
 * (only the scene's geometry and colours), so comparing the two checks the fast renderer's
 * coverage-based anti-aliasing; the benchmark uses it as the baseline.
 */
import { type CameraView, pixelToWorld, worldToPixel } from "./camera.ts";
import {
  type RenderSetup,
  STRIPE_HALF_WIDTH,
  STRIPE_MIN_RADIUS,
  shadowAt,
  shadowOf,
} from "./render.ts";
import { occluderRect, type Pose, screenShape, shapeContains } from "./screen.ts";
import {
  ARENA_POST_COLOR,
  ARENA_POST_WIDTH,
  GROUND_MARK_SHADE,
  OCCLUDER_COLORS,
  onGroundMark,
  type Rgb,
  skyColorAt,
  THEME_BACKGROUNDS,
} from "./themes.ts";

const GRID = 4;

export function renderFrameReference(
  setup: RenderSetup,
  cam: CameraView,
  poses: readonly Pose[],
): Uint8Array {
  const { scene, width, height, groundY } = setup;
  const theme = THEME_BACKGROUNDS[scene.theme];
  const shapes = poses.map((p, i) => screenShape(setup.geoms[i], p, cam));
  const shadows = poses.map((p, i) => shadowOf(setup.geoms[i], p, cam, groundY));
  const rects = (layer: "front" | "back") =>
    scene.occluders
      .filter((o) => o.layer === layer)
      .map((o) => ({ r: occluderRect(o, cam), color: OCCLUDER_COLORS[o.kind] as Rgb }));
  const back = rects("back");
  const front = rects("front");
  const half = scene.arenaWidth / 2;
  const top = cam.cy + height / 2 / cam.pixelsPerMetre + 1;
  for (const side of [-1, 1]) {
    const xa = side * half;
    const xb = side * (half + ARENA_POST_WIDTH);
    const [x0, y1] = worldToPixel(cam, Math.min(xa, xb), 0);
    const [x1, y0] = worldToPixel(cam, Math.max(xa, xb), top);
    back.push({ r: [x0, y0, x1, y1], color: ARENA_POST_COLOR });
  }
  const inRect = (r: readonly number[], x: number, y: number) =>
    x >= r[0] && x < r[2] && y >= r[1] && y < r[3];
  const out = new Uint8Array(width * height * 3);
  const col = [0, 0, 0];
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      let sr = 0;
      let sg = 0;
      let sb = 0;
      for (let sy = 0; sy < GRID; sy++) {
        for (let sx = 0; sx < GRID; sx++) {
          const x = i + (sx + 0.5) / GRID;
          const y = j + (sy + 0.5) / GRID;
          if (y < groundY) {
            const sky = skyColorAt(theme, y / groundY);
            col[0] = sky[0];
            col[1] = sky[1];
            col[2] = sky[2];
          } else {
            const shade = onGroundMark(pixelToWorld(cam, x, y)[0]) ? GROUND_MARK_SHADE : 1;
            col[0] = theme.ground[0] * shade;
            col[1] = theme.ground[1] * shade;
            col[2] = theme.ground[2] * shade;
            for (const s of shadows) {
              const k = 1 - shadowAt(s, x, y);
              col[0] *= k;
              col[1] *= k;
              col[2] *= k;
            }
          }
          for (const b of back) if (inRect(b.r, x, y)) set(col, b.color);
          shapes.forEach((s, k) => {
            if (!shapeContains(s, x, y)) return;
            set(col, setup.fill[k]);
            if (s.kind === "circle" && s.r >= STRIPE_MIN_RADIUS) {
              const q = Math.abs((x - s.cx) * s.uy - (y - s.cy) * s.ux);
              if (q <= STRIPE_HALF_WIDTH * s.r) set(col, setup.stripe[k]);
            }
          });
          for (const f of front) if (inRect(f.r, x, y)) set(col, f.color);
          sr += col[0];
          sg += col[1];
          sb += col[2];
        }
      }
      const o = (j * width + i) * 3;
      const n = GRID * GRID;
      out[o] = sr / n + 0.5;
      out[o + 1] = sg / n + 0.5;
      out[o + 2] = sb / n + 0.5;
    }
  }
  return out;
}

function set(col: number[], c: Rgb): void {
  col[0] = c[0];
  col[1] = c[1];
  col[2] = c[2];
}
