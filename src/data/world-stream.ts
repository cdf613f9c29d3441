/**
 * An endless, seeded stream of simulated training clips, batched by bucket: every batch holds
 * clips of one width, height and length, so they stack into one tensor. Each clip comes with a
 * freshly worded caption (the caption grammar picks a phrasing per clip), its scene and its
 * per-frame ground truth. The same seed gives the same batches in the same order, and a run can
 * resume at any batch without simulating the ones before it.
 */
import type { Video } from "../media/video.ts";
import { Rng } from "../util/rng.ts";
import { captionScene } from "../world/caption.ts";
import { MAX_SAMPLED_OBJECTS, sampleScene } from "../world/sample.ts";
import type { ClipTruth, SceneSpec } from "../world/scene.ts";
import { simulate } from "../world/simulate.ts";
import { assertBuckets, type Bucket } from "./buckets.ts";

export interface WorldClip {
  /** Seed the clip was made from: `makeWorldClip(seed, bucket, fps)` remakes it exactly. */
  seed: number;
  bucket: Bucket;
  video: Video;
  caption: string;
  scene: SceneSpec;
  truth: ClipTruth;
}

export interface WorldBatch {
  /** 0-based position of the batch in the stream. */
  index: number;
  bucket: Bucket;
  items: WorldClip[];
}

export interface WorldStreamOptions {
  seed: number;
  buckets: readonly Bucket[];
  fps: number;
  batchSize: number;
  /** Relative frequency of each bucket (same order as `buckets`); equal when omitted. */
  weights?: readonly number[];
  /** Relative frequency of scenes with 1, 2, … objects (see makeWorldClip); uniform when omitted. */
  objectCounts?: readonly number[];
  /** First batch to produce (earlier ones are skipped without simulating); default 0. */
  startBatch?: number;
  /** Stop after this many batches; endless when omitted. */
  batches?: number;
}

/**
 * Makes one clip: scene from the seed, simulated and rendered at the bucket's shape, captioned.
 * `objectCounts` (relative frequencies of 1, 2, … objects, at most MAX_SAMPLED_OBJECTS) replaces
 * the sampler's uniform draw of the object count, e.g. to lean training toward the one or two
 * objects most prompts ask for; without it the clip is what it always was for this seed.
 */
export function makeWorldClip(
  seed: number,
  bucket: Bucket,
  fps: number,
  objectCounts?: readonly number[],
): WorldClip {
  const rng = new Rng(seed);
  const sceneSeed = rng.nextU32();
  const captionSeed = rng.nextU32();
  const scene = objectCounts
    ? sampleScene(sceneSeed, {
        objects: [],
        occluders: [],
        count: 1 + pickWeighted(rng, checkObjectCounts(objectCounts)),
      })
    : sampleScene(sceneSeed);
  const seconds = bucket.frames / fps;
  const { video, truth } = simulate(scene, {
    width: bucket.width,
    height: bucket.height,
    fps,
    seconds,
  });
  if (video.frames.length !== bucket.frames) {
    throw new Error(
      `makeWorldClip: simulate gave ${video.frames.length} frames for ${seconds} s at ${fps} fps, expected ${bucket.frames}`,
    );
  }
  const caption = captionScene(scene, captionSeed, truth.events);
  return { seed, bucket, video, caption, scene, truth };
}

function validate(opts: WorldStreamOptions): void {
  if (!Number.isFinite(opts.seed))
    throw new Error(`world stream: seed must be a number, got ${opts.seed}`);
  assertBuckets(opts.buckets, "world stream buckets");
  if (!(opts.fps > 0) || !Number.isFinite(opts.fps)) {
    throw new Error(`world stream: fps must be > 0, got ${opts.fps}`);
  }
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new Error(`world stream: batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  const { weights } = opts;
  if (weights) {
    if (weights.length !== opts.buckets.length) {
      throw new Error(
        `world stream: ${weights.length} weights for ${opts.buckets.length} buckets; give one per bucket`,
      );
    }
    if (!isWeightList(weights)) {
      throw new Error(`world stream: weights must be non-negative numbers, not all zero`);
    }
  }
  if (opts.objectCounts) checkObjectCounts(opts.objectCounts);
  for (const key of ["startBatch", "batches"] as const) {
    const v = opts[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
      throw new Error(`world stream: ${key} must be a non-negative integer, got ${v}`);
    }
  }
}

/** Relative frequencies of 1, 2, … objects per scene, checked; returned as given. */
export function checkObjectCounts(counts: readonly number[]): readonly number[] {
  if (counts.length < 1 || counts.length > MAX_SAMPLED_OBJECTS || !isWeightList(counts))
    throw new Error(
      `object counts: give 1 to ${MAX_SAMPLED_OBJECTS} relative frequencies (of scenes with 1, 2, … objects), non-negative and not all zero; got ${counts.join(",") || "none"}`,
    );
  return counts;
}

/** Relative frequencies: finite, non-negative, not all zero (what pickWeighted can draw from). */
function isWeightList(weights: readonly number[]): boolean {
  return weights.every((w) => w >= 0 && Number.isFinite(w)) && weights.some((w) => w > 0);
}

/** Picks an index in proportion to weights. */
function pickWeighted(rng: Rng, weights: readonly number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.findLastIndex((w) => w > 0);
}

/**
 * The plan of batch `index`: its bucket and its clips' seeds. Each batch draws from its own
 * generator (derived from the stream seed and the index), so plans are independent and any batch
 * can be planned directly.
 */
export function planBatch(
  opts: WorldStreamOptions,
  index: number,
): { bucket: Bucket; seeds: number[] } {
  const rng = new Rng((opts.seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b1));
  const weights = opts.weights ?? opts.buckets.map(() => 1);
  const bucket = opts.buckets[pickWeighted(rng, weights)];
  const seeds = Array.from({ length: opts.batchSize }, () => rng.nextU32());
  return { bucket, seeds };
}

/** Async iterator of batches (see the module comment). Yields to the event loop between clips. */
export async function* createWorldStream(opts: WorldStreamOptions): AsyncGenerator<WorldBatch> {
  validate(opts);
  const start = opts.startBatch ?? 0;
  const end = opts.batches === undefined ? Infinity : start + opts.batches;
  for (let index = start; index < end; index++) {
    const { bucket, seeds } = planBatch(opts, index);
    const items: WorldClip[] = [];
    for (const seed of seeds) {
      items.push(makeWorldClip(seed, bucket, opts.fps, opts.objectCounts));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    yield { index, bucket, items };
  }
}
