/**
 * The in-memory video every part of Zoetrope exchanges: the world renderer makes it, the
 * evaluator reads it, ffmpeg encodes and decodes it, the VAE turns it into a latent.
 * Frames are packed RGB, row-major, 8 bits a channel: frame[(y * width + x) * 3 + c].
 */
export interface Video {
  width: number;
  height: number;
  /** Frames per second. */
  fps: number;
  /** One Uint8Array of width * height * 3 bytes per frame. */
  frames: Uint8Array[];
}

/** Throws a clear error when a Video's fields disagree with each other. */
export function assertVideo(video: Video, what = "video"): void {
  const { width, height, fps, frames } = video;
  if (!Number.isInteger(width) || width <= 0 || !Number.isInteger(height) || height <= 0) {
    throw new Error(`${what}: width and height must be positive integers, got ${width}×${height}`);
  }
  if (!(fps > 0) || !Number.isFinite(fps)) throw new Error(`${what}: fps must be > 0, got ${fps}`);
  if (frames.length === 0) throw new Error(`${what}: has no frames`);
  const bytes = width * height * 3;
  frames.forEach((f, i) => {
    if (f.length !== bytes) {
      throw new Error(
        `${what}: frame ${i} has ${f.length} bytes, expected ${bytes} (${width}×${height}×3)`,
      );
    }
  });
}
