/**
 * The evaluator: any RGB clip in, a report out. Objects are found from the pixels alone (colour
 * and shape, never the ground truth), tracked, put back into world coordinates, and the clip is
 * scored on prompt adherence, physics, object permanence and, when its first frames come from
 * the simulator, how far it strays from the simulator's own continuation.
 */
import { assertVideo, type Video } from "../../media/video.ts";
import { basePixelsPerMetre, cameraAt, groundRow } from "../camera.ts";
import type { SceneConstraints } from "../constraints.ts";
import { placeOf } from "../place.ts";
import { parsePrompt } from "../prompt.ts";
import { GRAVITY, validateConstraints } from "../sample.ts";
import type { SceneSpec, ThemeName } from "../scene.ts";
import { validateScene } from "../validate.ts";
import { analyseMotion } from "./motion.ts";
import { type ObjectSummary, summariseObjects } from "./objects.ts";
import { objectsFromPixels } from "./objects-from-pixels.ts";
import { type AdherenceScore, scoreAdherence } from "./scores/adherence.ts";
import { type ContinuationScore, scoreContinuation } from "./scores/continuation.ts";
import { type PermanenceScore, scorePermanence } from "./scores/permanence.ts";
import { type PhysicsScore, scorePhysics } from "./scores/physics.ts";
import { scoreTemporal, type TemporalScore } from "./temporal.ts";
import { guessTheme } from "./theme.ts";
import type { Track } from "./track.ts";
import { estimateView, rebaseTracks, TYPICAL_ARENA_WIDTH } from "./view.ts";

export interface EvalOptions {
  /** The prompt the clip was made from; parsed into constraints for the adherence score. */
  prompt?: string;
  /** Constraints to check directly (instead of a prompt). */
  constraints?: SceneConstraints;
  /** The clip's first contextFrames frames were simulated from this scene. */
  reference?: { scene: SceneSpec; contextFrames: number };
}

export interface EvalReport {
  video: {
    width: number;
    height: number;
    fps: number;
    frames: number;
    seconds: number;
    /** How smeared the clip's colour is (0 exact, 1 like yuv420p), allowed for in segmentation. */
    chromaSmear: number;
  };
  prompt: { text: string | null; constraints: SceneConstraints; unknownWords: string[] } | null;
  theme: { guess: ThemeName; distance: number };
  camera: { motion: string; source: string; pixelsPerMetre: number; reason?: string };
  objects: ObjectSummary[];
  /** Flickering blobs (never seen for more than a few frames running) left out as noise. */
  ignoredBlobs: number;
  scores: {
    adherence: number | null;
    physics: number | null;
    /** null when no object was found to judge. */
    permanence: number | null;
    /** Frames in order and moving on every frame (null when too little moves to tell). */
    temporal: number | null;
    continuation: number | null;
  };
  adherence: AdherenceScore | null;
  physics: PhysicsScore;
  permanence: PermanenceScore;
  temporal: TemporalScore;
  continuation: ContinuationScore | null;
  verdict: Verdict;
}

/** The evaluator's judgement from the scores: what failed, and what it could not check. */
export interface Verdict {
  /** Every score that was measured is at least PASS_MARK, and nothing essential was unmeasured. */
  pass: boolean;
  /** Why it fails: scores below the mark ("physics 0.42"), "physics unmeasured", "no object found". */
  failed: string[];
  /** What could not be checked, and why. */
  unmeasured: { what: string; reason: string }[];
}

/** The least score a criterion needs for the clip to pass. */
export const PASS_MARK = 0.9;

export function evaluateVideo(video: Video, opts: EvalOptions = {}): EvalReport {
  if (video === null || typeof video !== "object")
    throw new Error("evaluateVideo: video is missing");
  if (!Array.isArray(video.frames)) throw new Error("evaluateVideo: video.frames must be an array");
  assertVideo(video, "evaluateVideo: video");
  const { width, height, fps, frames } = video;
  const prompt = resolvePrompt(opts);
  const reference = opts.reference;
  if (reference) {
    if (reference === null || typeof reference !== "object" || !reference.scene) {
      throw new Error("evaluateVideo: reference must be { scene, contextFrames }");
    }
    validateScene(reference.scene);
    const c = reference.contextFrames;
    if (!Number.isInteger(c) || c < 1 || c > frames.length) {
      throw new Error(
        `evaluateVideo: reference.contextFrames must be an integer in 1..${frames.length}, got ${c}`,
      );
    }
  }

  // 1. Objects from pixels, tracked at no more than the world's top speed at this scale.
  const ppm = reference
    ? cameraAt(reference.scene, 0, width, height).pixelsPerMetre
    : basePixelsPerMetre(TYPICAL_ARENA_WIDTH, width, height);
  const { chromaSmear, segs, all, tracks } = objectsFromPixels(video, ppm);
  const scenery = segs.map((s) => s.scenery);

  // 2. Into the world: camera, motion, what each object is.
  const view = estimateView({
    width,
    height,
    fps,
    frames: frames.length,
    tracks,
    scenery,
    pixels: frames,
    reference: reference?.scene,
  });
  const based = rebaseTracks(tracks, view);
  const motions = based.map((t) => analyseMotion(t, { fps, pixelsPerMetre: view.pixelsPerMetre }));
  // Places are thirds of the arena (place.ts); at the first frame the camera is centred on it.
  const arenaWidth = reference?.scene.arenaWidth ?? TYPICAL_ARENA_WIDTH;
  const placeOfColumn = (cx: number) => placeOf((cx - width / 2) / view.pixelsPerMetre, arenaWidth);
  const objects = summariseObjects(tracks, motions, frames.length, { chromaSmear, placeOfColumn });
  const theme = guessTheme(frames, width, height);
  const temporal = scoreTemporal(
    frames,
    width,
    height,
    segs.map((s) => s.detections),
  );

  // 3. Scores.
  const physics = scorePhysics(based, motions, fps, {
    pixelsPerMetre: view.pixelsPerMetre,
    gravity: reference?.scene.gravity ?? GRAVITY,
    groundY: groundRow(height),
    shapes: new Map(objects.map((o) => [o.track, o.shape])),
  });
  const permanence = scorePermanence({ tracks, scenery, width, height, chromaSmear });
  const continuation = reference
    ? scoreContinuation({
        tracks,
        width,
        height,
        fps,
        frames: frames.length,
        scene: reference.scene,
        contextFrames: reference.contextFrames,
      })
    : null;
  const adherence = prompt
    ? scoreAdherence(prompt.constraints, objects, theme.theme, objectCount(tracks), {
        themeDistance: theme.distance,
        frames: frames.length,
        permanence: permanence.events,
        camera: view.source === "unmeasured" ? null : view.camera,
      })
    : null;
  const scores = {
    adherence: adherence?.score ?? null,
    physics: physics.score,
    permanence: permanence.score,
    temporal: temporal.score,
    continuation: continuation?.score ?? null,
  };

  return {
    video: { width, height, fps, frames: frames.length, seconds: frames.length / fps, chromaSmear },
    prompt,
    theme: { guess: theme.theme, distance: theme.distance },
    camera: {
      motion: view.camera,
      source: view.source,
      pixelsPerMetre: view.pixelsPerMetre,
      ...(view.reason ? { reason: view.reason } : {}),
    },
    objects,
    ignoredBlobs: all.length - tracks.length,
    scores,
    adherence,
    physics,
    permanence,
    temporal,
    continuation,
    verdict: judgeScores(scores, {
      prompted: prompt !== null,
      referenced: reference !== undefined,
      objects: tracks.length,
      reasons: {
        adherence: "no prompt given",
        physics: physics.reason ?? "no motion or support to judge",
        permanence: "no object found to judge",
        temporal: temporal.reason ?? "too little motion",
        continuation: continuation ? "every object left the view by then" : "no reference given",
      },
      camera: view.source === "unmeasured" ? (view.reason ?? "not measurable") : null,
    }),
  };
}

/**
 * The verdict: every measured score must reach the mark. A missing score is never a pass for
 * what the clip must show: objects (physics, permanence) and, with a prompt, adherence to it.
 * Time (order, held frames) is unmeasured only when almost nothing moves, which the adherence
 * to any motion word then catches; continuation needs a reference.
 */
function judgeScores(
  scores: EvalReport["scores"],
  ctx: {
    prompted: boolean;
    referenced: boolean;
    objects: number;
    reasons: Record<keyof EvalReport["scores"], string>;
    camera: string | null;
  },
): Verdict {
  const failed: string[] = [];
  const unmeasured: Verdict["unmeasured"] = [];
  let pass = true;
  for (const [name, value] of Object.entries(scores) as [
    keyof EvalReport["scores"],
    number | null,
  ][]) {
    if (value !== null) {
      if (value < PASS_MARK) {
        failed.push(`${name} ${value.toFixed(2)}`);
        pass = false;
      }
      continue;
    }
    if (name === "adherence" && !ctx.prompted) continue;
    if (name === "continuation" && !ctx.referenced) continue;
    unmeasured.push({ what: name, reason: ctx.reasons[name] });
    if (name === "adherence" || name === "physics" || name === "permanence") {
      // Named among the failures, so that a FAIL always says why.
      failed.push(`${name} unmeasured`);
      pass = false;
    }
  }
  if (ctx.objects === 0) {
    failed.push("no object found");
    pass = false;
  }
  if (ctx.camera) unmeasured.push({ what: "camera", reason: ctx.camera });
  return { pass, failed, unmeasured };
}

function resolvePrompt(opts: EvalOptions): EvalReport["prompt"] {
  if (opts.prompt !== undefined && opts.constraints !== undefined) {
    throw new Error("evaluateVideo: give a prompt or constraints, not both");
  }
  if (opts.constraints !== undefined) {
    validateConstraints(opts.constraints);
    return { text: null, constraints: opts.constraints, unknownWords: [] };
  }
  if (opts.prompt !== undefined) {
    const parsed = parsePrompt(opts.prompt);
    return {
      text: opts.prompt,
      constraints: parsed.constraints,
      unknownWords: parsed.unknownWords,
    };
  }
  return null;
}

/**
 * How many objects the clip shows: the most tracks alive at once (a track is alive from its
 * first to its last sighting, so an object hidden for a while still counts).
 */
function objectCount(tracks: Track[]): number {
  const events: [number, number][] = [];
  for (const t of tracks) {
    events.push([t.obs[0].frame, 1]);
    events.push([t.obs[t.obs.length - 1].frame + 1, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let alive = 0;
  let most = 0;
  for (const [, d] of events) {
    alive += d;
    most = Math.max(most, alive);
  }
  return most;
}
