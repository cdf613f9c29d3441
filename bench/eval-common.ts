/**
 * What the model benchmarks share (bench/model-eval.ts, bench/modes-eval.ts): the fixed prompt
 * templates and their prompts, and the MP4 round trip every judged clip goes through.
 */
import { readVideo, type Video, writeMp4 } from "../src/index.ts";
import { Rng } from "../src/util/rng.ts";
import { expandPrompt } from "../src/world/expand.ts";

// Prompts: fixed templates over the parser's words (vocabulary.ts), varied like typed text.

const COLORS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "white", "brown"];
const SHAPES: [string, string][] = [
  ["ball", "balls"],
  ["box", "boxes"],
  ["triangle", "triangles"],
  ["cube", "cubes"],
  ["sphere", "spheres"],
];
const SIZES = ["", "", "", "small ", "large ", "big ", "little "];
export const THEMES = [
  "",
  " at night",
  " at sunset",
  " on a sunny day",
  " indoors",
  " underwater",
  " in the evening",
  " at dusk",
  " in the morning",
  " under the sea",
];
const OCCLUDERS = [
  "behind a pillar",
  "in front of a wall",
  "behind a wooden crate",
  "in front of a tall pillar",
  "behind a brick wall",
];
const CAMERAS = [
  "while the camera pans left",
  "as the camera pans right",
  "while the camera zooms in",
];
const DIRS: [string, string][] = [
  ["left", "right"],
  ["to the left", "to the right"],
  ["leftwards", "rightwards"],
];

/** A motion as a verb phrase: [singular, plural, participle]; "@" stands for a direction. */
const MOTIONS: [string, string, string][] = [
  ["bounces", "bounce", "bouncing"],
  ["bounces on the ground", "bounce on the ground", "bouncing"],
  ["falls", "fall", "falling"],
  ["is dropped", "are dropped", "dropped"],
  ["is thrown @", "are thrown @", "thrown @"],
  ["flies @", "are tossed @", "tossed @"],
  ["rolls @", "roll @", "rolling @"],
  ["slides @", "slide @", "sliding @"],
  ["rests", "are resting", "resting"],
  ["sits on the floor", "are lying on the floor", "sitting"],
];

interface Drawn {
  text: string;
  /** Objects the prompt names, to check the parser read it as meant. */
  objects: number;
}

/** One object phrase and verb: "two blue boxes slide left", "a small green triangle". */
function clause(rng: Rng, count: number, participle: boolean): string {
  const [one, many] = rng.pick(SHAPES);
  const noun = `${rng.pick(SIZES)}${rng.pick(COLORS)} ${count === 1 ? one : many}`;
  const det = count === 1 ? (/^[aeiou]/.test(noun) ? "an" : "a") : "two";
  const motion = rng.pick(MOTIONS)[participle ? 2 : count === 1 ? 0 : 1];
  const dir = rng.pick(DIRS)[rng.int(0, 1)];
  return `${det} ${noun} ${motion.replace("@", dir)}`;
}

function drawPrompt(rng: Rng): Drawn {
  const theme = rng.pick(THEMES);
  const count = rng.chance(0.3) ? 2 : 1;
  switch (rng.int(0, 5)) {
    case 0:
      return { text: `${clause(rng, count, false)}${theme}`, objects: count };
    case 1:
      return { text: `${clause(rng, 1, true)}${theme}`, objects: 1 };
    case 2:
      return {
        text: `${clause(rng, count, false)} ${rng.pick(OCCLUDERS)}${theme}`,
        objects: count,
      };
    case 3:
      return { text: `${clause(rng, 1, false)}${theme} ${rng.pick(CAMERAS)}`, objects: 1 };
    case 4:
      return { text: `${clause(rng, 1, true)} and ${clause(rng, 1, true)}${theme}`, objects: 2 };
    default:
      // The theme first, as a scene-setting phrase: "at night, a red ball rolls left".
      return {
        text: `${theme.trim() || "on the floor"}, ${clause(rng, count, false)}`,
        objects: count,
      };
  }
}

/** The benchmark's prompts: distinct, each parsed with no unknown word and as many objects as it names. */
export function benchPrompts(n: number): string[] {
  const rng = new Rng(0x6d6f64);
  const out: string[] = [];
  while (out.length < n) {
    const { text, objects } = drawPrompt(rng);
    if (out.includes(text)) continue;
    const e = expandPrompt(text, 0);
    if (e.unknownWords.length > 0)
      throw new Error(`prompt "${text}": unknown words ${e.unknownWords.join(", ")}`);
    const c = e.constraints.objects;
    if (c.length !== objects || c.some((o) => !o.color || !o.shape))
      throw new Error(`prompt "${text}" parsed as ${JSON.stringify(c)}`);
    out.push(text);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/** Through an ordinary H.264 encode and back, as a user's file would be. */
export async function roundTrip(video: Video, file: string): Promise<Video> {
  await writeMp4(video, file);
  return readVideo(file);
}
