/**
 * Everything the text-to-video model does beyond text-to-video (issue 13), as sampling modes of
 * the same weights: the DiT is trained with random known latent frames (first, first-k, last-k,
 * first-last; see diffusion/known-frames.ts), so a mode is a choice of which latent frames of a
 * window to give it, encoded from real pixels, and which decoded frames to keep.
 *
 * Latent-frame bookkeeping (r = the autoencoder's temporalDown; the autoencoder is causal): a
 * clip of 1 + r·k pixel frames has 1 + k latent frames; latent 0 encodes pixel frame 0 alone and
 * latent j ≥ 1 encodes pixel frames r(j−1)+1 … r·j. A window is windowLatents latent frames
 * (the training clip, WINDOW_FRAMES pixel frames).
 *
 * - animate: the image, encoded as a one-frame video, is known latent 0 of the first window.
 * - extend forward: the source's last 1 + r·m pixel frames, encoded as a clip of their own (their
 *   first frame alone → latent 0), are the window's first m + 1 latents; of the decoded window
 *   the first 1 + r·m frames re-create the source's and are dropped, the r·u frames of the u new
 *   latents are appended. Windows repeat (each conditioned on the video so far) until enough
 *   frames are added; the excess at the far end is cut.
 * - extend backward, the mirror: [source frame 0, source frames 0 … r·m−1] is encoded (the extra
 *   frame 0 takes latent 0, so the r·m real frames land in latents 1 … m), latent 0 is dropped,
 *   and the m latents are the window's last m known latents; the window's frames before them,
 *   1 + r·(u−1) for u new latents, are prepended.
 * - connect a → b (and loop, which connects a clip's end to its own start): forward windows from
 *   a while the transition is longer than one window holds, then a closing window whose latent 0
 *   is the last frame so far and whose last latent is b's first r frames (encoded as for
 *   backward): the trained first-last mask. Its frames between the two are the transition.
 * - edit: SDEdit — the clip's latent noised part-way along the rectified-flow path (`strength`
 *   = the share of the sampling schedule run again, see sample.ts) and integrated back to 0 under
 *   the new prompt (strength 0 is the autoencoder's reconstruction).
 * - long videos: a first text-to-video window, then forward windows as in extend.
 *
 * Appended or prepended frames are new; the source's own frames are kept byte for byte.
 */
import type { Video } from "../media/video.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { expandPrompt } from "../world/expand.ts";
import type { SceneSpec } from "../world/scene.ts";
import { SPATIAL_DOWN, type VideoAutoencoder } from "./autoencoder.ts";
import {
  checkRequest,
  type Generated,
  type GenerateOptions,
  generate,
  plannedLayout,
  sampleClipLatent,
} from "./generate.ts";
import { type StepCallback, withPreviews } from "./latent-preview.ts";
import type { TextToVideo } from "./text-to-video.ts";
import { arrayToVideos, videosToTensor } from "./video-tensor.ts";

/**
 * Pixel frames of one sampling window: the clip every config is trained on (2 s at 8 fps, the
 * `--buckets` of the model card). A window longer than that asks the model for what it never saw;
 * a shorter one cuts what it makes in one piece into pieces joined by known frames (the first
 * 2-s clips of world-s, 2× in time, were sampled as three 9-frame windows for that reason).
 */
export const WINDOW_FRAMES = 17;

/**
 * Latent frames of one sampling window of `frames` pixel frames (WINDOW_FRAMES by default: 9
 * latents at 2× in time). A window must hold latent 0, two of context and one new latent.
 */
export function windowLatents(ae: VideoAutoencoder, frames = WINDOW_FRAMES): number {
  const r = ae.cfg.temporalDown;
  const latents = 1 + (frames - 1) / r;
  if (!Number.isInteger(latents) || latents < FORWARD_CONTEXT + 2)
    throw new Error(
      `window of ${frames} frames: this model's windows are 1 + ${r}·k frames with k ≥ ${FORWARD_CONTEXT + 1} (${1 + r * (FORWARD_CONTEXT + 1)}, ${1 + r * (FORWARD_CONTEXT + 2)}, …)`,
    );
  return latents;
}
/** Latent frames of context (besides latent 0) that forward windows are conditioned on. */
const FORWARD_CONTEXT = 2;
/** Latent frames of context that backward windows end on. */
const BACKWARD_CONTEXT = 2;

/** Settings every mode shares. */
export interface ModeOptions {
  steps: number;
  guidance: number;
  seed: number;
  method?: "euler" | "heun";
  /** Stochastic sampling steps' η (`SampleOptions.eta`); 0, plain Euler steps, by default. */
  eta?: number;
  /** Where the stochastic steps stop (`SampleOptions.etaUntil`); 0 by default. */
  etaUntil?: number;
  /**
   * Called after each denoising step of the current window; `preview()` pictures the window's
   * current prediction.
   */
  onStep?: StepCallback;
  /** Called before each window is sampled (1-based) with the number of windows. */
  onWindow?: (window: number, windows: number) => void;
  /** Start a clip with nothing given from its first frame sampled as an image (GenerateOptions). */
  imageFirst?: boolean;
  /** Layout guidance for a clip with nothing given (GenerateOptions); 1, plain guidance, by default. */
  layoutGuidance?: number;
  /**
   * Pixel frames the model samples at once (WINDOW_FRAMES, the training clip, by default); a
   * model trained on other clips samples best in windows of their length.
   */
  windowFrames?: number;
}

/** A mode's output, as `generate` returns it, plus the windows it took. */
export interface ModeResult extends Generated {
  windows: number;
}

interface Models {
  ae: VideoAutoencoder;
  t2v: TextToVideo;
}

/** A latent of one clip, on the host: [C, T, h, w] row major. */
interface HostLatent {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** Pixel frames in one window: 1 + r·(windowLatents − 1). */
export function windowFrames(ae: VideoAutoencoder, frames = WINDOW_FRAMES): number {
  return 1 + ae.cfg.temporalDown * (windowLatents(ae, frames) - 1);
}

/** The frame sizes the pair can work on, in words. */
function sizeRule(t2v: TextToVideo): string {
  const [, ph, pw] = t2v.cfg.dit.patch;
  const [sw, sh] = [SPATIAL_DOWN * pw, SPATIAL_DOWN * ph];
  return `widths that are multiples of ${sw} and heights that are multiples of ${sh} (e.g. ${4 * sw}×${4 * sh})`;
}

/**
 * Throws a clear error when `video` (called `name` in the message) cannot be used: a frame size
 * the model cannot make, or fewer than `minFrames` frames. Inputs are never resized silently.
 */
export function checkInput(
  m: Models,
  video: Video,
  name: string,
  minFrames: number,
  why = "",
): void {
  const [, ph, pw] = m.t2v.cfg.dit.patch;
  const { width, height } = video;
  if (width % (SPATIAL_DOWN * pw) !== 0 || height % (SPATIAL_DOWN * ph) !== 0)
    throw new Error(
      `${name} is ${width}×${height}; this model works on ${sizeRule(m.t2v)}. Crop or resize it to such a size first (it is not resized for you)`,
    );
  if (video.frames.length < minFrames)
    throw new Error(
      `${name} is too short: ${video.frames.length} frame${video.frames.length === 1 ? "" : "s"}, needs at least ${minFrames}${why}`,
    );
}

/** Fewest source frames a mode reads (forward context 1 + r, backward r). */
export function minFrames(ae: VideoAutoencoder, end: "last" | "first"): number {
  return end === "last" ? 1 + ae.cfg.temporalDown : ae.cfg.temporalDown;
}

function caption(prompt: string, seed: number): { caption: string; unknownWords: string[] } {
  // No prompt: the empty caption, on which the model was trained unconditionally.
  if (prompt.trim() === "") return { caption: "", unknownWords: [] };
  const { caption, unknownWords } = expandPrompt(prompt, seed);
  return { caption, unknownWords };
}

/** Window i's noise seed: window 0 uses the seed itself. */
function windowSeed(seed: number, i: number): number {
  return (seed + Math.imul(i, 0x9e3779b9)) >>> 0;
}

async function encode(
  ae: VideoAutoencoder,
  frames: Uint8Array[],
  like: Video,
): Promise<HostLatent> {
  const x = videosToTensor(ae.device, [{ ...like, frames }]);
  const z = await ae.encodeFrames(x); // [1, C, t, h, w]
  x.dispose();
  const data = Float32Array.from(await z.toArray());
  const [, c, t, h, w] = z.shape;
  z.dispose();
  return { data, shape: [c, t, h, w] };
}

/** Latent frame j of `z` as [C, h, w] values. */
function latentFrame(z: HostLatent, j: number): Float32Array {
  const [c, t, h, w] = z.shape;
  const hw = h * w;
  const out = new Float32Array(c * hw);
  for (let ch = 0; ch < c; ch++)
    out.set(z.data.subarray((ch * t + j) * hw, (ch * t + j + 1) * hw), ch * hw);
  return out;
}

interface Window {
  /** Latent frames. */
  t: number;
  /** Known latent frames by position ([C, h, w] values each). */
  known: Map<number, Float32Array>;
}

/** Running state over a mode's windows: progress and per-window seeds. */
class Windows {
  done = 0;
  constructor(
    readonly m: Models,
    readonly total: number,
    readonly caption: string,
    readonly o: ModeOptions,
    /** The expanded prompt's scene, planned as the first frame of a window with nothing given. */
    readonly scene: SceneSpec | null = null,
  ) {}

  /** Samples one window and decodes it to frames at `like`'s size and rate. */
  async sample(win: Window, like: Video): Promise<Uint8Array[]> {
    const { ae, t2v } = this.m;
    const c = ae.cfg.latentChannels;
    const [h, w] = [like.height / SPATIAL_DOWN, like.width / SPATIAL_DOWN];
    const hw = h * w;
    this.o.onWindow?.(this.done + 1, this.total);
    let known: { mask: Tensor; clean: Tensor } | undefined;
    if (win.known.size > 0) {
      // As in training: clean holds the known frames and zeros elsewhere (x0·mask).
      const mask = new Float32Array(win.t * hw);
      const clean = new Float32Array(c * win.t * hw);
      for (const [j, frame] of win.known) {
        mask.fill(1, j * hw, (j + 1) * hw);
        for (let ch = 0; ch < c; ch++)
          clean.set(frame.subarray(ch * hw, (ch + 1) * hw), (ch * win.t + j) * hw);
      }
      known = {
        mask: t2v.device.tensor(mask, [1, 1, win.t, h, w]),
        clean: t2v.device.tensor(clean, [1, c, win.t, h, w]),
      };
    }
    const settings = {
      steps: this.o.steps,
      guidance: this.o.guidance,
      seed: windowSeed(this.o.seed, this.done),
      method: this.o.method,
      eta: this.o.eta,
      etaUntil: this.o.etaUntil,
      onStep: withPreviews(ae, this.o.onStep),
    };
    // A window with nothing given starts a clip: sampled as `generate` samples one.
    const latent = known
      ? await t2v.sampleLatents([this.caption], [c, win.t, h, w], { ...settings, known })
      : await sampleClipLatent(t2v, this.caption, [c, win.t, h, w], {
          ...settings,
          imageFirst: this.o.imageFirst,
          layoutGuidance: this.o.layoutGuidance,
          layout: plannedLayout(t2v, this.scene, like.width, like.height),
        });
    known?.mask.dispose();
    known?.clean.dispose();
    this.done++;
    return decode(ae, latent, like);
  }
}

/** Decodes (and frees) a latent [1, C, T, h, w] to 8-bit frames. */
async function decode(ae: VideoAutoencoder, latent: Tensor, like: Video): Promise<Uint8Array[]> {
  const pixels = await ae.decodeLatent(latent);
  latent.dispose();
  const values = await pixels.toArray();
  const [video] = arrayToVideos(values, pixels.shape, like.fps);
  pixels.dispose();
  return video.frames;
}

/** New latents per forward window after `frames` frames: [context m, new u] for each window. */
function forwardPlan(
  r: number,
  window: number,
  frames: number,
  latents: number,
): [number, number][] {
  const plan: [number, number][] = [];
  let n = frames;
  for (let left = latents; left > 0; ) {
    const ctx = Math.min(FORWARD_CONTEXT, Math.floor((n - 1) / r));
    const u = Math.min(window - 1 - ctx, left);
    plan.push([ctx, u]);
    left -= u;
    n += r * u;
  }
  return plan;
}

/** Appends r·u new frames to `video` for each window [context m, new u] of `plan`. */
async function forward(run: Windows, video: Video, plan: [number, number][]): Promise<Video> {
  const r = run.m.ae.cfg.temporalDown;
  let frames = video.frames;
  for (const [ctx, u] of plan) {
    // The last 1 + r·ctx frames, encoded as a clip of their own: ctx + 1 known latents.
    const z = await encode(run.m.ae, frames.slice(frames.length - (1 + r * ctx)), video);
    const known = new Map(Array.from({ length: ctx + 1 }, (_, j) => [j, latentFrame(z, j)]));
    const out = await run.sample({ t: ctx + 1 + u, known }, video);
    frames = [...frames, ...out.slice(1 + r * ctx)]; // the context's frames re-created, dropped
  }
  return { ...video, frames };
}

/** The m latents of `frames` (r·m frames) as a clip's later latents: [f0, f0 … f(r·m−1)]. */
async function encodeAsLater(ae: VideoAutoencoder, frames: Uint8Array[], like: Video) {
  const z = await encode(ae, [frames[0], ...frames], like);
  return Array.from({ length: z.shape[1] - 1 }, (_, j) => latentFrame(z, j + 1));
}

function result(run: Windows, video: Video, unknownWords: string[]): ModeResult {
  return { video, caption: run.caption, unknownWords, windows: run.done };
}

/** Frames for `seconds` at `fps`, at least one. */
function framesFor(seconds: number, fps: number): number {
  if (!(seconds > 0) || !Number.isFinite(seconds))
    throw new Error(`seconds must be a positive number, got ${seconds}`);
  return Math.max(1, Math.round(seconds * fps));
}

/**
 * Image → video: `image` (a one-frame Video) is the first frame of `frames` frames (1 + r·k).
 * The first output frame is the image's reconstruction by the autoencoder.
 */
export async function animate(
  ae: VideoAutoencoder,
  t2v: TextToVideo,
  image: Video,
  o: ModeOptions & { prompt: string; frames: number; fps: number },
): Promise<ModeResult> {
  const m = { ae, t2v };
  if (image.frames.length !== 1)
    throw new Error(`animate: the image must be one frame, got ${image.frames.length}`);
  checkInput(m, image, "the image", 1);
  const [t] = checkRequest(ae, t2v, { ...o, width: image.width, height: image.height });
  const c = caption(o.prompt, o.seed);
  const r = ae.cfg.temporalDown;
  const window = windowLatents(ae, o.windowFrames);
  const first = Math.min(window, t);
  const start = { ...image, fps: o.fps };
  const plan = forwardPlan(r, window, 1 + r * (first - 1), t - first);
  const run = new Windows(m, 1 + plan.length, c.caption, o);
  const z = await encode(ae, image.frames, start);
  const frames = await run.sample({ t: first, known: new Map([[0, latentFrame(z, 0)]]) }, start);
  const video = await forward(run, { ...start, frames }, plan);
  return result(run, video, c.unknownWords);
}

/**
 * Continues `source` for `seconds` after its end (forward) or before its start (backward). The
 * output holds the source's frames unchanged plus round(seconds · fps) new frames.
 */
export async function extend(
  ae: VideoAutoencoder,
  t2v: TextToVideo,
  source: Video,
  o: ModeOptions & { prompt?: string; direction: "forward" | "backward"; seconds: number },
): Promise<ModeResult> {
  const m = { ae, t2v };
  const r = ae.cfg.temporalDown;
  const forwardDir = o.direction === "forward";
  checkInput(
    m,
    source,
    "the clip",
    minFrames(ae, forwardDir ? "last" : "first"),
    ` to extend ${o.direction}`,
  );
  const add = framesFor(o.seconds, source.fps);
  const c = caption(o.prompt ?? "", o.seed);
  const window = windowLatents(ae, o.windowFrames);
  if (forwardDir) {
    const plan = forwardPlan(r, window, source.frames.length, Math.ceil(add / r));
    const run = new Windows(m, plan.length, c.caption, o);
    const out = await forward(run, source, plan);
    const frames = out.frames.slice(0, source.frames.length + add); // the excess at the far end
    return result(run, { ...source, frames }, c.unknownWords);
  }
  // Backward: each window ends on `ctx` known latents and adds 1 + r·(u − 1) frames before them.
  const plan: [number, number][] = [];
  for (let n = source.frames.length, got = 0; got < add; ) {
    const ctx = Math.min(BACKWARD_CONTEXT, Math.floor(n / r));
    const u = Math.min(window - ctx, 1 + Math.ceil((add - got - 1) / r));
    plan.push([ctx, u]);
    got += 1 + r * (u - 1);
    n += 1 + r * (u - 1);
  }
  const run = new Windows(m, plan.length, c.caption, o);
  let frames = source.frames;
  for (const [ctx, u] of plan) {
    const later = await encodeAsLater(ae, frames.slice(0, r * ctx), source);
    const known = new Map(later.map((f, j) => [u + j, f]));
    const out = await run.sample({ t: u + ctx, known }, source);
    frames = [...out.slice(0, 1 + r * (u - 1)), ...frames];
  }
  frames = frames.slice(frames.length - source.frames.length - add); // the excess at the far end
  return result(run, { ...source, frames }, c.unknownWords);
}

/**
 * A transition of r·u frames that starts where `a` ends and ends where `b` starts: forward
 * windows from `a` while more than one closing window's worth is left, then the closing window.
 */
async function transition(
  m: Models,
  a: Video,
  b: Video,
  frames: number,
  captionText: string,
  o: ModeOptions,
): Promise<{ frames: Uint8Array[]; run: Windows }> {
  const r = m.ae.cfg.temporalDown;
  const u = Math.max(1, Math.round(frames / r));
  const window = windowLatents(m.ae, o.windowFrames);
  const closing = Math.min(u, window - 2); // new latents between latent 0 and b's
  const plan = forwardPlan(r, window, a.frames.length, u - closing);
  const run = new Windows(m, plan.length + 1, captionText, o);
  const lead = await forward(run, a, plan);
  const last = lead.frames[lead.frames.length - 1];
  const head = latentFrame(await encode(m.ae, [last], a), 0);
  const [tail] = await encodeAsLater(m.ae, b.frames.slice(0, r), a);
  const t = closing + 2;
  const known = new Map([
    [0, head],
    [t - 1, tail],
  ]);
  const out = await run.sample({ t, known }, a);
  // Frame 0 re-creates a's (so far) last frame and the last r frames b's first: both dropped.
  const between = out.slice(1, 1 + r * closing);
  return { frames: [...lead.frames.slice(a.frames.length), ...between], run };
}

/** a, then a transition of about `seconds`, then b (same frame size; a's frame rate). */
export async function connect(
  ae: VideoAutoencoder,
  t2v: TextToVideo,
  a: Video,
  b: Video,
  o: ModeOptions & { prompt?: string; seconds: number },
): Promise<ModeResult> {
  const m = { ae, t2v };
  checkInput(m, a, "the first clip", minFrames(ae, "last"), " to connect from");
  checkInput(m, b, "the second clip", minFrames(ae, "first"), " to connect to");
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(
      `connect: the clips differ in size (${a.width}×${a.height} and ${b.width}×${b.height}); they must be the same size`,
    );
  const c = caption(o.prompt ?? "", o.seed);
  const between = await transition(m, a, b, framesFor(o.seconds, a.fps), c.caption, o);
  const frames = [...a.frames, ...between.frames, ...b.frames];
  return result(between.run, { ...a, frames }, c.unknownWords);
}

/**
 * A seamless loop: `clip` followed by a transition from its end back to its start, so that
 * playing the output on repeat never jumps. `seconds` defaults to one window's transition.
 */
export async function loop(
  ae: VideoAutoencoder,
  t2v: TextToVideo,
  clip: Video,
  o: ModeOptions & { prompt?: string; seconds?: number },
): Promise<ModeResult> {
  const m = { ae, t2v };
  const r = ae.cfg.temporalDown;
  checkInput(m, clip, "the clip", minFrames(ae, "last"), " to loop");
  const c = caption(o.prompt ?? "", o.seed);
  const frames =
    o.seconds === undefined
      ? r * (windowLatents(ae, o.windowFrames) - 2)
      : framesFor(o.seconds, clip.fps);
  const between = await transition(m, clip, clip, frames, c.caption, o);
  return result(
    between.run,
    { ...clip, frames: [...clip.frames, ...between.frames] },
    c.unknownWords,
  );
}

/**
 * Edit by prompt (SDEdit): the clip's latent noised to the point `strength` in [0, 1] of the
 * sampling schedule (the share of it run again) and denoised under `prompt`; 0 gives the
 * autoencoder's reconstruction, 1 ignores the clip. The clip is padded with copies of its last
 * frame to 1 + r·k frames and the output cut back to its length.
 */
export async function edit(
  ae: VideoAutoencoder,
  t2v: TextToVideo,
  clip: Video,
  o: ModeOptions & { prompt: string; strength: number },
): Promise<ModeResult> {
  const m = { ae, t2v };
  const r = ae.cfg.temporalDown;
  checkInput(m, clip, "the clip", 1);
  if (!(o.strength >= 0 && o.strength <= 1))
    throw new Error(`edit: strength must be from 0 to 1, got ${o.strength}`);
  const n = clip.frames.length;
  const padded = 1 + r * Math.ceil((n - 1) / r);
  const last = clip.frames[n - 1];
  const frames = [...clip.frames, ...Array.from({ length: padded - n }, () => last)];
  const c = caption(o.prompt, o.seed);
  const run = new Windows(m, o.strength > 0 ? 1 : 0, c.caption, o);
  const x = videosToTensor(ae.device, [{ ...clip, frames }]);
  const z = await ae.encodeFrames(x); // [1, C, T, h, w]
  x.dispose();
  let latent = z;
  if (o.strength > 0) {
    const [, ch, t, h, w] = z.shape;
    o.onWindow?.(1, 1);
    latent = await t2v.sampleLatents([c.caption], [ch, t, h, w], {
      steps: o.steps,
      guidance: o.guidance,
      seed: o.seed,
      method: o.method,
      eta: o.eta,
      etaUntil: o.etaUntil,
      onStep: withPreviews(ae, o.onStep),
      init: { latent: z, strength: o.strength },
    });
    z.dispose();
    run.done = 1;
  }
  const out = await decode(ae, latent, clip);
  return result(run, { ...clip, frames: out.slice(0, n) }, c.unknownWords);
}

/**
 * `generate` for any length: within one window it is `generate` itself; longer videos are a
 * text-to-video window followed by forward windows, each conditioned on the frames before.
 */
export async function generateLong(
  ae: VideoAutoencoder,
  t2v: TextToVideo,
  o: GenerateOptions & Pick<ModeOptions, "onWindow" | "windowFrames">,
): Promise<ModeResult> {
  const [t] = checkRequest(ae, t2v, o);
  const window = windowLatents(ae, o.windowFrames);
  if (t <= window) return { ...(await generate(ae, t2v, o)), windows: 1 };
  const r = ae.cfg.temporalDown;
  const c = expandPrompt(o.prompt, o.seed);
  const plan = forwardPlan(r, window, 1 + r * (window - 1), t - window);
  const run = new Windows({ ae, t2v }, 1 + plan.length, c.caption, o, c.scene);
  const like: Video = { width: o.width, height: o.height, fps: o.fps, frames: [] };
  const frames = await run.sample({ t: window, known: new Map() }, like);
  const video = await forward(run, { ...like, frames }, plan);
  return result(run, video, c.unknownWords);
}
