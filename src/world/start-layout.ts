/**
 * Where a scene's objects are in its first frame, as a coarse map: for each `down`×`down` cell
 * of the frame, how much of it the objects cover (what the viewer sees: front occluders and the
 * frame edges hide) and their colour there. Prompt expansion plans the whole scene, so a model
 * can be given this plan of the first frame beside the caption (as layout-grounded video
 * diffusion gives boxes planned by a language model): it says how many objects there are and
 * where, which a caption's words alone left to chance (issue 10: extra copies of the named
 * object in the first frame). It also holds each object's planned starting velocity on the
 * screen (which way and how fast it sets off, as motion-conditioned video models take drag
 * arrows), and its material's restitution (whether a fall ends in a bounce: of 24 objects the
 * evaluation prompts ask to bounce, a model told it in words alone drew 20 falling and not
 * rising); everything after the start (gravity, bounces, friction, collisions) the model draws.
 * Objects of 5–9 pixels often straddle two or four cells, where the coverage alone reads as two or
 * four faint objects; so each object is also marked once, in the cell holding its centre, with
 * where in that cell the centre is, its shape and its size (`marks`).
 */
import { cameraAt } from "./camera.ts";
import { shapeGeometry } from "./geometry.ts";
import { MATERIALS, OBJECT_COLORS, type ObjectTruth, type SceneSpec, SHAPES } from "./scene.ts";
import { rectCoverage, screenShape, shapeBounds, shapeCoverage } from "./screen.ts";
import { frontOccluderRects } from "./visibility.ts";

export interface StartLayout {
  /** Cells down and across: height / down, width / down. */
  rows: number;
  cols: number;
  /** [rows·cols], row-major: the share of each cell's pixels the objects cover (0..1). */
  occupancy: Float32Array;
  /**
   * [3, rows·cols]: per channel (R, G, B), the cell's coverage-weighted object colour in [−1, 1]
   * (the pixel scale the models use) times its occupancy; 0 where no object is.
   */
  color: Float32Array;
  /**
   * [2, rows·cols]: per axis (x rightwards, y downwards on the screen), the cell's
   * coverage-weighted starting velocity in cells per second over MOTION_UNIT, times its
   * occupancy; 0 where no object is. Camera motion is not in it (the caption says that).
   */
  motion: Float32Array;
  /**
   * [MARK_CHANNELS, rows·cols]: one mark per object whose centre is in the frame, in the cell
   * holding that centre, hidden or not (a front occluder hides it, the mark says it is there):
   * 1 (so the channel sums to the number of objects), the centre's place in the cell across and
   * down in [−1, 1] (0 at the cell's middle), 1 in the channel of its shape (SHAPES order) and its
   * width on the screen in cells. Objects sharing a cell add up.
   */
  marks: Float32Array;
  /**
   * [rows·cols]: the cell's coverage-weighted restitution (MATERIALS: how much of its speed a
   * bounce keeps), times its occupancy; 0 where no object is. Whether a falling object bounces,
   * and how high, is the plan's (its material) and not only the caption's words.
   */
  bounce: Float32Array;
}

/** Mark channels: the count, x and y within the cell, one per shape, the size. */
export const MARK_CHANNELS = 3 + SHAPES.length + 1;

/**
 * Starting velocities are in cells per second divided by this, so that the fastest the world
 * plans (a throw of 3.5 m/s across, 5.5 up: about 4 and 6 cells per second in a 64-pixel view)
 * read about 1 to 1.5, the scale of the other channels.
 */
export const MOTION_UNIT = 4;

/**
 * The first-frame layout of `scene` rendered at width × height, in cells of `down` pixels
 * (width and height must be multiples of it). Objects start at rest pose (angle 0) at their
 * spec's position, exactly as the simulation's frame 0 has them.
 */
export function startLayout(
  scene: SceneSpec,
  width: number,
  height: number,
  down: number,
): StartLayout {
  const poses = scene.objects.map((o) => ({ x: o.x, y: o.y, angle: 0, vx: o.vx, vy: o.vy }));
  return layoutAt(scene, poses, 0, width, height, down);
}

/** Where an object is (m, radians) and how fast it moves (m/s), as ObjectTruth has it. */
export type ObjectPose = Pick<ObjectTruth, "x" | "y" | "angle" | "vx" | "vy">;

/**
 * The same layout for the objects of `scene` at `poses` (one per object, in its order) seen by
 * the camera at time `t` (s): the layout of any frame of a clip, from the simulation's truth.
 */
export function layoutAt(
  scene: SceneSpec,
  poses: readonly ObjectPose[],
  t: number,
  width: number,
  height: number,
  down: number,
): StartLayout {
  if (
    ![width, height, down].every((n) => Number.isInteger(n) && n > 0) ||
    width % down !== 0 ||
    height % down !== 0
  )
    throw new Error(`startLayout: ${width}×${height} is not a whole number of ${down}-pixel cells`);
  if (poses.length !== scene.objects.length)
    throw new Error(`layoutAt: ${poses.length} poses for ${scene.objects.length} objects`);
  const [rows, cols] = [height / down, width / down];
  const cam = cameraAt(scene, t, width, height);
  const fronts = frontOccluderRects(scene.occluders, cam);
  // Per pixel: the objects' visible coverage (summed, at most 1), its colour-weighted sum and its
  // velocity-weighted sum (screen cells per second / MOTION_UNIT; y grows downward).
  const cover = new Float32Array(width * height);
  const paint = new Float32Array(3 * width * height);
  const moving = new Float32Array(2 * width * height);
  const springy = new Float32Array(width * height);
  const speed = cam.pixelsPerMetre / down / MOTION_UNIT;
  const marks = new Float32Array(MARK_CHANNELS * rows * cols);
  scene.objects.forEach((o, n) => {
    const pose = poses[n];
    const shape = screenShape(shapeGeometry(o.shape, o.size), pose, cam);
    const [x0, y0, x1, y1] = shapeBounds(shape);
    // The mark: at the centre of the object's screen box, when that is in the frame.
    const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
    if (cx >= 0 && cx < width && cy >= 0 && cy < height) {
      const [col, row] = [Math.floor(cx / down), Math.floor(cy / down)];
      const cell = row * cols + col;
      const put = (k: number, v: number) => {
        marks[k * rows * cols + cell] += v;
      };
      put(0, 1);
      put(1, ((cx - col * down) / down) * 2 - 1);
      put(2, ((cy - row * down) / down) * 2 - 1);
      put(3 + SHAPES.indexOf(o.shape), 1);
      put(3 + SHAPES.length, (x1 - x0) / down);
    }
    const rgb = OBJECT_COLORS[o.color].map((v) => (v / 255) * 2 - 1);
    const velocity = [pose.vx * speed, -pose.vy * speed];
    const restitution = MATERIALS[o.material].restitution;
    for (let j = Math.max(0, Math.floor(y0)); j < Math.min(height, Math.ceil(y1)); j++)
      for (let i = Math.max(0, Math.floor(x0)); i < Math.min(width, Math.ceil(x1)); i++) {
        let cov = shapeCoverage(shape, i + 0.5, j + 0.5);
        if (cov === 0) continue;
        for (const r of fronts) cov *= 1 - rectCoverage(r, i, j);
        const p = j * width + i;
        cov = Math.min(cov, 1 - cover[p]); // objects overlapping a pixel share it
        cover[p] += cov;
        for (let k = 0; k < 3; k++) paint[k * width * height + p] += cov * rgb[k];
        for (let k = 0; k < 2; k++) moving[k * width * height + p] += cov * velocity[k];
        springy[p] += cov * restitution;
      }
  });
  // Cell averages: occupancy = mean coverage; colour = mean of coverage × colour, which is the
  // coverage-weighted colour times the occupancy.
  const occupancy = new Float32Array(rows * cols);
  const color = new Float32Array(3 * rows * cols);
  const motion = new Float32Array(2 * rows * cols);
  const bounce = new Float32Array(rows * cols);
  const area = down * down;
  for (let j = 0; j < height; j++)
    for (let i = 0; i < width; i++) {
      const p = j * width + i;
      if (cover[p] === 0) continue;
      const cell = Math.floor(j / down) * cols + Math.floor(i / down);
      occupancy[cell] += cover[p] / area;
      for (let k = 0; k < 3; k++)
        color[k * rows * cols + cell] += paint[k * width * height + p] / area;
      for (let k = 0; k < 2; k++)
        motion[k * rows * cols + cell] += moving[k * width * height + p] / area;
      bounce[cell] += springy[p] / area;
    }
  return { rows, cols, occupancy, color, motion, marks, bounce };
}
