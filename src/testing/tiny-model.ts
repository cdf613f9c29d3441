/**
 * A model folder for tests of the model commands and the library: the `tiny` config with random
 * (seeded) weights. It exercises the plumbing, not the quality.
 */

import { strict as assert } from "node:assert";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { AE_FILE, type LoadedModel, T2V_FILE } from "../cli/model-files.ts";
import { createDevice } from "../devices.ts";
import { generate, loadModel } from "../index.ts";
import { VideoAutoencoder } from "../models/autoencoder.ts";
import type { ModelConfig } from "../models/config.ts";
import { getConfig } from "../models/registry.ts";
import { TextToVideo } from "../models/text-to-video.ts";
import { saveWeights } from "../models/weights.ts";
import type { Module } from "../nn/module.ts";
import { Rng } from "../util/rng.ts";

/**
 * The tiny config reading the whole first-frame layout (occupancy, colour, the starting motion and
 * the objects' marks: 13 channels), with frame positions when `framePositions`.
 */
export function tinyLayoutConfig(framePositions = false): ModelConfig {
  const tiny = getConfig("tiny");
  return {
    ...tiny,
    dit: {
      ...tiny.dit,
      framePositions,
      startLayout: true,
      startMotion: true,
      startMarks: true,
      startBounce: true,
      planFlag: true,
    },
  };
}

/** Writes a tiny model (or one of config `cfg`) into `dir` (created) and returns `dir`. */
export async function writeTinyModel(
  dir: string,
  cfg: ModelConfig = getConfig("tiny"),
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const device = await createDevice({ kind: "cpu" });
  const ae = new VideoAutoencoder(device, new Rng(1), cfg.ae);
  await saveWeights(join(dir, AE_FILE), ae, "autoencoder", cfg.ae);
  const t2v = new TextToVideo(device, new Rng(2), cfg);
  await saveWeights(join(dir, T2V_FILE), t2v, "text-to-video", cfg);
  return dir;
}

/**
 * Writes a tiny model of `cfg` into `dir`, loads it as a user would and generates a 5-frame 32×32
 * clip from it (2 guided steps), checking the clip's length; returns the loaded model.
 */
export async function loadAndGenerate(dir: string, cfg: ModelConfig): Promise<LoadedModel> {
  await writeTinyModel(dir, cfg);
  const model = await loadModel(dir);
  const g = await generate("a red ball bounces", {
    model,
    width: 32,
    height: 32,
    frames: 5,
    fps: 8,
    steps: 2,
    guidance: 2,
    seed: 1,
  });
  assert.equal(g.video.frames.length, 5);
  return model;
}

/**
 * Sets every parameter of `module` to N(0, std²) from `rng` (parameters in state-dict order), so
 * that no block is the identity or zero by accident, as a freshly initialised one may be.
 */
export async function randomizeParameters(module: Module, rng: Rng, std: number): Promise<void> {
  const state = await module.stateDict();
  for (const v of Object.values(state))
    for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
  module.loadStateDict(state);
}
