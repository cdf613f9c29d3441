/**
 * Turns what happened in a clip into WorldEvents: contact events from the physics (bounces on
 * the ground or a wall, collisions between objects) and visibility changes seen in the frames
 * (entering or leaving the frame, hiding behind a front occluder and reappearing).
 */

import type { Surface } from "./collide.ts";
import type { PhysicsEvent } from "./physics.ts";
import { EVENT_KINDS, type WorldEvent } from "./scene.ts";
import type { Visibility } from "./visibility.ts";

/** A WorldEvent with what a bounce hit and how fast, where the physics knows it. */
export interface WorldEventDetail extends WorldEvent {
  surface?: Surface;
  /** Closing speed along the contact normal (m/s). */
  speed?: number;
}

/** Below this share an object counts as out of the frame, or (in frame) as hidden. */
export const VISIBLE_EPSILON = 0.01;

/** Maps physics contact events to the nearest frame; t stays the exact simulated time. */
export function contactEvents(
  events: readonly PhysicsEvent[],
  fps: number,
  frames: number,
): WorldEventDetail[] {
  const out: WorldEventDetail[] = [];
  for (const e of events) {
    const frame = Math.min(frames - 1, Math.max(0, Math.round(e.t * fps)));
    out.push({
      frame,
      t: e.t,
      kind: e.kind,
      objects: e.objects.slice(),
      surface: e.surface,
      speed: e.speed,
    });
  }
  return out;
}

type Seen = "out" | "hidden" | "shown";

function classify(v: Visibility): Seen {
  if (v.inFrame < VISIBLE_EPSILON) return "out";
  return v.visible < VISIBLE_EPSILON ? "hidden" : "shown";
}

/** Follows each object's visibility frame by frame and reports the changes. */
export class VisibilityTracker {
  private state: Seen[] | null = null;
  readonly events: WorldEvent[] = [];

  update(frame: number, t: number, vis: readonly Visibility[]): void {
    const now = vis.map(classify);
    const push = (kind: WorldEvent["kind"], id: number) =>
      this.events.push({ frame, t, kind, objects: [id] });
    if (this.state === null) {
      // An object hidden from the first frame is reported, so every reappear has a hidden before it.
      now.forEach((s, id) => {
        if (s === "hidden") push("hidden", id);
      });
    } else {
      const before = this.state;
      now.forEach((s, id) => {
        const b = before[id];
        if (b === s) return;
        if (b === "out") push("enter", id);
        if (s === "out") push("leave", id);
        else if (s === "hidden") push("hidden", id);
        else if (b === "hidden") push("reappear", id);
      });
    }
    this.state = now;
  }
}

/** Events in order of frame, then time, then kind (in EVENT_KINDS order), then objects. */
export function sortEvents<E extends WorldEvent>(events: E[]): E[] {
  const rank = (k: WorldEvent["kind"]) => EVENT_KINDS.indexOf(k);
  return events.sort(
    (a, b) =>
      a.frame - b.frame ||
      a.t - b.t ||
      rank(a.kind) - rank(b.kind) ||
      a.objects[0] - b.objects[0] ||
      (a.objects[1] ?? -1) - (b.objects[1] ?? -1),
  );
}
