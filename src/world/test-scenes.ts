/**
 * Small scene builders shared by the world's tests and benchmark, so each test states only what
 * matters to it.
 */
import type { ObjectSpec, OccluderSpec, SceneSpec } from "./scene.ts";

type ObjectInput = Partial<ObjectSpec> & Pick<ObjectSpec, "x" | "y">;

export function makeObject(id: number, o: ObjectInput): ObjectSpec {
  return {
    id,
    shape: "ball",
    color: "red",
    size: "medium",
    material: "bouncy",
    motion: "dropped",
    vx: 0,
    vy: 0,
    ...o,
  };
}

export function makeScene(
  objects: ObjectInput[],
  extra: Partial<Omit<SceneSpec, "objects">> & { occluders?: OccluderSpec[] } = {},
): SceneSpec {
  return {
    seed: 1,
    theme: "day",
    camera: "still",
    arenaWidth: 8,
    gravity: 9.81,
    occluders: [],
    ...extra,
    objects: objects.map((o, i) => makeObject(i, o)),
  };
}
