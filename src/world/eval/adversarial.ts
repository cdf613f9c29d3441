/**
 * Corruptions for the adversarial suite: ways a generated clip can be wrong in time or colour
 * while each frame still looks like the world. Together with corrupt.ts (an object erased
 * mid-clip) and a wrong prompt (judging a clip against another clip's prompt), the evaluator
 * must catch every one. Each returns a new Video and leaves its input untouched.
 */
import { assertVideo, type Video } from "../../media/video.ts";
import { shuffleFrames } from "./corrupt.ts";

/** The first frame held for the whole clip: nothing moves. */
export function freezeFrames(video: Video): Video {
  assertVideo(video, "freezeFrames: video");
  return { ...video, frames: video.frames.map(() => video.frames[0].slice()) };
}

/** Every frame black. */
export function blankFrames(video: Video): Video {
  assertVideo(video, "blankFrames: video");
  return { ...video, frames: video.frames.map((f) => new Uint8Array(f.length)) };
}

/** The frames in reverse order: time runs backwards. */
export function reverseFrames(video: Video): Video {
  assertVideo(video, "reverseFrames: video");
  return { ...video, frames: video.frames.map((_, i, a) => a[a.length - 1 - i].slice()) };
}

/**
 * Slowed down by a whole factor at the same frame rate: every frame shown `factor` times, so the
 * clip lasts `factor` times longer and everything in it moves that much slower.
 */
export function slowDown(video: Video, factor = 2): Video {
  assertVideo(video, "slowDown: video");
  checkFactor("slowDown", factor);
  return {
    ...video,
    frames: video.frames.flatMap((f) => Array.from({ length: factor }, () => f.slice())),
  };
}

/** Sped up by a whole factor at the same frame rate: only every `factor`-th frame is kept. */
export function speedUp(video: Video, factor = 2): Video {
  assertVideo(video, "speedUp: video");
  checkFactor("speedUp", factor);
  if (video.frames.length < 2 * factor) {
    throw new Error(
      `speedUp: a clip of ${video.frames.length} frames is too short to speed up ${factor}×`,
    );
  }
  return {
    ...video,
    frames: video.frames.filter((_, i) => i % factor === 0).map((f) => f.slice()),
  };
}

/**
 * Every pixel's hue turned by `degrees` about the grey axis (brightness kept): a red ball comes
 * out cyan-ish, a blue sky orange-ish.
 */
export function rotateHue(video: Video, degrees = 180): Video {
  assertVideo(video, "rotateHue: video");
  if (!Number.isFinite(degrees) || degrees % 360 === 0) {
    throw new Error(`rotateHue: degrees must be finite and not a whole turn, got ${degrees}`);
  }
  // Rotation by θ about the (1,1,1) axis (Rodrigues' formula), in sRGB.
  const t = (degrees * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t) / Math.sqrt(3);
  const a = (1 - c) / 3;
  const m = [c + a, a - s, a + s, a + s, c + a, a - s, a - s, a + s, c + a];
  const frames = video.frames.map((f) => {
    const out = new Uint8Array(f.length);
    for (let o = 0; o < f.length; o += 3) {
      const r = f[o];
      const g = f[o + 1];
      const b = f[o + 2];
      for (let k = 0; k < 3; k++) {
        const v = m[3 * k] * r + m[3 * k + 1] * g + m[3 * k + 2] * b;
        out[o + k] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
      }
    }
    return out;
  });
  return { ...video, frames };
}

function checkFactor(fn: string, factor: number): void {
  if (!Number.isInteger(factor) || factor < 2 || factor > 8) {
    throw new Error(`${fn}: factor must be a whole number in 2..8, got ${factor}`);
  }
}

/** The corruptions that need nothing but the clip, by the name the suite reports them under. */
export const TIME_AND_COLOUR_CORRUPTIONS = {
  shuffled: (v: Video, seed: number) => shuffleFrames(v, seed),
  frozen: (v: Video) => freezeFrames(v),
  blank: (v: Video) => blankFrames(v),
  reversed: (v: Video) => reverseFrames(v),
  "slowed 2×": (v: Video) => slowDown(v, 2),
  "sped 2×": (v: Video) => speedUp(v, 2),
  "hue rotated": (v: Video) => rotateHue(v, 180),
} as const;

/** Whether two clips are the same frame for frame: a corruption that changed nothing. */
export function sameClip(a: Video, b: Video): boolean {
  if (a.frames.length !== b.frames.length || a.width !== b.width || a.height !== b.height)
    return false;
  return a.frames.every((f, i) => Buffer.compare(f, b.frames[i]) === 0);
}
