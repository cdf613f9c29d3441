/** The shapes of the three networks of a text-to-video model, as stored in the registry and in weight files. */
import type { TextEncoderConfig } from "../text/encoder.ts";

export interface AutoencoderConfig {
  /**
   * Channels after the stem (a 2× pixel-unshuffle in space) and after each of the two further 2×
   * spatial downsamplings: 8× in space in all.
   */
  channels: [number, number, number];
  /** Residual blocks at each of the three resolutions. */
  blocks: number;
  /**
   * Residual blocks at each of the decoder's three resolutions (absent: `blocks`). A decoder can
   * grow after training (`train ae --decoder-only --decoder-blocks n`): the encoder, and with it
   * the latent space a text-to-video model was trained on, stays as it is.
   */
  decoderBlocks?: number;
  latentChannels: number;
  /** Input frames per latent frame after the first (the first frame is encoded alone). */
  temporalDown: number;
  /** Std of the Gaussian noise added to the unit-RMS latent while training (0 for none). */
  noiseAug: number;
  /** Multiplies the encoder's latent to unit variance on data; measured after training. */
  latentScale: number;
  /** Weight of the edge (image-gradient) term beside the L1 term. */
  edgeWeight: number;
  /**
   * Weight of a squared-error term beside the L1 term (0 or absent: none). L1 alone is content
   * to paint a small object as the background around it (the median); the squared error makes a
   * missing object cost what its contrast says.
   */
  mseWeight?: number;
  /**
   * Extra weight of pixels on objects, where the data says where they are (the world's ground
   * truth): the loss weight there is 1 + objectWeight (0 or absent: uniform). Objects cover a few
   * percent of a frame, so an unweighted loss learns the background first and the objects late.
   */
  objectWeight?: number;
}

export interface DitConfig {
  latentChannels: number;
  /** Patch size in (t, h, w) of the latent. */
  patch: [number, number, number];
  dim: number;
  heads: number;
  layers: number;
  mlpRatio: number;
  /** Width of the text encoder's tokens and pooled vector. */
  textDim: number;
  /**
   * Extra loss weight on latent cells that hold an object in the training clip (the world's
   * ground truth): 1 + objectWeight there (0 or absent: uniform); see latentObjectWeights.
   */
  objectWeight?: number;
  /**
   * Add to each token where it sits in the frame, as a fraction of the width and height
   * (Fourier features through a zero-initialised linear; see `framePositionFeatures`). Rotary
   * positions give attention only offsets between tokens, so without this a token can hardly
   * tell whether it is on the left of the frame, which a caption saying "on the left" asks.
   * Absent (weights trained before session 13): no such input.
   */
  framePositions?: boolean;
  /**
   * Take the first frame's planned layout (occupancy and colour per latent cell, from the
   * expanded prompt's scene; see src/world/start-layout.ts) as four more input channels. Absent
   * (weights trained before session 14): no such input.
   */
  startLayout?: boolean;
  /**
   * With startLayout: the layout also holds each object's planned starting velocity on the
   * screen (two more channels, see StartLayout.motion), so that which way and how fast an object
   * sets off comes from the plan, as where it starts does. Absent (weights trained before
   * session 16): occupancy and colour only.
   */
  startMotion?: boolean;
  /**
   * With startMotion: the layout also marks each object once, in the cell holding its centre,
   * with the centre's place in that cell, its shape and its size (seven more channels, see
   * StartLayout.marks), so that a small object straddling cells reads as one object of one shape.
   * Absent (weights trained before session 18): no marks.
   */
  startMarks?: boolean;
  /**
   * With startLayout: one more channel after the marks, at LAYOUT_SCALE in every cell of
   * latent frame 0 when a plan is given and 0 when none is, so that a cell's zeros read "no
   * object planned here" and not "no plan" (a dropped layout in training is all zeros, flag
   * included). Absent (weights trained before session 19): no flag.
   */
  planFlag?: boolean;
  /**
   * With startLayout: the layout also holds each object's restitution (the share of its speed a
   * bounce keeps: 0.85 bouncy, 0.5 light, 0.2 heavy) times its coverage, one more channel after
   * the plan flag (see StartLayout.bounce), so that whether a falling object bounces back comes
   * from the plan, as its starting velocity does. Absent (weights trained before session 20):
   * no such channel.
   */
  startBounce?: boolean;
  /**
   * Weight of the trajectory head's loss beside the velocity's (0 or absent: no such head). The
   * head predicts, from the same features, where the clip's objects are in every latent frame and
   * how they move (src/models/trajectory-target.ts), so that the network must represent the
   * motion and not only the pixels. Training only: sampling never runs the head. Absent
   * (weights trained before session 21): no head.
   */
  trajectoryWeight?: number;
  /**
   * With trajectoryWeight: the trajectory is denoised beside the latent (VideoJAM's joint
   * appearance–motion representation). In training its noised copy, at the clip's time and with
   * its own noise, is three more input channels (last) and the head predicts its clean value; in
   * sampling both are integrated from noise together, so the network settles one path for each
   * object early and draws the pixels along it, instead of spreading an object over the paths it
   * cannot tell apart. Absent (weights trained before session 22): the head is training only.
   */
  trajectoryInput?: boolean;
}

export interface FlowConfig {
  /** Logit-normal timestep sampling: t = sigmoid(N(mean, std²)). */
  logitMean: number;
  logitStd: number;
  /** Token count at which the timestep shift is 1; it grows as √(tokens / baseTokens). */
  baseTokens: number;
}

export interface ModelConfig {
  name: string;
  ae: AutoencoderConfig;
  text: TextEncoderConfig;
  dit: DitConfig;
  flow: FlowConfig;
  /** The tokenizer's vocabulary fingerprint the text encoder was built for. */
  vocabHash: string;
}

/**
 * Fields of a model config that say how it was trained or measured, not what the networks and
 * their sampling are: two configs that differ only here describe the same model.
 */
const TRAINING_FIELDS = new Set([
  "name",
  "ae.noiseAug",
  "ae.latentScale",
  "ae.edgeWeight",
  "ae.mseWeight",
  "ae.objectWeight",
  "dit.objectWeight",
]);

/** The dotted paths where two model configs differ in what the model is (see TRAINING_FIELDS). */
export function modelDifferences(a: ModelConfig, b: ModelConfig): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (TRAINING_FIELDS.has(path)) return;
    const isObj = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
    if (isObj(x) && isObj(y)) {
      const keys = new Set([...Object.keys(x as object), ...Object.keys(y as object)]);
      for (const k of [...keys].sort())
        walk(
          (x as Record<string, unknown>)[k],
          (y as Record<string, unknown>)[k],
          path ? `${path}.${k}` : k,
        );
    } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(path);
  };
  walk(a, b, "");
  return out;
}
