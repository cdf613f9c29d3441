/**
 * The sampling modes against the world (issue 13's model card): for each held-out prompt (the
 * fixed templates of bench/model-eval.ts, prompt i at seed seed-base + i) the world renders the
 * prompt for WORLD_SECONDS, and its clips are the modes' inputs; every mode's output and the
 * world's own clip go through an ordinary MP4 encode (writeMp4 → readVideo) and are tracked
 * from pixels alone, as the evaluator tracks them. Each measure is printed beside the world's
 * ground truth at the same place:
 *
 * - animate: the world's frame 0 is the given image. Seam jump = given frame → generated frame 1;
 *   world: its frame 0 → 1. Also the generated frames' own pace (frames 1–5) beside the world's.
 * - extend forward / backward: the source is the world's frames 0…F−1 (forward) or K…K+F−1
 *   (backward, K = the frames added), extended by EXTEND_SECONDS. Seam jump = last source frame →
 *   first new frame (forward), first source frame → the new frame before it (backward); world:
 *   the same two frames of its own clip, i.e. the true continuation.
 * - loop: the source is the world's frames 0…F−1. Wrap seam = the loop's first frame → its last;
 *   world: its typical (median) frame-to-frame jump over 0…F−1. Entry seam = source end → first
 *   transition frame; world: the same frames of its own clip.
 * - edit (strength EDIT_STRENGTH, the prompt with its theme swapped: "… at night"): per frame,
 *   the edited clip's matched objects against the source's: mean position difference and share
 *   of the source's (frame, object) sightings matched; world: the source against itself
 *   encoded once more (≈ 0 and ≈ 1). Strength 0 (the autoencoder alone) is measured the same
 *   way. Also whether the evaluator's theme guess is the new theme (world: its render of the
 *   edited prompt).
 * - connect: a = the world's frames 0…F−1, b = its frames F+T…F+T+F−1 (T = the transition's
 *   length), so the world's frames between them are the true transition. Endpoint errors = a's
 *   last → transition's first, transition's last → b's first; world: the same frames of its own
 *   clip. Also the transition's own pace beside a's frame-to-frame motion.
 * - one minute: `generate` for --minute-seconds (60) at 64×64 for --minute-prompts prompts,
 *   timed; per sampling window (window 1 = the first W frames, then the frames each forward
 *   window appended), the evaluator's objects in that span: count and colours against window
 *   1's (lost and new colours: identity drift), beside the world's render of the same prompt
 *   split the same way.
 *
 * Jumps and differences are in % of the frame width. Matching objects between two frames (or
 * two clips' same frame): each side's tracked objects at that frame (tracks as the evaluator
 * keeps them, seen at least 3 frames running, each clip tracked as a whole; animate's given
 * frame is read from the world's clip, where it is not a lone frame); pairs must have the same
 * colour name (the evaluator's), and the nearest pairs are taken first, each object used once
 * (greedy, no distance limit). A jump is the mean distance of the matched pairs; "found" is the
 * share of the source side's objects (the given, source or a's frame) that got a partner. A jump
 * with no pair (nothing tracked on one side, or no colour in common), or a share with nothing on
 * the source side, is unmeasured for that prompt: counted as "unmeasured n of N", never as 0
 * (the share then says 0 when the source side had objects and none were found).
 * The one-minute table also gives the generation's wall time and the CPU (bench/cpu-info.ts).
 *
 *   npx tsx bench/modes-eval.ts --model <dir> [--prompts 20] [--seed-base 0] [--out <dir>]
 *     [--steps 30] [--guidance 2] [--minute-prompts 1] [--minute-seconds 60]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  animate,
  connect,
  edit,
  extend,
  generate,
  type LoadedModel,
  loadModel,
  loop,
  type ModeResult,
  type Video,
} from "../src/index.ts";
import { frameCount } from "../src/models/generate.ts";
import { windowFrames } from "../src/models/modes.ts";
import { DEFAULT_GUIDANCE } from "../src/models/sampling-defaults.ts";
import { basePixelsPerMetre } from "../src/world/camera.ts";
import { evaluateVideo } from "../src/world/eval/evaluate.ts";
import { objectsFromPixels } from "../src/world/eval/objects-from-pixels.ts";
import { TYPICAL_ARENA_WIDTH } from "../src/world/eval/view.ts";
import { expandPrompt } from "../src/world/expand.ts";
import type { ColorName, ThemeName } from "../src/world/scene.ts";
import { simulate } from "../src/world/simulate.ts";
import { cpuModel } from "./cpu-info.ts";
import { benchPrompts, roundTrip, THEMES } from "./eval-common.ts";

const FPS = 8;
const SIZE = 64;
/** Length of the source clips (a, b, the clip to extend, loop or edit). */
const SOURCE_SECONDS = 2;
/** What extend adds and connect puts between a and b. */
const EXTEND_SECONDS = 2;
const EDIT_STRENGTH = 0.6;
/** The world's render per prompt: long enough for a + transition + b. */
const WORLD_SECONDS = 8;
/** Generated frames whose own pace animate's seam is set beside. */
const PACE_FRAMES = 5;
/** The new themes an edit asks for, the first that differs from the source's. */
const EDIT_THEMES: [string, ThemeName][] = [
  [" at night", "night"],
  [" underwater", "underwater"],
  [" on a sunny day", "day"],
];

// ---------------------------------------------------------------------------------------------
// Tracking and matching

/** An object's tracked position in one frame (px). */
interface Seen {
  color: ColorName;
  x: number;
  y: number;
}

/** Tracked objects per frame, as evaluateVideo finds them (the report gives objects, not positions). */
function trackPositions(video: Video): Seen[][] {
  const { width, height, frames } = video;
  const ppm = basePixelsPerMetre(TYPICAL_ARENA_WIDTH, width, height);
  const out: Seen[][] = frames.map(() => []);
  for (const t of objectsFromPixels(video, ppm).tracks)
    for (const o of t.obs) out[o.frame].push({ color: t.color, x: o.cx, y: o.cy });
  return out;
}

/** Same-colour pairs, nearest first, each object used once: distances in % of `width`. */
function match(a: Seen[], b: Seen[], width: number): number[] {
  const pairs: [number, number, number][] = [];
  a.forEach((p, i) => {
    b.forEach((q, j) => {
      if (p.color === q.color) pairs.push([Math.hypot(p.x - q.x, p.y - q.y), i, j]);
    });
  });
  pairs.sort((x, y) => x[0] - y[0]);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  const out: number[] = [];
  for (const [d, i, j] of pairs) {
    if (usedA.has(i) || usedB.has(j)) continue;
    usedA.add(i);
    usedB.add(j);
    out.push((100 * d) / width);
  }
  return out;
}

interface Seam {
  /** Mean jump of the matched objects, % of width; null when nothing matched. */
  jump: number | null;
  /** Share of frame a's objects matched in frame b; null when frame a shows none. */
  kept: number | null;
}

function seam(a: Seen[], b: Seen[], width: number): Seam {
  const d = match(a, b, width);
  return { jump: d.length ? mean(d) : null, kept: a.length ? d.length / a.length : null };
}

/** Median jump over consecutive frames from..to−1 → from+1..to (null when none measured). */
function pace(pos: Seen[][], from: number, to: number, width: number): number | null {
  const jumps: number[] = [];
  for (let f = from; f < to && f + 1 < pos.length; f++) {
    const j = seam(pos[f], pos[f + 1], width).jump;
    if (j !== null) jumps.push(j);
  }
  return jumps.length ? median(jumps) : null;
}

/** Median share of objects kept over consecutive frames from..to−1 → from+1..to. */
function keptMedian(pos: Seen[][], from: number, to: number, width: number): number | null {
  const kept: number[] = [];
  for (let f = from; f < to && f + 1 < pos.length; f++) {
    const k = seam(pos[f], pos[f + 1], width).kept;
    if (k !== null) kept.push(k);
  }
  return kept.length ? median(kept) : null;
}

/** One clip's objects against another's, frame by frame (same frame count). */
function agreement(src: Seen[][], other: Seen[][], width: number): Seam {
  const d: number[] = [];
  let sightings = 0;
  src.forEach((s, f) => {
    sightings += s.length;
    d.push(...match(s, other[f] ?? [], width));
  });
  return { jump: d.length ? mean(d) : null, kept: sightings ? d.length / sightings : null };
}

// ---------------------------------------------------------------------------------------------
// Numbers

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A measure of one prompt: the mode's output and the world's ground truth at the same place. */
interface Pair {
  model: number | null;
  world: number | null;
}

/** One table row: a measure's key in each prompt's record, and what each column is. */
interface Measure {
  key: string;
  label: string;
  truth: string;
}

const TABLES: { mode: string; measures: Measure[] }[] = [
  {
    mode: "animate (first frame given)",
    measures: [
      { key: "animate.seam", label: "seam jump: given → frame 1, %w", truth: "world 0 → 1" },
      { key: "animate.kept", label: "given objects found in frame 1", truth: "world 0 → 1" },
      { key: "animate.pace", label: "own pace: frames 1–5, median %w", truth: "world 1–5" },
    ],
  },
  {
    mode: `extend forward ${EXTEND_SECONDS} s`,
    measures: [
      { key: "forward.seam", label: "seam jump: source end → new, %w", truth: "world same frames" },
      { key: "forward.kept", label: "source objects found across seam", truth: "world same" },
    ],
  },
  {
    mode: `extend backward ${EXTEND_SECONDS} s`,
    measures: [
      { key: "backward.seam", label: "seam jump: source start → new, %w", truth: "world same" },
      { key: "backward.kept", label: "source objects found across seam", truth: "world same" },
    ],
  },
  {
    mode: "loop",
    measures: [
      { key: "loop.wrap", label: "wrap seam: first → last, %w", truth: "world median step" },
      {
        key: "loop.wrapKept",
        label: "first frame's objects found in last",
        truth: "world median step",
      },
      { key: "loop.entry", label: "entry seam: clip end → transition, %w", truth: "world same" },
    ],
  },
  {
    mode: `edit (strength ${EDIT_STRENGTH}, theme swapped)`,
    measures: [
      { key: "edit.diff", label: "position difference from source, %w", truth: "re-encoded" },
      { key: "edit.kept", label: "source sightings matched", truth: "re-encoded" },
      { key: "edit.recon", label: "strength 0 (autoencoder) difference, %w", truth: "re-encoded" },
      { key: "edit.reconKept", label: "strength 0 sightings matched", truth: "re-encoded" },
      { key: "edit.theme", label: "theme guessed as the new one", truth: "world render" },
    ],
  },
  {
    mode: `connect (${EXTEND_SECONDS} s transition)`,
    measures: [
      { key: "connect.start", label: "endpoint: a's last → transition, %w", truth: "world same" },
      { key: "connect.end", label: "endpoint: transition → b's first, %w", truth: "world same" },
      { key: "connect.pace", label: "transition's own pace, median %w", truth: "a's median step" },
    ],
  },
];

function column(xs: (number | null)[]): { median: string; mean: string; unmeasured: string } {
  const m = xs.filter((x): x is number => x !== null);
  const f = (x: number) => x.toFixed(2);
  return {
    median: m.length ? f(median(m)) : "–",
    mean: m.length ? f(mean(m)) : "–",
    unmeasured: `${xs.length - m.length} of ${xs.length}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Prompts and clips

/** The prompt with its theme phrase taken out and another theme put at its end. */
function editPrompt(prompt: string, seed: number): { text: string; theme: ThemeName } {
  let bare = prompt;
  for (const t of THEMES.map((t) => t.trim()).filter((t) => t))
    bare = bare.replace(new RegExp(`(^|\\s)${t}(?=,|\\s|$)`), "");
  bare = bare.replace(/^,\s*/, "").replace(/\s+/g, " ").trim();
  const source = expandPrompt(prompt, seed).scene.theme;
  const [phrase, theme] = EDIT_THEMES.find(([, th]) => th !== source)!;
  const text = `${bare}${phrase}`;
  const e = expandPrompt(text, seed);
  if (e.unknownWords.length > 0 || e.constraints.theme !== theme)
    throw new Error(`edit prompt "${text}" did not parse as theme ${theme}`);
  return { text, theme };
}

const slice = (v: Video, from: number, to: number): Video => ({
  ...v,
  frames: v.frames.slice(from, to),
});

// ---------------------------------------------------------------------------------------------
// Run

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    prompts: { type: "string", default: "20" },
    "seed-base": { type: "string", default: "0" },
    out: { type: "string" },
    steps: { type: "string", default: "30" },
    guidance: { type: "string", default: String(DEFAULT_GUIDANCE) },
    "minute-prompts": { type: "string", default: "1" },
    "minute-seconds": { type: "string", default: "60" },
  },
});
if (!values.model) throw new Error("usage: bench/modes-eval.ts --model <model-dir> [...]");
const n = Number(values.prompts);
const seedBase = Number(values["seed-base"]);
const steps = Number(values.steps);
const guidance = Number(values.guidance);
const minutePrompts = Number(values["minute-prompts"]);
const minuteSeconds = Number(values["minute-seconds"]);
for (const [name, v] of Object.entries({
  prompts: n,
  "seed-base": seedBase,
  steps,
  "minute-prompts": minutePrompts,
}))
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number, got ${v}`);
if (!(guidance >= 0)) throw new Error(`--guidance must be a number ≥ 0, got ${guidance}`);
if (!(minuteSeconds > 0)) throw new Error(`--minute-seconds must be > 0, got ${minuteSeconds}`);

const modelDir = resolve(values.model);
const model: LoadedModel = await loadModel(modelDir);
const prompts = benchPrompts(Math.max(n, minutePrompts));
const cpu = cpuModel();
const r = model.ae.cfg.temporalDown;
const F = frameCount(SOURCE_SECONDS, FPS, r);
const command = `npx tsx bench/modes-eval.ts ${process.argv.slice(2).join(" ")}`;
console.log(`command: ${command}`);
console.log(`CPU: ${cpu.model} [${cpu.flags}]`);
console.log(`model: ${modelDir} (${model.name}), weights sha256 ${model.hash}`);
console.log(
  `${n} prompts (model-eval's fixed templates), seeds ${seedBase}–${seedBase + n - 1}; ` +
    `${SIZE}×${SIZE} at ${FPS} fps; sources ${F} frames; ${steps} steps, guidance ${guidance}; ` +
    "everything tracked after writeMp4 → readVideo",
);

const sampler = { model, steps, guidance };
const tmp = mkdtempSync(join(tmpdir(), "zoetrope-modes-eval-"));
const encoded = (v: Video) => roundTrip(v, join(tmp, "clip.mp4"));

interface Row {
  i: number;
  seed: number;
  prompt: string;
  editPrompt: string;
  seconds: Record<string, number>;
  measures: Record<string, Pair>;
}
const rows: Row[] = [];

async function timed(
  seconds: Record<string, number>,
  name: string,
  f: () => Promise<ModeResult>,
): Promise<Video> {
  const t0 = performance.now();
  const out = await f();
  seconds[name] = (performance.now() - t0) / 1000;
  return out.video;
}

try {
  for (let i = 0; i < n; i++) {
    const prompt = prompts[i];
    const seed = seedBase + i;
    const opts = { ...sampler, seed, prompt };
    const { scene } = expandPrompt(prompt, seed);
    const world = simulate(scene, { width: SIZE, height: SIZE, fps: FPS, seconds: WORLD_SECONDS });
    const wv = world.video;
    const wPos = trackPositions(await encoded(wv));
    const W = SIZE;
    const add = Math.round(EXTEND_SECONDS * FPS);
    const seconds: Record<string, number> = {};
    const m: Record<string, Pair> = {};
    const put = (key: string, model: number | null, world: number | null) => {
      m[key] = { model, world };
    };
    const seamPair = (key: string, pos: Seen[][], a: number, b: number, wa = a, wb = b) => {
      const g = seam(pos[a], pos[b], W);
      const t = seam(wPos[wa], wPos[wb], W);
      put(`${key}.seam`, g.jump, t.jump);
      put(`${key}.kept`, g.kept, t.kept);
    };

    // animate: the world's first frame, then generated frames.
    const anim = await timed(seconds, "animate", () =>
      animate(slice(wv, 0, 1), prompt, { ...sampler, seed, seconds: SOURCE_SECONDS, fps: FPS }),
    );
    // The given frame's objects as tracked in the world's clip (tracking it inside the output
    // would drop an object the generated frames lose: seen one frame only, it counts as noise).
    const aPos = trackPositions(await encoded(anim));
    const given = seam(wPos[0], aPos[1], W);
    const truth0 = seam(wPos[0], wPos[1], W);
    put("animate.seam", given.jump, truth0.jump);
    put("animate.kept", given.kept, truth0.kept);
    put("animate.pace", pace(aPos, 1, PACE_FRAMES, W), pace(wPos, 1, PACE_FRAMES, W));

    // extend forward from the world's first F frames; backward from its frames add…add+F−1.
    const fwd = await timed(seconds, "forward", () =>
      extend(slice(wv, 0, F), { ...opts, seconds: EXTEND_SECONDS, direction: "forward" }),
    );
    seamPair("forward", trackPositions(await encoded(fwd)), F - 1, F);
    const bwd = await timed(seconds, "backward", () =>
      extend(slice(wv, add, add + F), { ...opts, seconds: EXTEND_SECONDS, direction: "backward" }),
    );
    const newFrames = bwd.frames.length - F;
    // From the source's side: its first frame's objects, found in the new frame before it.
    seamPair(
      "backward",
      trackPositions(await encoded(bwd)),
      newFrames,
      newFrames - 1,
      add,
      add - 1,
    );

    // loop of the world's first F frames.
    const lp = await timed(seconds, "loop", () => loop(slice(wv, 0, F), opts));
    const lPos = trackPositions(await encoded(lp));
    const wrap = seam(lPos[0], lPos[lPos.length - 1], W);
    const step = pace(wPos, 0, F - 1, W);
    put("loop.wrap", wrap.jump, step);
    put("loop.wrapKept", wrap.kept, keptMedian(wPos, 0, F - 1, W));
    put("loop.entry", seam(lPos[F - 1], lPos[F], W).jump, seam(wPos[F - 1], wPos[F], W).jump);

    // edit: the world's first F frames under the prompt with another theme.
    const ep = editPrompt(prompt, seed);
    const src = await encoded(slice(wv, 0, F));
    const sPos = trackPositions(src);
    const again = trackPositions(await encoded(src));
    const base = agreement(sPos, again, W);
    const ed = await encoded(
      await timed(seconds, "edit", () =>
        edit(slice(wv, 0, F), ep.text, { ...sampler, seed, strength: EDIT_STRENGTH }),
      ),
    );
    const e = agreement(sPos, trackPositions(ed), W);
    put("edit.diff", e.jump, base.jump);
    put("edit.kept", e.kept, base.kept);
    const recon = await edit(slice(wv, 0, F), ep.text, { ...sampler, seed, strength: 0 });
    const rc = agreement(sPos, trackPositions(await encoded(recon.video)), W);
    put("edit.recon", rc.jump, base.jump);
    put("edit.reconKept", rc.kept, base.kept);
    const editWorld = simulate(expandPrompt(ep.text, seed).scene, {
      width: SIZE,
      height: SIZE,
      fps: FPS,
      seconds: F / FPS,
    });
    const themeOf = (v: Video) => (evaluateVideo(v).theme.guess === ep.theme ? 1 : 0);
    put("edit.theme", themeOf(ed), themeOf(await encoded(editWorld.video)));

    // connect: a = frames 0…F−1, b = frames F+T…, the world's frames between them the truth.
    const T = r * Math.max(1, Math.round(add / r));
    const con = await timed(seconds, "connect", () =>
      connect(slice(wv, 0, F), slice(wv, F + T, F + T + F), { ...opts, seconds: EXTEND_SECONDS }),
    );
    if (con.frames.length !== 2 * F + T)
      throw new Error(`connect made ${con.frames.length - 2 * F} frames, expected ${T}`);
    const cPos = trackPositions(await encoded(con));
    const ends = [
      [F - 1, F],
      [F + T - 1, F + T],
    ] as const;
    const [s0, s1] = ends.map(([a, b]) => [seam(cPos[a], cPos[b], W), seam(wPos[a], wPos[b], W)]);
    put("connect.start", s0[0].jump, s0[1].jump);
    put("connect.end", s1[0].jump, s1[1].jump);
    put("connect.pace", pace(cPos, F, F + T - 1, W), step);

    rows.push({ i, seed, prompt, editPrompt: ep.text, seconds, measures: m });
    const f = (p: Pair) => `${p.model?.toFixed(2) ?? "–"}/${p.world?.toFixed(2) ?? "–"}`;
    console.log(
      `${String(i).padStart(3)} seams (model/world %w): animate ${f(m["animate.seam"])} ` +
        `forward ${f(m["forward.seam"])} backward ${f(m["backward.seam"])} ` +
        `loop ${f(m["loop.wrap"])} edit ${f(m["edit.diff"])} ` +
        `connect ${f(m["connect.start"])} ${f(m["connect.end"])}  ${prompt}`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Tables

console.log(`\ncommand: \`${command}\`  \nCPU: ${cpu.model}  \nmodel: ${model.name} ${model.hash}`);
for (const { mode, measures } of TABLES) {
  console.log(`\n### ${mode}, ${rows.length} prompts\n`);
  console.log(
    "| measure | model median | model mean | model unmeasured | ground truth | world median | world mean | world unmeasured |",
  );
  console.log("|---|---:|---:|---:|---|---:|---:|---:|");
  for (const ms of measures) {
    const g = column(rows.map((row) => row.measures[ms.key].model));
    const w = column(rows.map((row) => row.measures[ms.key].world));
    console.log(
      `| ${ms.label} | ${g.median} | ${g.mean} | ${g.unmeasured} | ${ms.truth} | ${w.median} | ${w.mean} | ${w.unmeasured} |`,
    );
  }
  const key = measures[0].key.split(".")[0];
  const s = rows.map((row) => row.seconds[key]).filter((x) => x !== undefined);
  if (s.length) console.log(`\nwall time per clip (median): ${median(s).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------
// One minute

/** The evaluator's objects in one span: how many, and their colours (sorted). */
interface SpanObjects {
  from: number;
  to: number;
  count: number;
  colors: string[];
}

/** Multiset difference: the items of `a` not in `b`. */
function without(a: string[], b: string[]): string[] {
  const left = [...b];
  return a.filter((x) => {
    const k = left.indexOf(x);
    if (k < 0) return true;
    left.splice(k, 1);
    return false;
  });
}

/** Colours with their counts: "red, 2 white" ("–" for none). */
function tally(colors: string[]): string {
  const counts = new Map<string, number>();
  for (const c of colors) counts.set(c, (counts.get(c) ?? 0) + 1);
  const parts = [...counts].map(([c, k]) => (k === 1 ? c : `${k} ${c}`));
  return parts.join(", ") || "–";
}

function spanObjects(video: Video, spans: [number, number][]): SpanObjects[] {
  return spans.map(([from, to]) => {
    const objs = evaluateVideo(slice(video, from, to)).objects;
    return { from, to, count: objs.length, colors: objs.map((o) => o.color).sort() };
  });
}

interface MinuteRow {
  prompt: string;
  seed: number;
  frames: number;
  windows: number;
  wallSeconds: number;
  model: SpanObjects[];
  world: SpanObjects[];
}
const minutes: MinuteRow[] = [];
const tmpMinute = mkdtempSync(join(tmpdir(), "zoetrope-modes-eval-"));
try {
  for (let i = 0; i < minutePrompts; i++) {
    const prompt = prompts[i];
    const seed = seedBase + i;
    const t0 = performance.now();
    const g = await generate(prompt, {
      ...sampler,
      seed,
      seconds: minuteSeconds,
      width: SIZE,
      height: SIZE,
      fps: FPS,
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    // The library returns generateLong's result, which says how many windows it sampled.
    const windows = (g as Partial<ModeResult>).windows;
    if (!windows) throw new Error("generate did not say how many windows it sampled");
    const frames = g.video.frames.length;
    // Window 1 makes the first W frames; the forward windows after it append equal shares
    // (the last one what is left).
    const first = Math.min(frames, windowFrames(model.ae));
    const per = Math.max(1, Math.ceil((frames - first) / Math.max(1, windows - 1)));
    const spans: [number, number][] = [[0, first]];
    for (let s = first; s < frames; s += per) spans.push([s, Math.min(frames, s + per)]);
    const { scene } = expandPrompt(prompt, seed);
    const w = simulate(scene, { width: SIZE, height: SIZE, fps: FPS, seconds: frames / FPS });
    const mv = await roundTrip(g.video, join(tmpMinute, "minute.mp4"));
    const wv = await roundTrip(slice(w.video, 0, frames), join(tmpMinute, "minute.mp4"));
    minutes.push({
      prompt,
      seed,
      frames,
      windows,
      wallSeconds,
      model: spanObjects(mv, spans),
      world: spanObjects(wv, spans),
    });
  }
} finally {
  rmSync(tmpMinute, { recursive: true, force: true });
}

for (const mr of minutes) {
  console.log(
    `\n### ${mr.frames / FPS} s at ${SIZE}×${SIZE} (${mr.frames} frames, ${mr.windows} windows): "${mr.prompt}", seed ${mr.seed}\n`,
  );
  console.log(
    `generation wall time: ${mr.wallSeconds.toFixed(1)} s on ${cpu.model} (${steps} steps, guidance ${guidance})\n`,
  );
  console.log(
    "| window | frames | model objects | model colours | Δ count | lost / new colours | world objects | world colours | Δ count | lost / new colours |",
  );
  console.log("|---:|---|---:|---|---:|---|---:|---|---:|---|");
  const drift = (s: SpanObjects, s0: SpanObjects) =>
    `${s.count - s0.count} | ${tally(without(s0.colors, s.colors))} / ${tally(without(s.colors, s0.colors))}`;
  mr.model.forEach((g, k) => {
    const w = mr.world[k];
    console.log(
      `| ${k + 1} | ${g.from}–${g.to - 1} | ${g.count} | ${tally(g.colors)} | ${drift(g, mr.model[0])} | ${w.count} | ${tally(w.colors)} | ${drift(w, mr.world[0])} |`,
    );
  });
  const summary = (ss: SpanObjects[]) => {
    const later = ss.slice(1);
    if (later.length === 0) return "one window only";
    const dn = mean(later.map((s) => Math.abs(s.count - ss[0].count)));
    const same = later.filter(
      (s) => without(s.colors, ss[0].colors).length + without(ss[0].colors, s.colors).length === 0,
    ).length;
    return `mean |Δ count| ${dn.toFixed(2)}, colours as window 1's in ${same} of ${later.length} windows`;
  };
  console.log(`\nmodel: ${summary(mr.model)}; world: ${summary(mr.world)}`);
}

// ---------------------------------------------------------------------------------------------
// File

if (values.out) {
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  const json = join(out, "modes-eval.json");
  const run = {
    command,
    modelDir,
    weights: model.hash,
    name: model.name,
    cpu: cpu.model,
    size: SIZE,
    fps: FPS,
    sourceFrames: F,
    extendSeconds: EXTEND_SECONDS,
    editStrength: EDIT_STRENGTH,
    steps,
    guidance,
    seedBase,
    prompts: n,
    minuteSeconds,
  };
  writeFileSync(json, `${JSON.stringify({ run, rows, minutes }, null, 1)}\n`);
  console.log(`\nmeasurements: ${json}`);
}
