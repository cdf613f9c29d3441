/**
 * Frames per CPU second of the world renderer on one core, at 64×64, 128×72 and 256×256, beside the
 * 4×4-supersampled reference renderer (the baseline), and of the whole simulate() (physics,
 * rendering and ground truth). Run: node --import tsx bench/world-render.ts
 */
import { cameraAt } from "../src/world/camera.ts";
import { createWorld, STATE_STRIDE, snapshot, stepWorld } from "../src/world/physics.ts";
import { renderFrameReference } from "../src/world/reference-render.ts";
import { prepareRender, renderFrame } from "../src/world/render.ts";
import type { SceneSpec } from "../src/world/scene.ts";
import type { Pose } from "../src/world/screen.ts";
import { simulate } from "../src/world/simulate.ts";

function typicalScene(camera: SceneSpec["camera"]): SceneSpec {
  return {
    seed: 7,
    theme: "sunset",
    camera,
    arenaWidth: 8,
    gravity: 9.81,
    occluders: [
      { kind: "pillar", x: 1.2, width: 0.5, height: 2.5, layer: "front" },
      { kind: "wall", x: -2.5, width: 1.5, height: 1.2, layer: "back" },
    ],
    objects: [
      {
        id: 0,
        shape: "ball",
        color: "red",
        size: "medium",
        material: "bouncy",
        motion: "dropped",
        x: -2,
        y: 2.5,
        vx: 0,
        vy: 0,
      },
      {
        id: 1,
        shape: "box",
        color: "blue",
        size: "large",
        material: "heavy",
        motion: "resting",
        x: 0,
        y: 0.4,
        vx: 0,
        vy: 0,
      },
      {
        id: 2,
        shape: "triangle",
        color: "green",
        size: "medium",
        material: "light",
        motion: "thrown",
        x: 2.5,
        y: 1,
        vx: -3,
        vy: 4,
      },
      {
        id: 3,
        shape: "ball",
        color: "yellow",
        size: "small",
        material: "bouncy",
        motion: "rolled",
        x: -3.5,
        y: 0.15,
        vx: 3,
        vy: 0,
      },
    ],
  };
}

/** Poses of the scene's objects over 4 s at 30 fps. */
function posesOver(scene: SceneSpec, frames: number, fps: number): Pose[][] {
  const world = createWorld(scene);
  const out: Pose[][] = [];
  for (let f = 0; f < frames; f++) {
    while (world.time < f / fps - 1e-9) stepWorld(world);
    const s = snapshot(world);
    out.push(
      scene.objects.map((_, i) => ({
        x: s[i * STATE_STRIDE],
        y: s[i * STATE_STRIDE + 1],
        angle: s[i * STATE_STRIDE + 2],
      })),
    );
  }
  return out;
}

/** CPU seconds this process has used (user + system): one core's work, even on a busy machine. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Calls of work(i) per CPU second, over about `seconds` of CPU time (after a warm-up). */
function rate(work: (i: number) => number, seconds: number): number {
  for (let i = 0; i < 20; i++) work(i);
  let n = 0;
  const start = cpuSeconds();
  let elapsed = 0;
  while (elapsed < seconds) {
    n += work(n);
    elapsed = cpuSeconds() - start;
  }
  return n / elapsed;
}

const sizes: [number, number][] = [
  [64, 64],
  [128, 72],
  [256, 256],
];
const fps = 30;
const rows: string[][] = [
  [
    "size",
    "camera",
    "fast frames/s",
    "reference (4×4 SS) frames/s",
    "speed-up",
    "simulate() frames/s",
  ],
];
for (const camera of ["still", "pan-right"] as const) {
  const scene = typicalScene(camera);
  const poses = posesOver(scene, 120, fps);
  for (const [w, h] of sizes) {
    const setup = prepareRender(scene, w, h);
    const cams = poses.map((_, f) => cameraAt(scene, f / fps, w, h));
    const out = new Uint8Array(w * h * 3);
    const fast = rate((i) => {
      renderFrame(setup, cams[i % 120], poses[i % 120], out);
      return 1;
    }, 1.5);
    const ref = rate((i) => {
      renderFrameReference(setup, cams[i % 120], poses[i % 120]);
      return 1;
    }, 1.5);
    const sim = rate(
      () => simulate(scene, { width: w, height: h, fps, seconds: 4 }).video.frames.length,
      1.5,
    );
    rows.push([
      `${w}×${h}`,
      camera,
      fast.toFixed(0),
      ref.toFixed(1),
      `${(fast / ref).toFixed(0)}×`,
      sim.toFixed(0),
    ]);
  }
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((v, c) => v.padStart(widths[c])).join("  "));
