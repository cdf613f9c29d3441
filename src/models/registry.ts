/**
 * Every named model configuration, in one place: `tiny` for tests (trains in seconds on the CPU
 * reference) and `world-s`, the bundled model (issue 10): a 64×64×17 clip → 8×8×9 latent of 16
 * channels (8× in space, 2× in time); a DiT of d256, 8 layers, 4 heads (~12 M parameters) over 144
 * spacetime patches. `world-s-t4` (4× in time, 80 patches) was the bundled model's first
 * autoencoder and `world-s-c32` a candidate after it; both stay so that the model card's history
 * can be re-run. `describeConfig` gives parameter counts and training FLOPs from formulas
 * (tested against instantiated models).
 */
import { Tokenizer } from "../text/tokenizer.ts";
import { decoderBlocks } from "./autoencoder.ts";
import type { ModelConfig } from "./config.ts";
import { ditInputChannels, FRAME_POSITION_FEATURES } from "./dit.ts";
import { TIME_FREQUENCIES } from "./dit-layers.ts";

const tokenizer = Tokenizer.world();

const REGISTRY: Record<string, ModelConfig> = {
  tiny: {
    name: "tiny",
    ae: {
      channels: [8, 16, 16],
      blocks: 1,
      latentChannels: 4,
      temporalDown: 2,
      noiseAug: 0.05,
      latentScale: 1,
      edgeWeight: 0.5,
    },
    text: { vocab: tokenizer.vocabSize, maxTokens: 32, dim: 32, heads: 2, layers: 1 },
    dit: {
      latentChannels: 4,
      patch: [1, 2, 2],
      // d32 could not memorise two random 4×3×4×4 latents in 300 steps; d64 does (dit.test.ts).
      dim: 64,
      heads: 4,
      layers: 2,
      mlpRatio: 4,
      textDim: 32,
      objectWeight: 2,
    },
    flow: { logitMean: 0, logitStd: 1, baseTokens: 12 },
    vocabHash: tokenizer.vocabHash,
  },
  "world-s": {
    name: "world-s",
    ae: {
      channels: [32, 64, 128],
      blocks: 1,
      // Grown after training (session 15, `train ae --decoder-only --decoder-blocks 2`): through
      // it the transformer's clips scored 0.742 against 0.707 with one block (model card).
      decoderBlocks: 2,
      latentChannels: 16,
      // 2× in time, not 4×: through a 4× autoencoder the world's own renders kept only 0.83 of
      // their prompt adherence (bench/model-eval.ts, "autoencoded"), a moving object smeared along
      // its path within each 4-frame step; through this one 0.87 (see world-s-t4).
      temporalDown: 2,
      noiseAug: 0.05,
      latentScale: 1,
      edgeWeight: 0.5,
      // Without these the first 3,000 steps learned the backgrounds and no object at all.
      mseWeight: 2,
      objectWeight: 8,
    },
    // Training captions, with every object's place said (400 sampled, `npx tsx
    // bench/caption-lengths.ts`): median 83 tokens, 12.5% over 128 (cut off, losing their last
    // sentences: collisions, often the theme), 0.5% over 160. The positions are rotary, so the
    // weights of a 128-token encoder load unchanged (models/world-s until session 13 used 128).
    text: { vocab: tokenizer.vocabSize, maxTokens: 160, dim: 128, heads: 4, layers: 2 },
    dit: {
      latentChannels: 16,
      patch: [1, 2, 2],
      dim: 256,
      heads: 4,
      layers: 8,
      mlpRatio: 4,
      textDim: 128,
      // Objects meet ~10–15% of the latent cells; ×4 there gives them about a third of the loss.
      objectWeight: 3,
      // Captions say where each object starts (session 13), which needs a token to know where
      // in the frame it is; rotary positions give only offsets. Not yet shown to help: in the
      // session's short arms the place was not followed with or without them (model card).
      framePositions: true,
      // The first frame's planned layout from the expanded prompt (session 14): how many objects,
      // where and what colour, which the caption's words had left to the seed.
      startLayout: true,
      // And each object's starting velocity on the screen (session 16): which way and how fast it
      // sets off, which the caption's direction words left to the seed (direction near chance).
      startMotion: true,
      // Not startMarks (world-s-marks below): an arm with them scored as the shipped weights.
      // A channel saying a plan is given (session 19): without it a planned clip's empty cells
      // read as "no plan" (a dropped layout is all zeros), and a whole second copy of an object
      // often stood in one of them; with it, count 0.58 → 0.62 and 0.50 → 0.60 on two prompt sets.
      planFlag: true,
    },
    // Timesteps shifted by √(144/8) ≈ 4.2 for 2-s clips (144 tokens), √2 for images (16), in
    // training and sampling alike (√(80/8) ≈ 3.2 on world-s-t4's 80). With no shift (baseTokens 80, the first 8,250 steps) the
    // background theme was visible in x_t at nearly every trained t, so the network read it from
    // there rather than from the caption: sampled from pure noise, the theme followed the seed
    // and not the prompt (theme right 25% of the time, chance is 20%), and the number of objects
    // was never settled (colour spread over 4–6 blobs). The layout is decided at high noise,
    // which the shift trains ~20× more often (t > 0.95: 3.6% of samples instead of 0.16%).
    flow: { logitMean: 0, logitStd: 1, baseTokens: 8 },
    vocabHash: tokenizer.vocabHash,
  },
};
/**
 * The bundled model's first autoencoder and transformer (model card, first to fifth pieces): 4×
 * in time, 17 frames → 5 latent frames, 80 transformer tokens. Through it the world's own renders
 * keep 0.83 of their prompt adherence, 0.58 of their shape score and 0.81 of their count.
 */
REGISTRY["world-s-t4"] = {
  ...REGISTRY["world-s"],
  name: "world-s-t4",
  ae: { ...REGISTRY["world-s"].ae, temporalDown: 4, decoderBlocks: 1 },
};

/**
 * The candidate after world-s-t4: its networks with a 32-channel latent (twice the values per
 * 8×8 cell). Through it the world's renders kept 0.84 of their adherence against 0.83: channels
 * were not what the 4× autoencoder lacked, time was (world-s). Twice the channels cost the
 * transformer only its patch projections.
 */
REGISTRY["world-s-c32"] = {
  ...REGISTRY["world-s-t4"],
  name: "world-s-c32",
  ae: { ...REGISTRY["world-s-t4"].ae, latentChannels: 32 },
  dit: { ...REGISTRY["world-s-t4"].dit, latentChannels: 32 },
};

/**
 * world-s whose layout also marks each object once at its centre, with its place in the cell,
 * its shape and its size (session 18, `startMarks`): a 5-pixel object across two cells read as
 * two faint objects. Grown from world-s by `train dit --transfer` (zero columns). In 2,400 steps
 * it drew resting objects once, but moving ones still split, and it scored as the shipped
 * weights (adherence 0.757 against 0.759, count 0.60 against 0.58; model card).
 */
REGISTRY["world-s-marks"] = {
  ...REGISTRY["world-s"],
  name: "world-s-marks",
  dit: { ...REGISTRY["world-s"].dit, startMarks: true, planFlag: false },
};

/**
 * The name session 19's plan-flag piece trained under (`planFlag`, now in world-s itself): the
 * same model as world-s, kept so that its run folder resumes.
 */
REGISTRY["world-s-flag"] = { ...REGISTRY["world-s"], name: "world-s-flag" };

/**
 * world-s whose layout also holds each object's restitution (session 20, `startBounce`): of 24
 * objects the evaluation prompts ask to bounce, the shipped weights drew 20 falling and not
 * rising, although the caption says they bounce. Grown from world-s by `train dit --transfer`
 * (one zero column after the plan flag), 3,000 steps still drew 19 of them without a bounce and
 * scored within noise of world-s (model card), so world-s does without.
 */
REGISTRY["world-s-bounce"] = {
  ...REGISTRY["world-s"],
  name: "world-s-bounce",
  dit: { ...REGISTRY["world-s"].dit, startBounce: true },
};

/**
 * world-s with a trajectory head (session 21, `trajectoryWeight`): beside the velocity it
 * predicts where the clip's objects are in every latent frame and how they move (occupancy and
 * screen velocity per latent cell), with the velocity's loss weight. The shipped weights stop a
 * drop in the air after four frames and draw a roll as a jump; the head asks the network to
 * represent the motion itself (VideoJAM's idea). Grown from world-s by `train dit --transfer`
 * (the head new, its output zero), so its velocity starts as exactly world-s's. In 1,935 steps
 * it drew fewer extra copies (too many objects 39 → 26 clips on the evaluation set) but scored
 * within noise of world-s on two prompt sets and drew no more bounces; the whole 2,800-step
 * cosine (session 22) scored as world-s again (0.777 and 0.770 against 0.779 and 0.769), count
 * and direction up, shape down (model card).
 */
REGISTRY["world-s-traj"] = {
  ...REGISTRY["world-s"],
  name: "world-s-traj",
  dit: { ...REGISTRY["world-s"].dit, trajectoryWeight: 1 },
};

/**
 * world-s-traj whose trajectory is also an input, denoised beside the latent (session 22,
 * `trajectoryInput`: VideoJAM's joint appearance–motion representation). Sampling integrates the
 * objects' coarse paths from noise with the latent, so the network settles one path per object
 * and draws the pixels along it; the head's clean estimate gives the trajectory's velocity. Grown
 * from world-s-traj (or world-s) by `train dit --transfer`: the trajectory's input columns start
 * at zero, so the latent's velocity starts as exactly the file's. Its first arm (session 22,
 * from world-s-traj's weights, 1,337 steps) scored within noise of world-s on both prompt sets
 * (0.774 and 0.765 against 0.779 and 0.769; model card).
 */
REGISTRY["world-s-joint"] = {
  ...REGISTRY["world-s"],
  name: "world-s-joint",
  dit: { ...REGISTRY["world-s"].dit, trajectoryWeight: 1, trajectoryInput: true },
};

// A deeper transformer on world-s's autoencoder (session 10): 12 layers instead of 8. Grown from a
// trained world-s with `train dit --transfer`: the 8 trained blocks keep their weights and the 4
// new ones come after them with adaLN-Zero's zero gates, so the grown model starts as exactly the
// trained one and the new blocks learn from there. The DiT paper (Peebles & Xie 2023, fig. 6)
// found the larger models reach a given quality with less training compute.
REGISTRY["world-s-d12"] = {
  ...REGISTRY["world-s"],
  name: "world-s-d12",
  dit: { ...REGISTRY["world-s"].dit, layers: 12 },
};

export function configNames(): string[] {
  return Object.keys(REGISTRY);
}

/** A deep copy of the named config (callers may change latentScale etc. without touching the registry). */
export function getConfig(name: string): ModelConfig {
  const cfg = REGISTRY[name];
  if (!cfg)
    throw new Error(`model config "${name}" is unknown; known: ${configNames().join(", ")}`);
  return structuredClone(cfg);
}

/** Parameters of the autoencoder (encoder + decoder). */
export function autoencoderParams(cfg: ModelConfig["ae"]): number {
  const conv = (cin: number, cout: number, k = 27) => cin * cout * k + cout;
  const [c0, c1, c2] = cfg.channels;
  const r = cfg.temporalDown;
  const res = (c: number) => 2 * c + 2 * conv(c, c);
  const levels = res(c0) + res(c1) + res(c2);
  const enc =
    conv(12 * r, c0) + cfg.blocks * levels + conv(4 * c0, c1, 1) + conv(4 * c1, c2, 1) + c2;
  const encHead = conv(c2, cfg.latentChannels);
  const dec =
    conv(cfg.latentChannels, c2) + decoderBlocks(cfg) * levels + conv(c2, c1) + conv(c1, c0) + c0;
  const decHead = conv(c0, 12 * r);
  return enc + encHead + dec + decHead;
}

/** Parameters of the text encoder. */
export function textEncoderParams(cfg: ModelConfig["text"]): number {
  const d = cfg.dim;
  const block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d);
  return cfg.vocab * d + cfg.layers * block + 2 * d;
}

/** Parameters of the diffusion transformer. */
export function ditParams(cfg: ModelConfig["dit"]): number {
  const d = cfg.dim;
  const lin = (i: number, o: number) => i * o + o;
  const p = cfg.patch[0] * cfg.patch[1] * cfg.patch[2];
  const hidden = Math.round(d * cfg.mlpRatio);
  const inCh = ditInputChannels(cfg);
  const embed = lin(inCh * p, d) + lin(2 * TIME_FREQUENCIES, d) + lin(d, d) + lin(cfg.textDim, d);
  const block =
    lin(d, 3 * d) +
    lin(d, d) + // self-attention
    2 * d +
    lin(d, d) +
    cfg.textDim * 2 * d +
    lin(d, d) + // cross-attention with its layer norm
    lin(d, hidden) +
    lin(hidden, d) +
    lin(d, 6 * d);
  const final = lin(d, 2 * d) + lin(d, p * cfg.latentChannels);
  const framePos = cfg.framePositions ? lin(FRAME_POSITION_FEATURES, d) : 0;
  return embed + cfg.layers * block + final + framePos;
}

/**
 * Forward FLOPs of the DiT on one sample of `tokens` patches with `textTokens` text tokens:
 * 2 per multiply-add of every linear layer applied to every token, plus attention's two
 * matmuls (4·N·M·D for N queries over M keys), plus the per-sample adaLN, timestep and
 * caption projections. Elementwise ops and norms are left out (< 1 %). Training costs ≈ 3× forward (the backward pass
 * computes two matmuls per forward one).
 */
export function ditForwardFlops(
  cfg: ModelConfig["dit"],
  tokens: number,
  textTokens: number,
): number {
  const d = cfg.dim;
  const p = cfg.patch[0] * cfg.patch[1] * cfg.patch[2];
  const hidden = Math.round(d * cfg.mlpRatio);
  const inCh = ditInputChannels(cfg);
  const framePos = cfg.framePositions ? FRAME_POSITION_FEATURES * d : 0;
  const perToken = 2 * (inCh * p * d + d * p * cfg.latentChannels + framePos);
  const perBlockToken = 2 * (3 * d * d + d * d + d * d + d * d + 2 * d * hidden);
  const kv = 2 * textTokens * cfg.textDim * 2 * d;
  const attn = 4 * tokens * tokens * d + 4 * tokens * textTokens * d;
  // adaLN modulations are per sample, not per token: 6D outputs per block, 2D for the final layer.
  const ada = cfg.layers * 2 * d * 6 * d + 2 * d * 2 * d;
  // The timestep MLP and the pooled-caption projection, once per sample.
  const cond = 2 * (2 * TIME_FREQUENCIES * d + d * d + cfg.textDim * d);
  return tokens * perToken + cfg.layers * (tokens * perBlockToken + kv + attn) + ada + cond;
}

/** Forward FLOPs of the text encoder on one caption of `maxTokens` tokens. */
export function textForwardFlops(cfg: ModelConfig["text"]): number {
  const d = cfg.dim;
  const n = cfg.maxTokens;
  return cfg.layers * (n * 2 * (3 * d * d + d * d + 8 * d * d) + 4 * n * n * d);
}

/** Forward FLOPs of the autoencoder (encode + decode) on one clip of frames × height × width. */
export function autoencoderForwardFlops(
  cfg: ModelConfig["ae"],
  frames: number,
  height: number,
  width: number,
): number {
  const r = cfg.temporalDown;
  const t = 1 + (frames - 1) / r;
  const pos = (s: number) => t * (height / s) * (width / s);
  const conv = (cin: number, cout: number, positions: number, k = 27) =>
    2 * cin * cout * k * positions;
  const [c0, c1, c2] = cfg.channels;
  const b = cfg.blocks;
  const db = decoderBlocks(cfg);
  const enc =
    conv(12 * r, c0, pos(2)) +
    b * 2 * conv(c0, c0, pos(2)) +
    conv(4 * c0, c1, pos(4), 1) +
    b * 2 * conv(c1, c1, pos(4)) +
    conv(4 * c1, c2, pos(8), 1) +
    b * 2 * conv(c2, c2, pos(8)) +
    conv(c2, cfg.latentChannels, pos(8));
  const dec =
    conv(cfg.latentChannels, c2, pos(8)) +
    db * 2 * conv(c2, c2, pos(8)) +
    // The upsampling convolutions run as four 2×2 phase kernels (12 taps) on the small grid.
    conv(c2, c1, pos(4), 12) +
    db * 2 * conv(c1, c1, pos(4)) +
    conv(c1, c0, pos(2), 12) +
    db * 2 * conv(c0, c0, pos(2)) +
    conv(c0, 12 * r, pos(2));
  return enc + dec;
}

export interface ConfigSummary {
  name: string;
  aeParams: number;
  textParams: number;
  ditParams: number;
  /** The clip the numbers below are for, and its latent and token counts. */
  clip: { frames: number; height: number; width: number };
  latent: [number, number, number, number];
  ditTokens: number;
  /** Training FLOPs per sample (3× forward). */
  aeTrainFlops: number;
  ditTrainFlops: number;
}

/** Sizes and training cost of a config on one clip (`frames` × `height` × `width`). */
export function describeConfig(
  cfg: ModelConfig,
  frames: number,
  height: number,
  width: number,
): ConfigSummary {
  const t = 1 + (frames - 1) / cfg.ae.temporalDown;
  const [h, w] = [height / 8, width / 8];
  const [pt, ph, pw] = cfg.dit.patch;
  const tokens = (t / pt) * (h / ph) * (w / pw);
  return {
    name: cfg.name,
    aeParams: autoencoderParams(cfg.ae),
    textParams: textEncoderParams(cfg.text),
    ditParams: ditParams(cfg.dit),
    clip: { frames, height, width },
    latent: [cfg.ae.latentChannels, t, h, w],
    ditTokens: tokens,
    aeTrainFlops: 3 * autoencoderForwardFlops(cfg.ae, frames, height, width),
    ditTrainFlops:
      3 * (ditForwardFlops(cfg.dit, tokens, cfg.text.maxTokens) + textForwardFlops(cfg.text)),
  };
}
