/**
 * What bench/theme-control.ts, bench/count-control.ts and bench/place-control.ts share: their
 * options (models, seeds, steps, guidance) and one 2-second 64×64 clip of a prompt from a model,
 * as `generate` makes it.
 */
import { parseArgs } from "node:util";
import { generate, loadModel } from "../src/index.ts";
import type { Video } from "../src/media/video.ts";
import { DEFAULT_GUIDANCE } from "../src/models/sampling-defaults.ts";

export interface ControlOptions {
  models: string[];
  seeds: number;
  steps: number;
  guidance: number;
}

/** --model <dir> (repeatable, at least one), --seeds, --steps, --guidance; bad values throw. */
export function controlOptions(): ControlOptions {
  const { values } = parseArgs({
    options: {
      model: { type: "string", multiple: true },
      seeds: { type: "string", default: "6" },
      steps: { type: "string", default: "30" },
      guidance: { type: "string", default: String(DEFAULT_GUIDANCE) },
    },
  });
  const models = values.model ?? [];
  if (models.length === 0) throw new Error("give at least one --model <dir>");
  const seeds = Number(values.seeds);
  const steps = Number(values.steps);
  const guidance = Number(values.guidance);
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new Error(`--seeds must be ≥ 1, got ${values.seeds}`);
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`--steps must be ≥ 1, got ${values.steps}`);
  if (!(guidance >= 0)) throw new Error(`--guidance must be ≥ 0, got ${values.guidance}`);
  return { models, seeds, steps, guidance };
}

type Model = Awaited<ReturnType<typeof loadModel>>;

/** A 2-second 64×64 clip at 8 fps of `prompt` with `seed`, as the README's command makes it. */
export async function clipOf(
  model: Model,
  prompt: string,
  seed: number,
  o: ControlOptions,
): Promise<Video> {
  const g = await generate(prompt, {
    model,
    width: 64,
    height: 64,
    frames: 17,
    fps: 8,
    steps: o.steps,
    guidance: o.guidance,
    seed,
  });
  return g.video;
}

export { loadModel };
