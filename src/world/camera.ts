/**
 * The side-view camera: where the world sits in the frame at each moment. The view is centred on
 * the arena with the ground line a fixed fraction up from the bottom of the frame. Landscape
 * frames fit the arena's width (unless that would leave too little height above the ground);
 * portrait frames fit a height so objects stay a usable size, showing at least half the arena.
 * Pixel coordinates are continuous: pixel (i, j) covers [i, i+1) × [j, j+1), its centre is at
 * (i + 0.5, j + 0.5), and y grows downward.
 */
import type { SceneSpec } from "./scene.ts";

export interface CameraView {
  /** World point (m) shown at the centre of the frame. */
  cx: number;
  cy: number;
  pixelsPerMetre: number;
  width: number;
  height: number;
}

/** Fraction of the frame's height below the ground line (the visible floor). */
export const GROUND_FRACTION = 0.2;
/** Least world height a landscape view shows, as a fraction of the arena width. */
const MIN_VIEW_HEIGHT = 0.45;
/** World height a portrait view shows, as a fraction of the arena width. */
const PORTRAIT_VIEW_HEIGHT = 0.9;
/** Pan: the view drifts at PAN_SPEED (arena widths per second), easing out to at most PAN_REACH. */
const PAN_SPEED = 0.05;
const PAN_REACH = 0.2;
/** Zoom-in: magnification grows at ZOOM_RATE per second, easing out to at most 1 + ZOOM_REACH. */
const ZOOM_RATE = 0.08;
const ZOOM_REACH = 0.6;

/** The pixel row of the ground line (y = 0); the same at every moment, zoom included. */
export function groundRow(height: number): number {
  return height * (1 - GROUND_FRACTION);
}

/** Pixels per metre of the camera at rest, for a frame of this size. */
export function basePixelsPerMetre(arenaWidth: number, width: number, height: number): number {
  const fitWidth = width / arenaWidth;
  if (width >= height) return Math.min(fitWidth, height / (MIN_VIEW_HEIGHT * arenaWidth));
  return Math.min(Math.max(fitWidth, height / (PORTRAIT_VIEW_HEIGHT * arenaWidth)), 2 * fitWidth);
}

/** The camera at time t (s). Motion eases out (tanh), so it starts at its full rate and stays bounded. */
export function cameraAt(scene: SceneSpec, t: number, width: number, height: number): CameraView {
  if (!Number.isFinite(t) || t < 0)
    throw new Error(`cameraAt: t must be a finite time >= 0, got ${t}`);
  if (!(width > 0) || !(height > 0)) {
    throw new Error(`cameraAt: width and height must be positive, got ${width}×${height}`);
  }
  const W = scene.arenaWidth;
  let ppm = basePixelsPerMetre(W, width, height);
  let cx = 0;
  if (scene.camera === "pan-left" || scene.camera === "pan-right") {
    const reach = PAN_REACH * W;
    const offset = reach * Math.tanh((PAN_SPEED * W * t) / reach);
    // 0 - offset rather than -offset, so that t = 0 gives +0, not -0.
    cx = scene.camera === "pan-left" ? 0 - offset : offset;
  } else if (scene.camera === "zoom-in") {
    ppm *= 1 + ZOOM_REACH * Math.tanh((ZOOM_RATE * t) / ZOOM_REACH);
  }
  // The ground line stays on its row: zooming enlarges the scene upward from the floor.
  const cy = (groundRow(height) - height / 2) / ppm;
  return { cx, cy, pixelsPerMetre: ppm, width, height };
}

/** World point (m) to continuous pixel coordinates [px, py]. */
export function worldToPixel(cam: CameraView, x: number, y: number): [number, number] {
  return [
    cam.width / 2 + (x - cam.cx) * cam.pixelsPerMetre,
    cam.height / 2 - (y - cam.cy) * cam.pixelsPerMetre,
  ];
}

/** Continuous pixel coordinates to the world point (m) they show. */
export function pixelToWorld(cam: CameraView, px: number, py: number): [number, number] {
  return [
    cam.cx + (px - cam.width / 2) / cam.pixelsPerMetre,
    cam.cy - (py - cam.height / 2) / cam.pixelsPerMetre,
  ];
}
