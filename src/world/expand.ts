/**
 * Prompt expansion: a short prompt becomes a full scene and the detailed caption of that scene,
 * the way Sora turns a user's short prompt into a long, descriptive one before generating. The
 * prompt pins what it says; the seed decides the rest.
 */
import { captionScene } from "./caption.ts";
import type { SceneConstraints } from "./constraints.ts";
import { parsePrompt } from "./prompt.ts";
import { sampleScene } from "./sample.ts";
import type { SceneSpec } from "./scene.ts";

export interface ExpandedPrompt {
  scene: SceneSpec;
  /** A detailed description of `scene` in the caption grammar's words. */
  caption: string;
  constraints: SceneConstraints;
  /** Words of the prompt the parser did not understand (and so could not honour). */
  unknownWords: string[];
}

export function expandPrompt(text: string, seed: number): ExpandedPrompt {
  if (typeof seed !== "number" || !Number.isFinite(seed))
    throw new Error(`expandPrompt: seed must be a finite number, got ${String(seed)}`);
  const { constraints, unknownWords } = parsePrompt(text);
  // The camera stays still unless the prompt asks it to move: a pan or zoom nobody asked for
  // makes the motion that was asked for hard to see (and to judge).
  const scene = sampleScene(seed, { ...constraints, camera: constraints.camera ?? "still" });
  // The caption's wording gets its own stream so it does not echo the scene's draws.
  const caption = captionScene(scene, (Math.floor(seed) ^ 0x5bd1e995) >>> 0);
  return { scene, caption, constraints, unknownWords };
}
