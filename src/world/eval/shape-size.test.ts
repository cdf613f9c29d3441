/**
 * Shapes are told apart down to the smallest objects the world renders at 96×96 (about 3 px
 * across), and below that are reported as too small to tell, never as the wrong shape.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { expandPrompt } from "../expand.ts";
import { simulate } from "../simulate.ts";
import { evaluateVideo } from "./evaluate.ts";

function shapeOf(shape: string, size: number, seed: number) {
  const prompt = `a small red ${shape} bounces`;
  const { scene } = expandPrompt(prompt, seed);
  const { video } = simulate(scene, { width: size, height: size, fps: 24, seconds: 1.5 });
  const r = evaluateVideo(video, { prompt });
  return r.objects.find((o) => o.color === "red")?.shape;
}

test("small balls, boxes and triangles are told apart from 3 px up, and never misnamed below", () => {
  for (const shape of ["ball", "box", "triangle"]) {
    for (const seed of [1, 2, 3]) {
      // At 128×128 the smallest objects are 3.4–4.8 px across; at 96×96, 2.4–3.6.
      assert.equal(shapeOf(shape, 128, seed), shape, `${shape} seed ${seed} at 128×128`);
      const at96 = shapeOf(shape, 96, seed);
      assert.ok(
        at96 === shape || (shape === "triangle" && at96 === null),
        `${shape} at 96: ${at96}`,
      );
      const at64 = shapeOf(shape, 64, seed);
      assert.ok(at64 === null || at64 === shape, `${shape} seed ${seed} at 64×64 named ${at64}`);
    }
  }
});
