/**
 * Host-side conversion between videos (packed RGB bytes) and the [B, 3, T, H, W] float layout the
 * autoencoder reads, with pixels mapped to [-1, 1]; and PSNR between videos.
 */
import { assertVideo, type Video } from "../media/video.ts";
import type { Device } from "../tensor/device.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** Videos of one shape → [B, 3, T, H, W] values in [-1, 1]. */
export function videosToArray(videos: readonly Video[]): {
  data: Float32Array;
  shape: [number, number, number, number, number];
} {
  if (videos.length === 0) throw new Error("videosToArray: no videos");
  const { width, height } = videos[0];
  const frames = videos[0].frames.length;
  videos.forEach((v, i) => {
    assertVideo(v, `video ${i}`);
    if (v.width !== width || v.height !== height || v.frames.length !== frames)
      throw new Error(
        `videosToArray: video ${i} is ${v.width}×${v.height}×${v.frames.length}, video 0 is ${width}×${height}×${frames}; a batch needs one shape`,
      );
  });
  const plane = width * height;
  const data = new Float32Array(videos.length * 3 * frames * plane);
  videos.forEach((v, b) => {
    v.frames.forEach((f, t) => {
      for (let c = 0; c < 3; c++) {
        const base = ((b * 3 + c) * frames + t) * plane;
        for (let p = 0; p < plane; p++) data[base + p] = f[p * 3 + c] / 127.5 - 1;
      }
    });
  });
  return { data, shape: [videos.length, 3, frames, height, width] };
}

export function videosToTensor(device: Device, videos: readonly Video[]): Tensor {
  const { data, shape } = videosToArray(videos);
  return device.tensor(data, shape);
}

/** [B, 3, T, H, W] values (read back from a tensor) → videos, clamped to [-1, 1] and rounded. */
export function arrayToVideos(
  data: ArrayLike<number>,
  shape: readonly number[],
  fps: number,
): Video[] {
  const [b, c, t, h, w] = shape;
  if (shape.length !== 5 || c !== 3 || data.length !== b * c * t * h * w)
    throw new Error(
      `arrayToVideos: need [B, 3, T, H, W] values, got shape [${shape}] and ${data.length} values`,
    );
  const plane = h * w;
  const out: Video[] = [];
  for (let i = 0; i < b; i++) {
    const frames: Uint8Array[] = [];
    for (let f = 0; f < t; f++) {
      const rgb = new Uint8Array(plane * 3);
      for (let ch = 0; ch < 3; ch++) {
        const base = ((i * 3 + ch) * t + f) * plane;
        for (let p = 0; p < plane; p++) {
          const v = Math.round((Math.min(1, Math.max(-1, data[base + p])) + 1) * 127.5);
          rgb[p * 3 + ch] = v;
        }
      }
      frames.push(rgb);
    }
    out.push({ width: w, height: h, fps, frames });
  }
  return out;
}

/** Peak signal-to-noise ratio in dB of two equally shaped 8-bit videos. */
export function psnr(a: Video, b: Video): number {
  if (a.width !== b.width || a.height !== b.height || a.frames.length !== b.frames.length)
    throw new Error(
      `psnr: videos differ in shape (${a.width}×${a.height}×${a.frames.length} vs ${b.width}×${b.height}×${b.frames.length})`,
    );
  let se = 0;
  let n = 0;
  a.frames.forEach((f, i) => {
    const g = b.frames[i];
    for (let p = 0; p < f.length; p++) {
      const d = f[p] - g[p];
      se += d * d;
    }
    n += f.length;
  });
  const mse = se / n;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}
