/**
 * What a prompt pins down about a scene. The prompt parser produces it, the scene sampler fills
 * everything it leaves open by seed, and the evaluator scores a video's adherence against it.
 */
import type { Place } from "./place.ts";
import type {
  CameraMotion,
  ColorName,
  MaterialName,
  MotionKind,
  OccluderKind,
  ShapeKind,
  SizeName,
  ThemeName,
} from "./scene.ts";

export interface ObjectConstraint {
  shape?: ShapeKind;
  color?: ColorName;
  size?: SizeName;
  material?: MaterialName;
  motion?: MotionKind;
  /** Horizontal direction of travel, where the prompt says one. */
  direction?: "left" | "right";
  /** Whether the prompt asks for it to bounce (e.g. "bouncing"). */
  bounces?: boolean;
  /** The third of the view it starts in ("on the left", "in the middle"); see place.ts. */
  place?: Place;
}

export interface SceneConstraints {
  theme?: ThemeName;
  camera?: CameraMotion;
  /** One entry per object the prompt names, in the order it names them. */
  objects: ObjectConstraint[];
  /** Total number of moving objects when the prompt says ("three balls", "two objects"). */
  count?: number;
  /** Occluders the prompt asks for; an empty list means "no occluders" was not said (leave to seed). */
  occluders: OccluderKind[];
  /**
   * Parallel to `occluders`, where the prompt says it: "front" when the action passes behind the
   * occluder ("behind a pillar", "in the foreground"), "back" when it happens in front of it
   * ("in front of a wall", "in the background"), null when unsaid. Absent when no layer is said.
   */
  occluderLayers?: ("front" | "back" | null)[];
}
