/**
 * Cheap pictures of a latent while it is being sampled, as ComfyUI's latent previews: each latent
 * cell's channels go to one RGB colour through a linear map plus bias, so an 8×8 latent shows as
 * an 8×8 picture (to be upscaled for display) without running the decoder.
 *
 * The map is not trained with the model: it is fitted per autoencoder by least squares, the
 * colours of a few simulated world clips (each latent cell's pixels averaged: its 8×8 block over
 * the frames the cell encodes) regressed on their latents, once per loaded model and cached.
 */
import { makeWorldClip } from "../data/world-stream.ts";
import type { SampleOptions } from "../diffusion/sample.ts";
import type { Video } from "../media/video.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { SPATIAL_DOWN, type VideoAutoencoder } from "./autoencoder.ts";
import { videosToTensor } from "./video-tensor.ts";

/** A linear map from a latent cell's C channels to RGB in [-1, 1]. */
export interface LatentRgbMap {
  channels: number;
  /** Per colour (R, G, B), C weights then the bias: 3·(C + 1) values. */
  coef: Float64Array;
}

/** A small RGB picture: packed bytes, width × height × 3. */
export interface PreviewImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/**
 * A step callback with previews: `preview()` gives a picture of the model's current prediction
 * of the clean video (the middle latent frame, one pixel per latent cell). It may be called
 * until the callback returns, or until a promise it returns settles (the sampler waits for it).
 */
export type StepCallback = (
  step: number,
  steps: number,
  preview: () => Promise<PreviewImage>,
) => unknown;

/** Latent cells and their pooled colours, one row each: n × C latents and n × 3 colours. */
export interface LatentCells {
  latents: Float64Array;
  colours: Float64Array;
  n: number;
}

/** The world clips the map is fitted on (seeds of makeWorldClip, one batch). */
export const FIT_SEEDS = [101, 102, 103, 104];
const FIT_SIZE = 64;
const FIT_FPS = 8;
/** Ridge on the weights (not the bias) per sample: keeps the solve stable on a degenerate latent. */
const RIDGE = 1e-3;

/** Simulated clips of 1 + 2r frames at 64×64 for the fit (and, with other seeds, its test). */
export function fitClips(ae: VideoAutoencoder, seeds: readonly number[]): Video[] {
  const frames = 1 + 2 * ae.cfg.temporalDown;
  const bucket = { width: FIT_SIZE, height: FIT_SIZE, frames };
  return seeds.map((seed) => makeWorldClip(seed, bucket, FIT_FPS).video);
}

/**
 * Encodes `videos` (one shape, 1 + r·k frames) and pairs each latent cell with the mean colour
 * of the pixels it encodes: its 8×8 block, over pixel frame 0 for latent frame 0 and over frames
 * r(j − 1) + 1 … r·j for latent frame j ≥ 1 (the causal autoencoder's bookkeeping).
 */
export async function latentCells(ae: VideoAutoencoder, videos: Video[]): Promise<LatentCells> {
  const x = videosToTensor(ae.device, videos);
  const z = await ae.encodeFrames(x); // [B, C, t, h, w]
  x.dispose();
  const values = await z.toArray();
  const [b, c, t, h, w] = z.shape;
  z.dispose();
  const r = ae.cfg.temporalDown;
  const { width } = videos[0];
  const n = b * t * h * w;
  const latents = new Float64Array(n * c);
  const colours = new Float64Array(n * 3);
  let row = 0;
  for (let bi = 0; bi < b; bi++)
    for (let j = 0; j < t; j++) {
      const frames = j === 0 ? [0] : Array.from({ length: r }, (_, k) => r * (j - 1) + 1 + k);
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++, row++) {
          for (let ch = 0; ch < c; ch++)
            latents[row * c + ch] = values[(((bi * c + ch) * t + j) * h + y) * w + xx];
          const sum = [0, 0, 0];
          for (const f of frames) {
            const rgb = videos[bi].frames[f];
            for (let dy = 0; dy < SPATIAL_DOWN; dy++)
              for (let dx = 0; dx < SPATIAL_DOWN; dx++) {
                const p = ((y * SPATIAL_DOWN + dy) * width + xx * SPATIAL_DOWN + dx) * 3;
                for (let k = 0; k < 3; k++) sum[k] += rgb[p + k];
              }
          }
          const count = frames.length * SPATIAL_DOWN * SPATIAL_DOWN;
          for (let k = 0; k < 3; k++) colours[row * 3 + k] = sum[k] / count / 127.5 - 1;
        }
    }
  return { latents, colours, n };
}

/** Least squares: colours ≈ [latents, 1]·coef, with a small ridge on the weights. */
export function fitMap(cells: LatentCells, channels: number): LatentRgbMap {
  const d = channels + 1;
  // Normal equations A·β = B for all three colours at once: A = XᵀX + λ·n·I (weights only).
  const a = new Float64Array(d * d);
  const rhs = new Float64Array(d * 3);
  const row = new Float64Array(d);
  for (let i = 0; i < cells.n; i++) {
    row.set(cells.latents.subarray(i * channels, (i + 1) * channels));
    row[channels] = 1;
    for (let p = 0; p < d; p++) {
      for (let q = 0; q < d; q++) a[p * d + q] += row[p] * row[q];
      for (let k = 0; k < 3; k++) rhs[p * 3 + k] += row[p] * cells.colours[i * 3 + k];
    }
  }
  for (let p = 0; p < channels; p++) a[p * d + p] += RIDGE * cells.n;
  const beta = solve(a, rhs, d, 3);
  const coef = new Float64Array(3 * d);
  for (let k = 0; k < 3; k++) for (let p = 0; p < d; p++) coef[k * d + p] = beta[p * 3 + k];
  return { channels, coef };
}

/** Solves A·X = B (A d×d, B d×m, row major) by Gaussian elimination with partial pivoting. */
function solve(a: Float64Array, b: Float64Array, d: number, m: number): Float64Array {
  const A = Float64Array.from(a);
  const B = Float64Array.from(b);
  for (let col = 0; col < d; col++) {
    let pivot = col;
    for (let i = col + 1; i < d; i++)
      if (Math.abs(A[i * d + col]) > Math.abs(A[pivot * d + col])) pivot = i;
    if (!(Math.abs(A[pivot * d + col]) > 1e-12))
      throw new Error("latent preview: the fit's equations are singular");
    for (let k = 0; k < d; k++)
      [A[col * d + k], A[pivot * d + k]] = [A[pivot * d + k], A[col * d + k]];
    for (let k = 0; k < m; k++)
      [B[col * m + k], B[pivot * m + k]] = [B[pivot * m + k], B[col * m + k]];
    for (let i = 0; i < d; i++) {
      if (i === col) continue;
      const f = A[i * d + col] / A[col * d + col];
      if (f === 0) continue;
      for (let k = col; k < d; k++) A[i * d + k] -= f * A[col * d + k];
      for (let k = 0; k < m; k++) B[i * m + k] -= f * B[col * m + k];
    }
  }
  for (let i = 0; i < d; i++) for (let k = 0; k < m; k++) B[i * m + k] /= A[i * d + i];
  return B;
}

/** The map's colour (in [-1, 1], not clamped) for one cell's C latent values. */
export function mapCell(map: LatentRgbMap, latent: ArrayLike<number>, out: number[]): number[] {
  const d = map.channels + 1;
  for (let k = 0; k < 3; k++) {
    let v = map.coef[k * d + map.channels];
    for (let ch = 0; ch < map.channels; ch++) v += map.coef[k * d + ch] * latent[ch];
    out[k] = v;
  }
  return out;
}

/** Fits the map of `ae` on the world clips of `seeds`. */
export async function fitLatentRgb(
  ae: VideoAutoencoder,
  seeds: readonly number[] = FIT_SEEDS,
): Promise<LatentRgbMap> {
  const cells = await latentCells(ae, fitClips(ae, seeds));
  return fitMap(cells, ae.cfg.latentChannels);
}

const fitted = new WeakMap<VideoAutoencoder, Promise<LatentRgbMap>>();

/** The map of `ae`, fitted on first use and kept while the autoencoder lives. */
export function latentRgbMap(ae: VideoAutoencoder): Promise<LatentRgbMap> {
  let map = fitted.get(ae);
  if (!map) {
    map = fitLatentRgb(ae);
    map.catch(() => fitted.delete(ae)); // a failed fit is tried again next time
    fitted.set(ae, map);
  }
  return map;
}

/**
 * The picture of latent [B, C, T, h, w]'s middle frame (of its first sample) through `ae`'s map:
 * h × w pixels. Reads `latent`, and frees it.
 */
export async function previewLatent(ae: VideoAutoencoder, latent: Tensor): Promise<PreviewImage> {
  let values: ArrayLike<number>;
  try {
    values = await latent.toArray();
  } finally {
    latent.dispose();
  }
  const [, c, t, h, w] = latent.shape;
  const map = await latentRgbMap(ae);
  const j = Math.floor(t / 2);
  const rgb = new Uint8Array(h * w * 3);
  const cell = new Float64Array(c);
  const colour = [0, 0, 0];
  for (let p = 0; p < h * w; p++) {
    for (let ch = 0; ch < c; ch++) cell[ch] = values[(ch * t + j) * h * w + p];
    mapCell(map, cell, colour);
    for (let k = 0; k < 3; k++)
      rgb[p * 3 + k] = Math.round(Math.min(255, Math.max(0, (colour[k] + 1) * 127.5)));
  }
  return { rgb, width: w, height: h };
}

/**
 * The sampler's onStep (see diffusion/sample.ts) for a StepCallback: each preview is made from
 * the sampler's denoised latent only when asked for.
 */
export function withPreviews(
  ae: VideoAutoencoder,
  onStep: StepCallback | undefined,
): SampleOptions["onStep"] {
  if (!onStep) return undefined;
  return (step, steps, _t, denoised) => onStep(step, steps, () => previewLatent(ae, denoised()));
}
