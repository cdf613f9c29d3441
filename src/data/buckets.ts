/**
 * Buckets: the shapes a training batch may have. Like Sora, Zoetrope trains on clips at their
 * native resolution, aspect ratio and duration rather than cropping everything to one square;
 * a batch only needs its items to share one shape, so clips are grouped into buckets of equal
 * width, height and frame count.
 */

export interface Bucket {
  width: number;
  height: number;
  /** Frames per clip. */
  frames: number;
}

/** "64x96x24": width × height × frames, used in file names and logs. */
export function bucketKey(b: Bucket): string {
  return `${b.width}x${b.height}x${b.frames}`;
}

/** Throws a clear error unless every bucket has positive integer dimensions (and there is one). */
export function assertBuckets(buckets: readonly Bucket[], what = "buckets"): void {
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new Error(`${what}: need at least one bucket`);
  }
  buckets.forEach((b, i) => {
    for (const field of ["width", "height", "frames"] as const) {
      const v = b?.[field];
      if (!Number.isInteger(v) || v <= 0) {
        throw new Error(`${what}[${i}]: ${field} must be a positive integer, got ${v}`);
      }
    }
  });
  const keys = buckets.map(bucketKey);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup) throw new Error(`${what}: bucket ${dup} is listed twice`);
}

/** Every combination of the given sizes and durations at `fps` (frames rounded, at least 1). */
export function makeBuckets(
  sizes: readonly (readonly [number, number])[],
  seconds: readonly number[],
  fps: number,
): Bucket[] {
  if (!(fps > 0)) throw new Error(`makeBuckets: fps must be > 0, got ${fps}`);
  const out: Bucket[] = [];
  for (const [width, height] of sizes) {
    for (const s of seconds) {
      if (!(s > 0)) throw new Error(`makeBuckets: seconds must be > 0, got ${s}`);
      out.push({ width, height, frames: Math.max(1, Math.round(s * fps)) });
    }
  }
  assertBuckets(out, "makeBuckets");
  return out;
}

/**
 * A small default set for the bundled model: square, landscape and portrait at about 64×64
 * pixels each, one and two seconds long.
 */
export function defaultBuckets(fps = 12): Bucket[] {
  return makeBuckets(
    [
      [64, 64],
      [96, 64],
      [64, 96],
    ],
    [1, 2],
    fps,
  );
}

/**
 * The bucket a clip of width×height with `frames` frames fits best: first the closest aspect
 * ratio (so little is cropped), then the closest pixel count, then the longest duration. Only
 * buckets no longer than the clip qualify (time is cut, never invented). Null when none does.
 */
export function nearestBucket(
  width: number,
  height: number,
  frames: number,
  buckets: readonly Bucket[],
): Bucket | null {
  const aspect = Math.log(width / height);
  const area = Math.log(width * height);
  let best: Bucket | null = null;
  let bestScore: [number, number, number] = [Infinity, Infinity, Infinity];
  for (const b of buckets) {
    if (b.frames > frames) continue;
    // Rounded so buckets of (almost) the same aspect tie and the next criterion decides.
    const score: [number, number, number] = [
      round6(Math.abs(Math.log(b.width / b.height) - aspect)),
      round6(Math.abs(Math.log(b.width * b.height) - area)),
      -b.frames,
    ];
    if (lexLess(score, bestScore)) {
      best = b;
      bestScore = score;
    }
  }
  return best;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i];
  }
  return false;
}
