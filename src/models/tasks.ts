/**
 * What the training loop (src/train/loop.ts) trains, on the simulated world's clips: the
 * autoencoder on pixels, and the text encoder + diffusion transformer on the latents of a
 * trained, frozen autoencoder. Clips come from the world stream's batch plans (src/data), so the
 * data position is just the next batch's index: a resumed run renders exactly the clips it
 * would have seen, without replaying the ones before.
 */
import { type Bucket, bucketKey } from "../data/buckets.ts";
import { makeWorldClip, planBatch, type WorldStreamOptions } from "../data/world-stream.ts";
import { scale } from "../tensor/ops/elementwise.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { NextBatch, TrainTask } from "../train/loop.ts";
import type { Rng } from "../util/rng.ts";
import { startLayout } from "../world/start-layout.ts";
import { SPATIAL_DOWN, type VideoAutoencoder } from "./autoencoder.ts";
import { type DenoiserOptions, denoisedLatents } from "./denoised-latents.ts";
import { latentObjectWeights, objectWeights } from "./object-weights.ts";
import type { TextToVideo } from "./text-to-video.ts";
import { TRAJECTORY_CHANNELS, trajectoryTargets } from "./trajectory-target.ts";
import { videosToTensor } from "./video-tensor.ts";

export interface WorldData {
  /** Seed of the clip stream (independent of the training seed). */
  seed: number;
  buckets: readonly Bucket[];
  fps: number;
  batchSize: number;
  /** Relative frequency of each bucket. */
  weights?: readonly number[];
  /** Relative frequency of scenes with 1, 2, … objects (uniform 1–4 when absent). */
  objectCounts?: readonly number[];
}

/** The clips and captions of batch `index` of the world stream. */
function worldBatch(data: WorldData, index: number) {
  const opts: WorldStreamOptions = { ...data };
  const { bucket, seeds } = planBatch(opts, index);
  const clips = seeds.map((seed) => makeWorldClip(seed, bucket, data.fps, data.objectCounts));
  return {
    bucket,
    videos: clips.map((c) => c.video),
    captions: clips.map((c) => c.caption),
    scenes: clips.map((c) => c.scene),
    truths: clips.map((c) => c.truth),
    // Per clip, per frame: the boxes of the objects in view.
    boxes: clips.map((c) =>
      c.truth.frames.map((f) => f.objects.filter((o) => o.visible > 0).map((o) => o.bbox)),
    ),
  };
}

function positionOf(p: unknown): number {
  return typeof p === "number" && Number.isInteger(p) && p >= 0 ? p : 0;
}

/**
 * The autoencoder on world clips: its loss (L1, squared error, edges), weighted toward the objects
 * by their ground-truth boxes when the config asks, with latent-noise augmentation per batch.
 */
export function autoencoderTask(
  ae: VideoAutoencoder,
  data: WorldData,
  metadata: Record<string, string>,
): TrainTask {
  return {
    model: ae,
    metadata,
    batch: (rng: Rng, position: unknown): NextBatch => pixelBatch(ae, data, rng, position).next,
    loss: (batch) => ae.loss(batch.x, batch.noise, batch.weight).loss,
  };
}

/** The autoencoder's batch `position` of the world stream, and the clips it was made from. */
function pixelBatch(ae: VideoAutoencoder, data: WorldData, rng: Rng, position: unknown) {
  const index = positionOf(position);
  const world = worldBatch(data, index);
  const x = videosToTensor(ae.device, world.videos); // [B, 3, T, H, W] in [-1, 1]
  const [b, , t, h, w] = x.shape;
  const z = [b, ae.cfg.latentChannels, 1 + (t - 1) / ae.cfg.temporalDown, h / 8, w / 8];
  const noise = ae.device.randn(z, rng);
  const extra = ae.cfg.objectWeight ?? 0;
  const batch: Record<string, Tensor> = { x, noise };
  if (extra > 0)
    batch.weight = ae.device.tensor(objectWeights(world.boxes, t, h, w, extra), [b, 1, t, h, w]);
  const next: NextBatch = { batch, position: index + 1, samples: b };
  return { next, world };
}

/**
 * The decoder alone, on the latents of a frozen encoder (compiled on the onnx device, as for the
 * text-to-video task): the same loss as `autoencoderTask`, but the latent space does not move,
 * so a text-to-video model trained on it keeps working with the new decoder. With a `denoiser`,
 * a share of the clips is decoded from the frozen transformer's one-step estimates of their
 * latents instead (src/models/denoised-latents.ts): the latents generation gives the decoder.
 */
export function decoderTask(
  ae: VideoAutoencoder,
  data: WorldData,
  metadata: Record<string, string>,
  denoiser?: DenoiserOptions,
): TrainTask {
  return {
    model: ae.decoder,
    metadata,
    async batch(rng: Rng, position: unknown): Promise<NextBatch> {
      const { next, world } = pixelBatch(ae, data, rng, position);
      try {
        // [B, Cz, t, h, w] in diffusion units (× latentScale); the loss divides it back out.
        const exact = await ae.encodeFrames(next.batch.x);
        next.batch.latent = exact;
        if (denoiser) {
          const { width, height } = world.bucket;
          const layouts = denoiser.model.cfg.dit.startLayout
            ? world.scenes.map((s) => startLayout(s, width, height, SPATIAL_DOWN))
            : undefined;
          next.batch.latent = await denoisedLatents(exact, world.captions, layouts, rng, denoiser);
          exact.dispose();
        }
      } catch (err) {
        for (const t of Object.values(next.batch)) t.dispose();
        throw new Error(`training batch ${positionOf(position)}: ${(err as Error).message}`);
      }
      return next;
    },
    loss: (b) =>
      ae.reconstructionLoss(scale(b.latent, 1 / ae.cfg.latentScale), b.x, b.noise, b.weight).loss,
  };
}

/**
 * The text encoder and DiT on the latents of a frozen autoencoder (encoded per batch, compiled
 * on the onnx device): rectified flow with caption dropout and random known frames.
 */
export function textToVideoTask(
  t2v: TextToVideo,
  ae: VideoAutoencoder,
  data: WorldData,
  metadata: Record<string, string>,
): TrainTask {
  return {
    model: t2v,
    metadata,
    async batch(rng: Rng, position: unknown): Promise<NextBatch> {
      const index = positionOf(position);
      const { videos, captions, bucket, boxes, scenes, truths } = worldBatch(data, index);
      const pixels = videosToTensor(ae.device, videos);
      let x0: Tensor;
      try {
        x0 = await ae.encodeFrames(pixels); // [B, Cz, t, h, w], unit variance
      } catch (err) {
        throw new Error(
          `training batch ${index} (${bucketKey(bucket)}): ${(err as Error).message}`,
        );
      } finally {
        pixels.dispose();
      }
      // The first frame's layout, as prompt expansion plans it at generation (startLayout only).
      const layouts = t2v.cfg.dit.startLayout
        ? scenes.map((s) => startLayout(s, bucket.width, bucket.height, SPATIAL_DOWN))
        : undefined;
      const drawn = t2v.drawBatch(rng, x0, captions, { layouts });
      const known = drawn.known;
      const batch: Record<string, Tensor> = {
        x0,
        ids: drawn.ids,
        noise: drawn.draws.noise,
        t: drawn.draws.t,
        tGrid: drawn.draws.tGrid,
      };
      if (known)
        Object.assign(batch, { mask: known.mask, clean: known.clean, weight: known.weight });
      if (drawn.layout) batch.layout = drawn.layout;
      if (drawn.trajectoryNoise) batch.trajectoryNoise = drawn.trajectoryNoise;
      const extra = t2v.cfg.dit.objectWeight ?? 0;
      if (extra > 0) {
        const { width, height, frames } = bucket;
        const grid = { down: SPATIAL_DOWN, temporalDown: ae.cfg.temporalDown };
        const w = latentObjectWeights(boxes, frames, height, width, grid, extra);
        const [b, , t, h, wd] = x0.shape;
        batch.objectWeight = ae.device.tensor(w, [b, 1, t, h, wd]);
      }
      if ((t2v.cfg.dit.trajectoryWeight ?? 0) > 0) {
        // Where the objects are and how they move in every latent frame (the trajectory head's).
        const { width, height, frames } = bucket;
        const grid = { down: SPATIAL_DOWN, temporalDown: ae.cfg.temporalDown };
        const target = trajectoryTargets(truths, frames, height, width, grid);
        const [b, , t, h, wd] = x0.shape;
        batch.trajectory = ae.device.tensor(target, [b, TRAJECTORY_CHANNELS, t, h, wd]);
      }
      return { batch, position: index + 1, samples: captions.length };
    },
    loss(b, dtype) {
      const known = b.mask ? { mask: b.mask, clean: b.clean, weight: b.weight } : null;
      return t2v.loss(
        b.x0,
        {
          ids: b.ids,
          draws: { noise: b.noise, t: b.t, tGrid: b.tGrid },
          known,
          layout: b.layout ?? null,
          trajectoryNoise: b.trajectoryNoise ?? null,
          dispose: () => {},
        },
        dtype,
        b.objectWeight,
        b.trajectory,
      );
    },
  };
}
