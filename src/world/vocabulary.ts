/**
 * The words the world's language side knows: one lexicon that both the prompt parser reads and
 * the caption grammar writes from, so that every caption parses back to the scene it describes
 * and no caption word is ever reported as unknown. Each word maps to what it means (a colour, a
 * shape, a motion, a theme ...) or to "filler" for function and narrative words that carry no
 * constraint.
 */
import type {
  ColorName,
  MaterialName,
  MotionKind,
  OccluderKind,
  ShapeKind,
  SizeName,
  ThemeName,
} from "./scene.ts";

/** What one word means to the parser. */
export type Lexeme =
  | { kind: "color"; value: ColorName }
  | { kind: "size"; value: SizeName }
  | { kind: "material"; value: MaterialName }
  /** An object noun; `value` null for generic nouns ("object", "thing"). */
  | { kind: "shape"; value: ShapeKind | null; plural: boolean }
  /** `weak` motions ("falls") yield to any other motion said of the same object. */
  | { kind: "motion"; value: MotionKind; weak: boolean }
  | { kind: "bounce" }
  | { kind: "direction"; value: "left" | "right" }
  | { kind: "theme"; value: ThemeName }
  | { kind: "pan" }
  | { kind: "zoom" }
  /** "still", "static": the camera when a camera noun is near, otherwise an object at rest. */
  | { kind: "still" }
  | { kind: "cameraNoun" }
  | { kind: "occluder"; value: OccluderKind; plural: boolean }
  /** Words that may describe an occluder but not a moving object ("stone", "wooden"). */
  | { kind: "occluderDescriptor" }
  /** Where the action is relative to an occluder: "behind" one puts it in the front layer. */
  | { kind: "relation"; layer: "front" | "back"; before: boolean }
  | { kind: "number"; value: number }
  | { kind: "article"; definite: boolean }
  | { kind: "from" }
  | { kind: "times" }
  | { kind: "unit" }
  /** Nouns of the scenery ("ground", "sky"): they close a noun phrase without naming an object. */
  | { kind: "scenery" }
  | { kind: "pronoun" }
  | { kind: "filler" };

/** Colour words; the canonical names come first so the grammar can prefer them. */
export const COLOR_WORDS: Record<string, ColorName> = {
  red: "red",
  orange: "orange",
  yellow: "yellow",
  green: "green",
  blue: "blue",
  purple: "purple",
  pink: "pink",
  white: "white",
  black: "black",
  brown: "brown",
  crimson: "red",
  scarlet: "red",
  golden: "yellow",
  emerald: "green",
  violet: "purple",
};

export const SIZE_WORDS: Record<string, SizeName> = {
  small: "small",
  little: "small",
  tiny: "small",
  medium: "medium",
  midsize: "medium",
  mid: "medium",
  large: "large",
  big: "large",
  huge: "large",
};

/** Adjectives ("bouncy") and material nouns used as adjectives ("rubber ball"). */
export const MATERIAL_WORDS: Record<string, MaterialName> = {
  bouncy: "bouncy",
  rubber: "bouncy",
  rubbery: "bouncy",
  springy: "bouncy",
  heavy: "heavy",
  weighty: "heavy",
  dense: "heavy",
  iron: "heavy",
  metal: "heavy",
  metallic: "heavy",
  steel: "heavy",
  light: "light",
  lightweight: "light",
  foam: "light",
  hollow: "light",
  cork: "light",
};

export const SHAPE_WORDS: Record<string, { shape: ShapeKind | null; plural: boolean }> = {
  ball: { shape: "ball", plural: false },
  balls: { shape: "ball", plural: true },
  sphere: { shape: "ball", plural: false },
  spheres: { shape: "ball", plural: true },
  orb: { shape: "ball", plural: false },
  orbs: { shape: "ball", plural: true },
  box: { shape: "box", plural: false },
  boxes: { shape: "box", plural: true },
  cube: { shape: "box", plural: false },
  cubes: { shape: "box", plural: true },
  block: { shape: "box", plural: false },
  blocks: { shape: "box", plural: true },
  triangle: { shape: "triangle", plural: false },
  triangles: { shape: "triangle", plural: true },
  wedge: { shape: "triangle", plural: false },
  wedges: { shape: "triangle", plural: true },
  object: { shape: null, plural: false },
  objects: { shape: null, plural: true },
  thing: { shape: null, plural: false },
  things: { shape: null, plural: true },
  shape: { shape: null, plural: false },
  shapes: { shape: null, plural: true },
  item: { shape: null, plural: false },
  something: { shape: null, plural: false },
  items: { shape: null, plural: true },
};

/** Motion words. Strong ones pin the motion; weak ones ("falls") only fill it in. */
export const MOTION_WORDS: Record<string, { motion: MotionKind; weak: boolean }> = {
  dropped: { motion: "dropped", weak: false },
  released: { motion: "dropped", weak: false },
  release: { motion: "dropped", weak: false },
  releases: { motion: "dropped", weak: false },
  drop: { motion: "dropped", weak: true },
  drops: { motion: "dropped", weak: true },
  dropping: { motion: "dropped", weak: true },
  fall: { motion: "dropped", weak: true },
  falls: { motion: "dropped", weak: true },
  falling: { motion: "dropped", weak: true },
  fell: { motion: "dropped", weak: true },
  thrown: { motion: "thrown", weak: false },
  throw: { motion: "thrown", weak: false },
  throws: { motion: "thrown", weak: false },
  throwing: { motion: "thrown", weak: false },
  threw: { motion: "thrown", weak: false },
  tossed: { motion: "thrown", weak: false },
  toss: { motion: "thrown", weak: false },
  tosses: { motion: "thrown", weak: false },
  tossing: { motion: "thrown", weak: false },
  launched: { motion: "thrown", weak: false },
  lobbed: { motion: "thrown", weak: false },
  flung: { motion: "thrown", weak: false },
  hurled: { motion: "thrown", weak: false },
  flies: { motion: "thrown", weak: false },
  flying: { motion: "thrown", weak: false },
  sails: { motion: "thrown", weak: false },
  sailing: { motion: "thrown", weak: false },
  rolled: { motion: "rolled", weak: false },
  roll: { motion: "rolled", weak: false },
  rolls: { motion: "rolled", weak: false },
  rolling: { motion: "rolled", weak: false },
  slides: { motion: "rolled", weak: false },
  slide: { motion: "rolled", weak: false },
  sliding: { motion: "rolled", weak: false },
  slid: { motion: "rolled", weak: false },
  glides: { motion: "rolled", weak: false },
  gliding: { motion: "rolled", weak: false },
  skids: { motion: "rolled", weak: false },
  skidding: { motion: "rolled", weak: false },
  pushed: { motion: "rolled", weak: false },
  shoved: { motion: "rolled", weak: false },
  resting: { motion: "resting", weak: false },
  rests: { motion: "resting", weak: false },
  sits: { motion: "resting", weak: false },
  sitting: { motion: "resting", weak: false },
  lies: { motion: "resting", weak: false },
  lying: { motion: "resting", weak: false },
  stationary: { motion: "resting", weak: false },
  motionless: { motion: "resting", weak: false },
  unmoving: { motion: "resting", weak: false },
};

export const BOUNCE_WORDS = ["bounce", "bounces", "bouncing", "bounced"] as const;

export const DIRECTION_WORDS: Record<string, "left" | "right"> = {
  left: "left",
  leftward: "left",
  leftwards: "left",
  right: "right",
  rightward: "right",
  rightwards: "right",
};

export const THEME_WORDS: Record<string, ThemeName> = {
  day: "day",
  daytime: "day",
  daylight: "day",
  sunny: "day",
  sunlit: "day",
  morning: "day",
  noon: "day",
  midday: "day",
  afternoon: "day",
  sunset: "sunset",
  dusk: "sunset",
  sundown: "sunset",
  evening: "sunset",
  twilight: "sunset",
  night: "night",
  nighttime: "night",
  dark: "night",
  moonlit: "night",
  moonlight: "night",
  midnight: "night",
  starry: "night",
  stars: "night",
  indoor: "indoor",
  indoors: "indoor",
  inside: "indoor",
  room: "indoor",
  interior: "indoor",
  underwater: "underwater",
  undersea: "underwater",
  ocean: "underwater",
  sea: "underwater",
  seabed: "underwater",
  aquarium: "underwater",
  water: "underwater",
};

export const PAN_WORDS = ["pan", "pans", "panning", "panned"] as const;
export const ZOOM_WORDS = ["zoom", "zooms", "zooming", "zoomed"] as const;
export const STILL_WORDS = ["still", "static", "steady", "fixed", "locked"] as const;
export const CAMERA_NOUNS = ["camera", "shot", "view", "lens"] as const;

export const OCCLUDER_WORDS: Record<string, { kind: OccluderKind; plural: boolean }> = {
  pillar: { kind: "pillar", plural: false },
  pillars: { kind: "pillar", plural: true },
  column: { kind: "pillar", plural: false },
  columns: { kind: "pillar", plural: true },
  wall: { kind: "wall", plural: false },
  walls: { kind: "wall", plural: true },
  crate: { kind: "crate", plural: false },
  crates: { kind: "crate", plural: true },
};

export const OCCLUDER_DESCRIPTORS = [
  "grey",
  "gray",
  "stone",
  "wooden",
  "wood",
  "brick",
  "concrete",
  "tall",
  "low",
  "short",
  "wide",
  "narrow",
  "thin",
  "thick",
] as const;

export const NUMBER_WORDS: Record<string, number> = {
  zero: 0,
  one: 1,
  single: 1,
  lone: 1,
  two: 2,
  pair: 2,
  couple: 2,
  both: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  dozen: 12,
};

/** Words the grammar spells numbers with (index = value). */
export const NUMBER_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven"];

export const ARTICLES: Record<string, boolean> = { a: false, an: false, another: false, the: true };

export const UNIT_WORDS = [
  "metre",
  "metres",
  "meter",
  "meters",
  "m",
  "cm",
  "centimetres",
  "centimeters",
  "second",
  "seconds",
  "s",
  "per",
] as const;

export const SCENERY_WORDS = [
  "ground",
  "floor",
  "sky",
  "air",
  "scene",
  "frame",
  "height",
  "arc",
  "backdrop",
  "setting",
  "side",
  "sides",
  "edge",
  "middle",
  "centre",
  "center",
  "corner",
  "sun",
  "moon",
  "waves",
  "glow",
  "action",
  "picture",
  "sight",
  "video",
  "clip",
  "footage",
  "way",
  "path",
  "place",
  "arena",
  "surface",
  "bottom",
  "top",
] as const;

export const PRONOUNS = ["it", "its", "itself", "they", "them", "their", "themselves"] as const;

/** Known words with no constraint of their own: function words and the grammar's narrative verbs. */
export const FILLER_WORDS = [
  // function words
  "about",
  "above",
  "across",
  "after",
  "again",
  "along",
  "also",
  "among",
  "and",
  "are",
  "around",
  "as",
  "at",
  "away",
  "back",
  "be",
  "been",
  "before",
  "being",
  "below",
  "beneath",
  "beside",
  "between",
  "beyond",
  "by",
  "can",
  "down",
  "during",
  "each",
  "every",
  "for",
  "here",
  "in",
  "into",
  "is",
  "just",
  "near",
  "next",
  "of",
  "off",
  "on",
  "onto",
  "or",
  "other",
  "out",
  "over",
  "past",
  "some",
  "than",
  "that",
  "then",
  "there",
  "these",
  "this",
  "those",
  "through",
  "to",
  "toward",
  "towards",
  "under",
  "up",
  "upon",
  "upward",
  "upwards",
  "was",
  "we",
  "were",
  "where",
  "which",
  "while",
  "who",
  "with",
  "within",
  "all",
  "together",
  "everything",
  "first",
  "third",
  "fourth",
  "last",
  "later",
  "finally",
  "soon",
  "once",
  "twice",
  "thrice",
  "several",
  "almost",
  "roughly",
  "nearly",
  "sized",
  "identical",
  "same",
  // adverbs of manner
  "slowly",
  "quickly",
  "gently",
  "gradually",
  "steadily",
  "briefly",
  "softly",
  "smoothly",
  "swiftly",
  "partly",
  "partially",
  "fully",
  "high",
  "fast",
  "slow",
  "quick",
  "far",
  "close",
  "deep",
  "late",
  "broad",
  "clear",
  "bright",
  "quiet",
  "plain",
  "warm",
  "cool",
  "calm",
  "empty",
  // narrative verbs
  "see",
  "sees",
  "show",
  "shows",
  "showing",
  "watch",
  "watches",
  "watching",
  "happens",
  "happen",
  "takes",
  "take",
  "stands",
  "stand",
  "standing",
  "lands",
  "land",
  "landing",
  "hits",
  "hit",
  "hitting",
  "strikes",
  "strike",
  "collides",
  "collide",
  "colliding",
  "collision",
  "bumps",
  "bump",
  "knocks",
  "knocked",
  "meets",
  "touches",
  "reaches",
  "continues",
  "keeps",
  "comes",
  "come",
  "goes",
  "go",
  "let",
  "put",
  "stays",
  "stay",
  "holds",
  "hold",
  "remains",
  "remain",
  "settles",
  "settle",
  "settling",
  "stops",
  "stop",
  "disappears",
  "disappear",
  "vanishes",
  "reappears",
  "reappear",
  "emerges",
  "emerge",
  "hidden",
  "hides",
  "hide",
  "visible",
  "appears",
  "appear",
  "enters",
  "enter",
  "leaves",
  "leave",
  "exits",
  "exit",
  "moves",
  "move",
  "moving",
  "travels",
  "travel",
  "travelling",
  "traveling",
  "heads",
  "heading",
  "made",
  "makes",
  "shares",
  "share",
  "fill",
  "fills",
  "passes",
  "pass",
  "passing",
  "drifts",
  "drifting",
  "crosses",
  "cross",
  "crossing",
  "rest",
] as const;

/** The whole lexicon, built once. */
export const LEXICON: ReadonlyMap<string, Lexeme> = buildLexicon();

function buildLexicon(): Map<string, Lexeme> {
  const lex = new Map<string, Lexeme>();
  const add = (word: string, entry: Lexeme) => {
    if (lex.has(word)) throw new Error(`vocabulary: the word "${word}" is listed twice`);
    lex.set(word, entry);
  };
  for (const [w, value] of Object.entries(COLOR_WORDS)) add(w, { kind: "color", value });
  for (const [w, value] of Object.entries(SIZE_WORDS)) add(w, { kind: "size", value });
  for (const [w, value] of Object.entries(MATERIAL_WORDS)) add(w, { kind: "material", value });
  for (const [w, s] of Object.entries(SHAPE_WORDS))
    add(w, { kind: "shape", value: s.shape, plural: s.plural });
  for (const [w, m] of Object.entries(MOTION_WORDS))
    add(w, { kind: "motion", value: m.motion, weak: m.weak });
  for (const w of BOUNCE_WORDS) add(w, { kind: "bounce" });
  for (const [w, value] of Object.entries(DIRECTION_WORDS)) add(w, { kind: "direction", value });
  for (const [w, value] of Object.entries(THEME_WORDS)) add(w, { kind: "theme", value });
  for (const w of PAN_WORDS) add(w, { kind: "pan" });
  for (const w of ZOOM_WORDS) add(w, { kind: "zoom" });
  for (const w of STILL_WORDS) add(w, { kind: "still" });
  for (const w of CAMERA_NOUNS) add(w, { kind: "cameraNoun" });
  for (const [w, o] of Object.entries(OCCLUDER_WORDS))
    add(w, { kind: "occluder", value: o.kind, plural: o.plural });
  for (const w of OCCLUDER_DESCRIPTORS) add(w, { kind: "occluderDescriptor" });
  add("behind", { kind: "relation", layer: "front", before: true });
  add("front", { kind: "relation", layer: "back", before: true });
  add("foreground", { kind: "relation", layer: "front", before: false });
  add("background", { kind: "relation", layer: "back", before: false });
  for (const [w, value] of Object.entries(NUMBER_WORDS)) add(w, { kind: "number", value });
  for (const [w, definite] of Object.entries(ARTICLES)) add(w, { kind: "article", definite });
  add("from", { kind: "from" });
  add("times", { kind: "times" });
  add("time", { kind: "times" });
  for (const w of UNIT_WORDS) add(w, { kind: "unit" });
  for (const w of SCENERY_WORDS) add(w, { kind: "scenery" });
  for (const w of PRONOUNS) add(w, { kind: "pronoun" });
  for (const w of FILLER_WORDS) add(w, { kind: "filler" });
  return lex;
}

/** The lexicon entry of a lower-case word, or undefined when the word is not known. */
export function lookup(word: string): Lexeme | undefined {
  return LEXICON.get(word);
}

/** All the words of one meaning, e.g. wordsFor("color", "red") → ["red", "crimson", "scarlet"]. */
export function wordsFor<K extends "color" | "size" | "material" | "theme" | "direction">(
  kind: K,
  value: string,
): string[] {
  const out: string[] = [];
  for (const [w, entry] of LEXICON)
    if (entry.kind === kind && (entry as { value: string }).value === value) out.push(w);
  return out;
}

/** "a" or "an" for the word that follows it. */
export function indefiniteArticle(nextWord: string): "a" | "an" {
  return /^[aeiou]/i.test(nextWord) ? "an" : "a";
}
