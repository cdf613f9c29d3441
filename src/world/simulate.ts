/**
 * One clip of the world: steps the physics, samples it at each frame's time, renders the frame
 * and records the ground truth (per-object state, pixel position, bounding box, visibility) and
 * the events. Physics runs on its own fixed step (BASE_DT), independent of the frame rate;
 * frames that fall between two steps interpolate linearly between them.
 */
import type { Video } from "../media/video.ts";
import { cameraAt, worldToPixel } from "./camera.ts";
import { contactEvents, sortEvents, VisibilityTracker, type WorldEventDetail } from "./events.ts";
import {
  BASE_DT,
  createWorld,
  type PhysicsWorld,
  STATE_STRIDE,
  snapshot,
  stepWorld,
} from "./physics.ts";
import { prepareRender, renderFrame } from "./render.ts";
import type { ClipTruth, FrameTruth, ObjectTruth, SceneSpec } from "./scene.ts";
import { type Pose, screenShape, shapeBounds } from "./screen.ts";
import { frameCount, type SimulateOptions, validateOptions, validateScene } from "./validate.ts";
import { frontOccluderRects, measureVisibility } from "./visibility.ts";

export type { SimulateOptions } from "./validate.ts";

/** Simulates and renders a scene. Throws a clear Error for a bad scene or bad options. */
export function simulate(
  scene: SceneSpec,
  opts: SimulateOptions,
): { video: Video; truth: ClipTruth } {
  validateScene(scene);
  validateOptions(opts);
  const { width, height, fps } = opts;
  const n = frameCount(opts);
  const world = createWorld(scene);
  const setup = prepareRender(scene, width, height);
  const sampler = new FrameSampler(world);
  const tracker = new VisibilityTracker();
  const frames: Uint8Array[] = [];
  const truthFrames: FrameTruth[] = [];
  for (let f = 0; f < n; f++) {
    const t = f / fps;
    const state = sampler.at(f, fps);
    const cam = cameraAt(scene, t, width, height);
    const poses: Pose[] = scene.objects.map((_, i) => ({
      x: state[i * STATE_STRIDE],
      y: state[i * STATE_STRIDE + 1],
      angle: state[i * STATE_STRIDE + 2],
    }));
    frames.push(renderFrame(setup, cam, poses));
    const fronts = frontOccluderRects(scene.occluders, cam);
    const vis = poses.map((p, i) => {
      const shape = screenShape(setup.geoms[i], p, cam);
      return { shape, ...measureVisibility(shape, fronts, width, height) };
    });
    tracker.update(f, t, vis);
    const objects: ObjectTruth[] = scene.objects.map((o, i) => {
      const s = i * STATE_STRIDE;
      const [px, py] = worldToPixel(cam, state[s], state[s + 1]);
      return {
        id: o.id,
        x: state[s],
        y: state[s + 1],
        vx: state[s + 3],
        vy: state[s + 4],
        angle: state[s + 2],
        px,
        py,
        bbox: shapeBounds(vis[i].shape),
        visible: vis[i].visible,
      };
    });
    truthFrames.push({ frame: f, t, objects });
  }
  const events: WorldEventDetail[] = [...contactEvents(world.events, fps, n), ...tracker.events];
  return {
    video: { width, height, fps, frames },
    truth: {
      scene: structuredClone(scene),
      width,
      height,
      fps,
      frames: truthFrames,
      events: sortEvents(events),
    },
  };
}

/**
 * Advances the physics to each frame's time. A frame time that is a whole number of base steps
 * reads the state directly; otherwise the state is interpolated between the two steps around it.
 */
class FrameSampler {
  private readonly before: Float64Array;
  private readonly after: Float64Array;
  private readonly out: Float64Array;

  constructor(private readonly world: PhysicsWorld) {
    const size = world.bodies.length * STATE_STRIDE;
    this.before = new Float64Array(size);
    this.after = new Float64Array(size);
    this.out = new Float64Array(size);
  }

  /** State at frame f of a clip at fps frames per second. Frames must be asked for in order. */
  at(f: number, fps: number): Float64Array {
    const steps = f / (fps * BASE_DT);
    const whole = Math.round(steps);
    if (Math.abs(steps - whole) < 1e-9) {
      while (this.world.steps < whole) stepWorld(this.world);
      return snapshot(this.world, this.out);
    }
    const upper = Math.ceil(steps);
    if (this.world.steps >= upper) throw new Error("FrameSampler: frames must be sampled in order");
    while (this.world.steps < upper - 1) stepWorld(this.world);
    snapshot(this.world, this.before);
    stepWorld(this.world);
    snapshot(this.world, this.after);
    const u = steps - (upper - 1);
    for (let k = 0; k < this.out.length; k++) {
      this.out[k] = this.before[k] + (this.after[k] - this.before[k]) * u;
    }
    return this.out;
  }
}

/** ClipTruth as compact JSON: numbers rounded to 6 decimals (µm and µpx are far below anything seen). */
export function truthToJSON(truth: ClipTruth): string {
  return JSON.stringify(truth, (_key, value) =>
    typeof value === "number" && !Number.isInteger(value) ? Math.round(value * 1e6) / 1e6 : value,
  );
}
