/**
 * The description of one simulated scene: what the physics steps, the renderer draws, the
 * caption grammar describes and the prompt parser constrains. Units are metres and seconds;
 * x grows to the right, y grows upward, the ground is y = 0.
 */

/** Named colours (sRGB) the world paints objects with; captions and prompts use these names. */
export const OBJECT_COLORS = {
  red: [220, 38, 38],
  orange: [245, 130, 20],
  yellow: [240, 210, 30],
  green: [40, 170, 60],
  blue: [35, 90, 230],
  purple: [140, 60, 200],
  pink: [240, 110, 180],
  white: [245, 245, 245],
  black: [25, 25, 25],
  brown: [130, 80, 40],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ColorName = keyof typeof OBJECT_COLORS;
export const COLOR_NAMES = Object.keys(OBJECT_COLORS) as ColorName[];

export const SHAPES = ["ball", "box", "triangle"] as const;
export type ShapeKind = (typeof SHAPES)[number];

/** Sizes as the diameter (ball) or side (box, triangle) in metres. */
export const SIZES = { small: 0.5, medium: 0.75, large: 1.0 } as const;
export type SizeName = keyof typeof SIZES;
export const SIZE_NAMES = Object.keys(SIZES) as SizeName[];

/** Materials set restitution, friction and density. */
export const MATERIALS = {
  bouncy: { restitution: 0.85, friction: 0.3, density: 1.0 },
  heavy: { restitution: 0.2, friction: 0.6, density: 4.0 },
  light: { restitution: 0.5, friction: 0.4, density: 0.3 },
} as const;
export type MaterialName = keyof typeof MATERIALS;
export const MATERIAL_NAMES = Object.keys(MATERIALS) as MaterialName[];

/** How an object starts: let go from a height, thrown through the air, rolled along the ground, or at rest. */
export const MOTIONS = ["dropped", "thrown", "rolled", "resting"] as const;
export type MotionKind = (typeof MOTIONS)[number];

export const THEMES = ["day", "sunset", "night", "indoor", "underwater"] as const;
export type ThemeName = (typeof THEMES)[number];

export const CAMERAS = ["still", "pan-left", "pan-right", "zoom-in"] as const;
export type CameraMotion = (typeof CAMERAS)[number];

export const OCCLUDER_KINDS = ["pillar", "wall", "crate"] as const;
export type OccluderKind = (typeof OCCLUDER_KINDS)[number];

export interface ObjectSpec {
  /** Stable index of the object within its scene (0-based). */
  id: number;
  shape: ShapeKind;
  color: ColorName;
  size: SizeName;
  material: MaterialName;
  motion: MotionKind;
  /** Initial centre position (m) and velocity (m/s). */
  x: number;
  y: number;
  vx: number;
  vy: number;
}

export interface OccluderSpec {
  kind: OccluderKind;
  /** Centre x (m); the occluder stands on the ground. */
  x: number;
  width: number;
  height: number;
  /** In front of the moving objects (hides them) or behind them (scenery). */
  layer: "front" | "back";
}

export interface SceneSpec {
  seed: number;
  theme: ThemeName;
  camera: CameraMotion;
  objects: ObjectSpec[];
  occluders: OccluderSpec[];
  /** Width of the arena between its two side walls (m); the view is centred on it. */
  arenaWidth: number;
  /** Gravity (m/s², positive number, pointing down). */
  gravity: number;
}

/** Per-frame ground truth of one object. Pixel quantities are in the rendered frame's pixels. */
export interface ObjectTruth {
  id: number;
  /** World position (m) and velocity (m/s). */
  x: number;
  y: number;
  vx: number;
  vy: number;
  angle: number;
  /** Centre in pixels (may lie outside the frame). */
  px: number;
  py: number;
  /** Bounding box in pixels, [x0, y0, x1, y1], clipped to nothing: may lie outside the frame. */
  bbox: [number, number, number, number];
  /** Fraction of the object's area visible in the frame (0 when hidden or outside). */
  visible: number;
}

export interface FrameTruth {
  frame: number;
  t: number;
  objects: ObjectTruth[];
}

export const EVENT_KINDS = ["bounce", "collision", "enter", "leave", "hidden", "reappear"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface WorldEvent {
  frame: number;
  t: number;
  kind: EventKind;
  /** The objects involved (one, or two for a collision). */
  objects: number[];
}

export interface ClipTruth {
  scene: SceneSpec;
  width: number;
  height: number;
  fps: number;
  frames: FrameTruth[];
  events: WorldEvent[];
}
