/**
 * The fast software renderer: one RGB frame of a scene for a camera and the objects' poses.
 * Layers, back to front: background gradient and ground, soft shadows on the ground, occluders
 * behind the action and the arena's side posts, the objects, occluders in front. Each shape only
 * touches the pixels of its own bounding box, and edges are anti-aliased by coverage (see
 * screen.ts). The background (and, for a still camera, everything static) is drawn once per clip.
 */
import { type CameraView, cameraAt, groundRow, pixelToWorld, worldToPixel } from "./camera.ts";
import { type ShapeGeometry, shapeGeometry, worldBounds } from "./geometry.ts";
import { OBJECT_COLORS, type SceneSpec } from "./scene.ts";
import {
  occluderRect,
  type Pose,
  ramp,
  type ScreenCircle,
  type ScreenPolygon,
  type ScreenShape,
  screenShape,
} from "./screen.ts";
import {
  ARENA_POST_COLOR,
  ARENA_POST_WIDTH,
  GROUND_MARK_SHADE,
  GROUND_MARK_SPACING,
  groundMark,
  OCCLUDER_COLORS,
  type Rgb,
  skyColorAt,
  THEME_BACKGROUNDS,
} from "./themes.ts";

/** Balls narrower than this (px radius) are drawn without their stripe, which would be a smear. */
export const STRIPE_MIN_RADIUS = 2;
/** Half-width of a ball's stripe as a fraction of its radius. */
export const STRIPE_HALF_WIDTH = 0.2;

export interface RenderSetup {
  scene: SceneSpec;
  width: number;
  height: number;
  /** The ground line's pixel row (fractional). */
  groundY: number;
  /** Background and ground, without occluders. */
  background: Uint8Array;
  /** For a still camera: background, back occluders and posts, drawn once. */
  stillLayer: Uint8Array | null;
  geoms: ShapeGeometry[];
  fill: Rgb[];
  stripe: Rgb[];
}

/** A ball's stripe: a darker shade of its colour, or a lighter one for very dark colours. */
export function stripeColor(c: Rgb): Rgb {
  const lum = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  if (lum < 60)
    return [c[0] + (255 - c[0]) * 0.25, c[1] + (255 - c[1]) * 0.25, c[2] + (255 - c[2]) * 0.25];
  return [c[0] * 0.72, c[1] * 0.72, c[2] * 0.72];
}

/** Precomputes everything about a scene's frames that does not change from frame to frame. */
export function prepareRender(scene: SceneSpec, width: number, height: number): RenderSetup {
  const groundY = groundRow(height);
  const background = drawBackground(scene, width, height, groundY);
  const setup: RenderSetup = {
    scene,
    width,
    height,
    groundY,
    background,
    stillLayer: null,
    geoms: scene.objects.map((o) => shapeGeometry(o.shape, o.size)),
    fill: scene.objects.map((o) => OBJECT_COLORS[o.color]),
    stripe: scene.objects.map((o) => stripeColor(OBJECT_COLORS[o.color])),
  };
  if (scene.camera === "still") {
    // A still camera's view does not depend on time.
    const layer = background.slice();
    const cam = cameraAt(scene, 0, width, height);
    drawGroundMarks(setup, cam, layer);
    drawStatic(setup, cam, layer);
    setup.stillLayer = layer;
  }
  return setup;
}

function drawBackground(
  scene: SceneSpec,
  width: number,
  height: number,
  groundY: number,
): Uint8Array {
  const theme = THEME_BACKGROUNDS[scene.theme];
  const out = new Uint8Array(width * height * 3);
  const rowBytes = width * 3;
  for (let j = 0; j < height; j++) {
    const sky = skyColorAt(theme, (j + 0.5) / groundY);
    // Part of this row's pixel height that lies below the ground line.
    const g = ramp(j + 1 - groundY);
    const o = j * rowBytes;
    for (let c = 0; c < 3; c++) out[o + c] = sky[c] + (theme.ground[c] - sky[c]) * g + 0.5;
    // Replicate the first pixel across the row by doubling copies.
    let filled = 3;
    while (filled < rowBytes) {
      const n = Math.min(filled, rowBytes - filled);
      out.copyWithin(o + filled, o, o + n);
      filled += n;
    }
  }
  return out;
}

/**
 * The floor's marks (themes.ts): each darkens the floor part of the pixels it covers by its
 * exact horizontal coverage, before shadows fall on it.
 */
function drawGroundMarks(setup: RenderSetup, cam: CameraView, out: Uint8Array): void {
  const { scene, width, height, groundY } = setup;
  const ground = THEME_BACKGROUNDS[scene.theme].ground;
  const [left] = pixelToWorld(cam, 0, 0);
  const [right] = pixelToWorld(cam, width, 0);
  const k0 = Math.floor(left / GROUND_MARK_SPACING) - 1;
  const k1 = Math.ceil(right / GROUND_MARK_SPACING);
  const j0 = Math.max(0, Math.floor(groundY));
  for (let k = k0; k <= k1; k++) {
    const [wx0, wx1] = groundMark(k);
    const x0 = worldToPixel(cam, wx0, 0)[0];
    const x1 = worldToPixel(cam, wx1, 0)[0];
    const i0 = Math.max(0, Math.floor(x0));
    const i1 = Math.min(width - 1, Math.ceil(x1) - 1);
    for (let i = i0; i <= i1; i++) {
      const cx = Math.min(i + 1, x1) - Math.max(i, x0);
      if (cx <= 0) continue;
      for (let j = j0; j < height; j++) {
        const a = cx * ramp(j + 1 - groundY) * (1 - GROUND_MARK_SHADE);
        const o = (j * width + i) * 3;
        for (let c = 0; c < 3; c++) out[o + c] = Math.max(0, out[o + c] - a * ground[c]) + 0.5;
      }
    }
  }
}

/** Back occluders and the arena's side posts. */
function drawStatic(setup: RenderSetup, cam: CameraView, out: Uint8Array): void {
  const { scene, width, height } = setup;
  for (const o of scene.occluders) {
    if (o.layer === "back")
      fillRect(out, width, height, occluderRect(o, cam), OCCLUDER_COLORS[o.kind]);
  }
  const half = scene.arenaWidth / 2;
  const top = cam.cy + height / 2 / cam.pixelsPerMetre + 1;
  for (const side of [-1, 1]) {
    const xa = side * half;
    const xb = side * (half + ARENA_POST_WIDTH);
    const [x0, y1] = worldToPixel(cam, Math.min(xa, xb), 0);
    const [x1, y0] = worldToPixel(cam, Math.max(xa, xb), top);
    fillRect(out, width, height, [x0, y0, x1, y1], ARENA_POST_COLOR);
  }
}

/**
 * Renders one frame. poses[i] is the pose of scene.objects[i]. Returns out (a new frame when
 * out is not given), width * height * 3 bytes of packed RGB.
 */
export function renderFrame(
  setup: RenderSetup,
  cam: CameraView,
  poses: readonly Pose[],
  out?: Uint8Array,
): Uint8Array {
  const { scene, width, height } = setup;
  const frame = out ?? new Uint8Array(width * height * 3);
  if (frame.length !== width * height * 3) {
    throw new Error(`renderFrame: out has ${frame.length} bytes, expected ${width * height * 3}`);
  }
  if (poses.length !== scene.objects.length) {
    throw new Error(`renderFrame: ${poses.length} poses for ${scene.objects.length} objects`);
  }
  if (setup.stillLayer !== null) frame.set(setup.stillLayer);
  else {
    frame.set(setup.background);
    drawGroundMarks(setup, cam, frame);
  }
  for (let i = 0; i < poses.length; i++) drawShadow(setup, cam, i, poses[i], frame);
  if (setup.stillLayer === null) drawStatic(setup, cam, frame);
  for (let i = 0; i < poses.length; i++) {
    const shape = screenShape(setup.geoms[i], poses[i], cam);
    if (shape.kind === "circle")
      fillBall(frame, width, height, shape, setup.fill[i], setup.stripe[i]);
    else fillPolygon(frame, width, height, shape, setup.fill[i]);
  }
  for (const o of scene.occluders) {
    if (o.layer === "front")
      fillRect(frame, width, height, occluderRect(o, cam), OCCLUDER_COLORS[o.kind]);
  }
  return frame;
}

/** The soft shadow an object casts on the floor: wider and fainter the higher it is. */
export interface ShadowEllipse {
  cx: number;
  cy: number;
  /** Semi-axes (px). */
  a: number;
  b: number;
  /** Darkening at the centre (0..1). */
  strength: number;
}

export function shadowOf(
  geom: ShapeGeometry,
  pose: Pose,
  cam: CameraView,
  groundY: number,
): ShadowEllipse {
  const [x0, y0, x1] = worldBounds(geom, pose.x, pose.y, pose.angle);
  const height = Math.max(0, y0);
  const halfWidth = (x1 - x0) / 2;
  const a = halfWidth * (1 + 0.5 * height) * cam.pixelsPerMetre;
  const b = Math.max(1, a * 0.3);
  const [cx] = worldToPixel(cam, (x0 + x1) / 2, 0);
  return { cx, cy: groundY + b * 0.45, a, b, strength: 0.55 / (1 + 1.5 * height) };
}

/** Shadow darkening (0..1) at a point on the floor, before the floor's own coverage. */
export function shadowAt(s: ShadowEllipse, x: number, y: number): number {
  const u = (x - s.cx) / s.a;
  const v = (y - s.cy) / s.b;
  const q = 1 - (u * u + v * v);
  return q <= 0 ? 0 : s.strength * q * q;
}

function drawShadow(
  setup: RenderSetup,
  cam: CameraView,
  index: number,
  pose: Pose,
  frame: Uint8Array,
): void {
  const { width, height, groundY } = setup;
  const s = shadowOf(setup.geoms[index], pose, cam, groundY);
  if (!(s.a > 0) || s.strength <= 0.002) return;
  const i0 = Math.max(0, Math.floor(s.cx - s.a));
  const i1 = Math.min(width - 1, Math.ceil(s.cx + s.a));
  const j0 = Math.max(0, Math.floor(groundY), Math.floor(s.cy - s.b));
  const j1 = Math.min(height - 1, Math.ceil(s.cy + s.b));
  for (let j = j0; j <= j1; j++) {
    const floor = ramp(j + 1 - groundY);
    const py = j + 0.5;
    let o = (j * width + i0) * 3;
    for (let i = i0; i <= i1; i++, o += 3) {
      const k = 1 - shadowAt(s, i + 0.5, py) * floor;
      if (k < 1) {
        frame[o] = frame[o] * k + 0.5;
        frame[o + 1] = frame[o + 1] * k + 0.5;
        frame[o + 2] = frame[o + 2] * k + 0.5;
      }
    }
  }
}

/** Blends colour c over the pixel at byte offset o with coverage a. */
function blend(frame: Uint8Array, o: number, c: Rgb, a: number): void {
  if (a >= 1) {
    frame[o] = c[0];
    frame[o + 1] = c[1];
    frame[o + 2] = c[2];
    return;
  }
  const r = frame[o];
  const g = frame[o + 1];
  const b = frame[o + 2];
  frame[o] = r + (c[0] - r) * a + 0.5;
  frame[o + 1] = g + (c[1] - g) * a + 0.5;
  frame[o + 2] = b + (c[2] - b) * a + 0.5;
}

/** Axis-aligned rectangle [x0, y0, x1, y1] (px) with exact area coverage at its edges. */
export function fillRect(
  frame: Uint8Array,
  width: number,
  height: number,
  r: readonly [number, number, number, number],
  color: Rgb,
): void {
  const [x0, y0, x1, y1] = r;
  const i0 = Math.max(0, Math.floor(x0));
  const i1 = Math.min(width - 1, Math.ceil(x1) - 1);
  const j0 = Math.max(0, Math.floor(y0));
  const j1 = Math.min(height - 1, Math.ceil(y1) - 1);
  for (let j = j0; j <= j1; j++) {
    const cy = Math.min(j + 1, y1) - Math.max(j, y0);
    if (cy <= 0) continue;
    let o = (j * width + i0) * 3;
    for (let i = i0; i <= i1; i++, o += 3) {
      const cx = Math.min(i + 1, x1) - Math.max(i, x0);
      if (cx > 0) blend(frame, o, color, cx * cy);
    }
  }
}

/** Half the diagonal of a pixel: beyond this distance from an edge a pixel is fully in or out. */
const HALF_DIAGONAL = Math.SQRT1_2 + 1e-9;

function fillBall(
  frame: Uint8Array,
  width: number,
  height: number,
  s: ScreenCircle,
  color: Rgb,
  stripe: Rgb,
): void {
  const { cx, cy, r } = s;
  // Only pixels whose square overlaps the bounding box: any other is truly uncovered.
  const i0 = Math.max(0, Math.floor(cx - r));
  const i1 = Math.min(width - 1, Math.ceil(cx + r) - 1);
  const j0 = Math.max(0, Math.floor(cy - r));
  const j1 = Math.min(height - 1, Math.ceil(cy + r) - 1);
  if (i0 > i1 || j0 > j1) return;
  const inner = r > HALF_DIAGONAL ? (r - HALF_DIAGONAL) * (r - HALF_DIAGONAL) : -1;
  const outer = (r + HALF_DIAGONAL) * (r + HALF_DIAGONAL);
  const striped = r >= STRIPE_MIN_RADIUS;
  const hw = STRIPE_HALF_WIDTH * r;
  const mixed: [number, number, number] = [0, 0, 0];
  for (let j = j0; j <= j1; j++) {
    const dy = j + 0.5 - cy;
    let o = (j * width + i0) * 3;
    for (let i = i0; i <= i1; i++, o += 3) {
      const dx = i + 0.5 - cx;
      const d2 = dx * dx + dy * dy;
      if (d2 >= outer) continue;
      let a = 1;
      if (d2 > inner) {
        const d = Math.sqrt(d2);
        a = d < 1e-9 ? 1 : ramp(0.5 - ((d - r) * d) / (Math.abs(dx) + Math.abs(dy)));
        if (a <= 0) continue;
      }
      if (striped) {
        const q = Math.abs(dx * s.uy - dy * s.ux);
        const t = ramp(0.5 - (q - hw));
        if (t > 0) {
          mixed[0] = color[0] + (stripe[0] - color[0]) * t;
          mixed[1] = color[1] + (stripe[1] - color[1]) * t;
          mixed[2] = color[2] + (stripe[2] - color[2]) * t;
          blendFloat(frame, o, mixed, a);
          continue;
        }
      }
      blend(frame, o, color, a);
    }
  }
}

function blendFloat(frame: Uint8Array, o: number, c: readonly number[], a: number): void {
  const r = frame[o];
  const g = frame[o + 1];
  const b = frame[o + 2];
  frame[o] = r + (c[0] - r) * a + 0.5;
  frame[o + 1] = g + (c[1] - g) * a + 0.5;
  frame[o + 2] = b + (c[2] - b) * a + 0.5;
}

function fillPolygon(
  frame: Uint8Array,
  width: number,
  height: number,
  s: ScreenPolygon,
  color: Rgb,
): void {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let k = 0; k < s.n; k++) {
    if (s.xs[k] < x0) x0 = s.xs[k];
    if (s.xs[k] > x1) x1 = s.xs[k];
    if (s.ys[k] < y0) y0 = s.ys[k];
    if (s.ys[k] > y1) y1 = s.ys[k];
  }
  // Only pixels whose square overlaps the bounding box. This also stops the edge ramps of a sharp
  // corner from bleeding past the vertex.
  const i0 = Math.max(0, Math.floor(x0));
  const i1 = Math.min(width - 1, Math.ceil(x1) - 1);
  const j0 = Math.max(0, Math.floor(y0));
  const j1 = Math.min(height - 1, Math.ceil(y1) - 1);
  const { n, nx, ny, c, band } = s;
  for (let j = j0; j <= j1; j++) {
    const py = j + 0.5;
    let o = (j * width + i0) * 3;
    for (let i = i0; i <= i1; i++, o += 3) {
      const px = i + 0.5;
      let a = 1;
      for (let k = 0; k < n; k++) {
        const d = (nx[k] * px + ny[k] * py - c[k]) / band[k];
        if (d >= 0.5) {
          a = 0;
          break;
        }
        if (d > -0.5) a *= 0.5 - d;
      }
      if (a > 0) blend(frame, o, color, a);
    }
  }
}

export type { Pose, ScreenShape };
