/**
 * The largest clip `zoetrope eval` takes, and the message for one beyond it. The evaluator holds
 * every frame in memory and its time grows with the pixels it looks at, so the limit is on
 * pixels: width × height × frames. At 2^27 pixels (384 MiB of RGB frames) a clip needs about
 * 1 GiB of memory and one to two minutes (bench/NOTES.md, issue 12). Documented in the README
 * and in `zoetrope eval --help`.
 */
export const EVAL_LIMITS = {
  /** Longest side in pixels (the world's own largest frame). */
  maxSide: 2048,
  /** width × height × frames. */
  maxPixels: 2 ** 27,
};

/** Clip lengths that fit, for the message: e.g. "64×64: 32,768 frames". */
function fits(width: number, height: number): string {
  return Math.floor(EVAL_LIMITS.maxPixels / (width * height)).toLocaleString("en");
}

/** Why a clip is refused, with what would fit; `frames` null when the size alone is too big. */
export function limitProblem(
  path: string,
  width: number,
  height: number,
  frames: string | null,
): string {
  const { maxSide, maxPixels } = EVAL_LIMITS;
  if (frames === null) {
    return `eval: ${path} is ${width}×${height}; eval takes frames of at most ${maxSide} pixels a side. Scale it down first (e.g. ffmpeg -i in.mp4 -vf scale=640:-2 out.mp4)`;
  }
  return `eval: ${path} is ${width}×${height} with ${frames} frames, beyond eval's limit of ${(maxPixels / 1e6).toFixed(0)} million pixels (width × height × frames): at this size at most ${fits(width, height)} frames. Cut or scale it down first (e.g. ffmpeg -i in.mp4 -t 10 -vf scale=320:-2 out.mp4)`;
}
