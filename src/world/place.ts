/**
 * Where an object starts across the view: the left, middle or right third of the arena. At the
 * first frame every camera is centred on the arena at its resting zoom, and a landscape or square
 * frame shows the arena's whole width, so these thirds are the thirds of the first frame.
 *
 * Why captions say it: without the place, a caption leaves an object's position to chance, so a
 * denoiser's best guess at high noise is the object smeared over every position it could take,
 * and a small model that has to break that symmetry token by token often breaks it twice (two
 * copies of one object). Stating the place, as prompt expansion can (it chooses the whole scene),
 * removes the choice.
 */
import type { ObjectSpec } from "./scene.ts";

export const PLACES = ["left", "middle", "right"] as const;
export type Place = (typeof PLACES)[number];

/** The third of an arena `arenaWidth` m wide (centred on x = 0) that x (m) lies in. */
export function placeOf(x: number, arenaWidth: number): Place {
  if (!Number.isFinite(x) || !(arenaWidth > 0))
    throw new Error(`placeOf: need a finite x and a positive arena width, got ${x}, ${arenaWidth}`);
  const third = arenaWidth / 6;
  return x < -third ? "left" : x > third ? "right" : "middle";
}

/** The third an object starts in. */
export function objectPlace(o: ObjectSpec, arenaWidth: number): Place {
  return placeOf(o.x, arenaWidth);
}

/** The x range (m) of a third, [lo, hi]. */
export function placeRange(place: Place, arenaWidth: number): [number, number] {
  const third = arenaWidth / 6;
  if (place === "left") return [-arenaWidth / 2, -third];
  if (place === "right") return [third, arenaWidth / 2];
  return [-third, third];
}
