/**
 * The prompt parser: free text ("two blue boxes sliding left on a sunny day") to scene
 * constraints. It reads left to right with a small noun-phrase machine: adjectives wait for the
 * nearest following noun, participles and directions after a noun describe that noun, "the"
 * refers back to an object already named, and theme, camera and occluder words set the scene.
 * Words outside the lexicon are reported, never dropped in silence; two words that pin the same
 * property to different values are a contradiction and raise a PromptError naming both.
 */
import type { ObjectConstraint, SceneConstraints } from "./constraints.ts";
import type { Place } from "./place.ts";
import {
  type CameraMotion,
  COLOR_NAMES,
  type MotionKind,
  type OccluderKind,
  type ShapeKind,
  type ThemeName,
} from "./scene.ts";
import { type Lexeme, lookup } from "./vocabulary.ts";

/** A prompt the parser cannot turn into constraints; the message names the problem. */
export class PromptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PromptError";
  }
}

export const MAX_PROMPT_CHARS = 1000;
export const MAX_OBJECTS = 4;
export const MAX_OCCLUDERS = 3;

export interface ParsedPrompt {
  constraints: SceneConstraints;
  unknownWords: string[];
}

export function parsePrompt(text: string): ParsedPrompt {
  if (typeof text !== "string")
    throw new PromptError(`prompt must be a string, got ${typeof text}`);
  if (text.trim() === "") throw new PromptError("prompt is empty");
  if (text.length > MAX_PROMPT_CHARS)
    throw new PromptError(
      `prompt is ${text.length} characters long; the limit is ${MAX_PROMPT_CHARS}`,
    );
  return new PromptParser(tokenize(text)).parse();
}

// ---------------------------------------------------------------------------------------------
// Tokens

interface Token {
  /** Lower-case text as written. */
  text: string;
  type: "word" | "number" | "punct" | "symbol";
  /** Numeric value of a "number" token. */
  value: number;
  lex: Lexeme | undefined;
}

const SEPARATORS = /["()[\]{}/\\\-–—'’`_*+=~|<>^]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /(\d+(?:\.\d+)?)|(\p{L}+(?:['’]\p{L}+)*)|([.,;:!?])|(\S)/gu;
  for (const m of text.toLowerCase().matchAll(pattern)) {
    if (m[1] !== undefined)
      tokens.push({ text: m[1], type: "number", value: Number(m[1]), lex: undefined });
    else if (m[2] !== undefined) {
      // A possessive ("ball's") means the noun itself.
      const word = m[2].replace(/['’]s$/, "");
      if (word.includes("'") || word.includes("’")) {
        tokens.push({ text: word, type: "word", value: 0, lex: undefined });
        continue;
      }
      tokens.push({ text: word, type: "word", value: 0, lex: lookup(word) });
    } else if (m[3] !== undefined)
      tokens.push({ text: m[3], type: "punct", value: 0, lex: undefined });
    else if (m[4] === "&") tokens.push({ text: "and", type: "word", value: 0, lex: lookup("and") });
    else if (!SEPARATORS.test(m[4]))
      tokens.push({ text: m[4], type: "symbol", value: 0, lex: undefined });
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parser state

type Field = "color" | "size" | "material" | "motion" | "direction" | "bounces" | "place";

/** One property said of an object, with the word that said it (for error messages). */
interface Attr {
  field: Field;
  value: string | boolean;
  word: string;
  /** A weak motion ("falls") yields to any other motion. */
  weak?: boolean;
  /** Token index of the word. */
  at?: number;
  /** Said at the start of a clause, so it waits for the next object even past a comma. */
  forward?: boolean;
}

interface Entry {
  constraint: ObjectConstraint;
  /** Which word set each field. */
  words: Partial<Record<Field, string>>;
  weakMotion: boolean;
  /** The noun the prompt used, for messages ("ball", "cube"). */
  noun: string;
}

interface OccluderEntry {
  kind: OccluderKind;
  layer: "front" | "back" | null;
  layerWord: string;
}

interface Pending {
  article: { definite: boolean; word: string } | null;
  number: { value: number; word: string } | null;
  attrs: Attr[];
  occluderWords: string[];
}

/** A generic noun with a number and nothing else ("three objects"), first in the prompt. */
interface CountStatement {
  value: number;
  words: string;
  group: number[];
}

/** Scenery nouns that, after "in the", say an object starts in the middle of the view. */
const MIDDLE_WORDS: ReadonlySet<string> = new Set(["middle", "centre", "center"]);

const ONLY_OBJECT_FIELDS: ReadonlySet<Field> = new Set([
  "color",
  "material",
  "motion",
  "direction",
  "bounces",
]);

/** Theme nouns are scenery: colour or size words before them describe the scenery ("blue sea"). */
const THEME_NOUNS: ReadonlySet<string> = new Set([
  "day",
  "daytime",
  "daylight",
  "morning",
  "noon",
  "midday",
  "afternoon",
  "sunset",
  "dusk",
  "sundown",
  "evening",
  "twilight",
  "night",
  "nighttime",
  "moonlight",
  "midnight",
  "stars",
  "room",
  "interior",
  "ocean",
  "sea",
  "seabed",
  "aquarium",
  "water",
]);

const FIELD_NAMES: Record<Field, string> = {
  color: "colour",
  size: "size",
  material: "material",
  motion: "motion",
  direction: "direction",
  bounces: "bounce",
  place: "place",
};

class PromptParser {
  private readonly tokens: Token[];
  private readonly consumed = new Set<number>();
  private readonly unknown: string[] = [];
  private readonly entries: Entry[] = [];
  private readonly occluders: OccluderEntry[] = [];
  private pending: Pending = emptyPending();
  private relation: { layer: "front" | "back"; word: string; before: boolean } | null = null;
  /** Entries of the object noun phrase last named; words after a noun describe it. */
  private lastGroup: number[] | null = null;
  /** Occluders of the last noun phrase when it named occluders (and no object since). */
  private lastOccluders: number[] | null = null;
  private theme: { value: ThemeName; word: string } | null = null;
  private camera: { value: CameraMotion; word: string } | null = null;
  private countStatement: CountStatement | null = null;
  private nounPhrases = 0;
  /** Whether some plural noun came without a number ("balls"), so the total is open. */
  private openCount = false;

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parse(): ParsedPrompt {
    for (let i = 0; i < this.tokens.length; i++) {
      if (this.consumed.has(i)) continue;
      this.step(i);
    }
    this.endOfClause();
    this.finishPending();
    return this.result();
  }

  // -------------------------------------------------------------------------------------------
  // One token

  private step(i: number): void {
    const tok = this.tokens[i];
    if (tok.type === "punct") {
      this.endOfClause();
      return;
    }
    if (tok.type === "symbol") {
      this.reportUnknown(tok.text);
      return;
    }
    if (tok.type === "number") {
      this.number(i, tok.value, tok.text);
      return;
    }
    const lex = tok.lex;
    if (!lex) {
      this.reportUnknown(tok.text);
      return;
    }
    const w = tok.text;
    switch (lex.kind) {
      case "color":
      case "size":
      case "material":
        this.pending.attrs.push({ field: lex.kind, value: lex.value, word: w, at: i });
        return;
      case "motion":
        this.describe(i, { field: "motion", value: lex.value, word: w, weak: lex.weak });
        return;
      case "bounce":
        this.describe(i, { field: "bounces", value: true, word: w });
        return;
      case "direction":
        this.direction(i, lex.value);
        return;
      case "theme":
        this.themeWord(i, lex.value);
        return;
      case "pan":
        this.pan(i);
        return;
      case "zoom":
        this.zoom(i);
        return;
      case "still":
        if (this.cameraNounNear(i)) this.setCamera("still", w);
        else this.describe(i, { field: "motion", value: "resting", word: w });
        return;
      case "cameraNoun":
        this.closeNounPhrase();
        return;
      case "occluder":
        this.occluderNoun(i, lex.value, lex.plural);
        return;
      case "occluderDescriptor":
        this.pending.occluderWords.push(w);
        return;
      case "relation":
        this.relationWord(lex.layer, lex.before, w);
        return;
      case "number":
        if (w === "one" && this.isAnaphoricOne(i)) {
          // "a red ball and a blue one": "one" stands for the noun named before.
          this.objectNoun(i, this.entries.at(-1)?.constraint.shape ?? null, false);
          return;
        }
        if (w === "both") {
          this.article(true, w);
          this.pending.number = { value: 2, word: w };
          return;
        }
        this.number(i, lex.value, w);
        return;
      case "article":
        this.article(lex.definite, w);
        return;
      case "shape":
        this.objectNoun(i, lex.value, lex.plural);
        return;
      case "scenery":
        if (MIDDLE_WORDS.has(w) && this.prevWord(i) === "the" && this.prevWord(i, 2) === "in")
          this.place(i, "middle");
        this.dropSceneryAdjectives(i);
        this.closeNounPhrase();
        return;
      case "pronoun":
        this.pending.article = null;
        return;
      case "from":
      case "times":
      case "unit":
        return;
      case "filler":
        if (w === "rest" && this.prevWord(i) === "at")
          this.describe(i, { field: "motion", value: "resting", word: "at rest" });
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Objects

  private objectNoun(i: number, shape: ShapeKind | null, plural: boolean): void {
    const noun = this.tokens[i].text;
    const p = this.pending;
    const onlyObject = p.attrs.some((a) => ONLY_OBJECT_FIELDS.has(a.field));
    // "behind a box" names a crate, unless the box is described as a moving object or is one.
    if (shape === "box" && this.relation?.before && !onlyObject && p.occluderWords.length === 0) {
      const refersToObject = p.article?.definite && this.matches(p, "box", null).length > 0;
      if (!refersToObject) {
        this.occluderNoun(i, "crate", plural);
        return;
      }
    }
    if (p.occluderWords.length > 0)
      throw new PromptError(
        `"${p.occluderWords[0]}" describes scenery (pillars, walls, crates), not a ${noun}; ` +
          `object colours are ${COLOR_NAMES.join(", ")}`,
      );
    const isFirstPhrase = this.nounPhrases === 0;
    this.nounPhrases++;
    let n: number | null = plural ? null : 1;
    if (p.number) {
      n = p.number.value;
      if (!Number.isInteger(n) || n < 1 || n > MAX_OBJECTS)
        throw new PromptError(
          `"${p.number.word} ${noun}": a scene holds 1 to ${MAX_OBJECTS} moving objects`,
        );
    }
    let group: number[] = [];
    if (p.article?.definite) group = this.matches(p, shape, n);
    if (group.length === 0) {
      if (n === null) this.openCount = true;
      const made = n ?? 2;
      for (let k = 0; k < made; k++) {
        group.push(this.entries.length);
        this.entries.push({
          constraint: shape ? { shape } : {},
          words: {},
          weakMotion: false,
          noun,
        });
      }
      this.checkObjectLimit();
      // "Three objects: a red ball, ..." states the total rather than naming three objects.
      if (
        isFirstPhrase &&
        shape === null &&
        p.number &&
        p.attrs.length === 0 &&
        !p.article?.definite
      )
        this.countStatement = { value: n ?? 0, words: `${p.number.word} ${noun}`, group };
    }
    for (const a of p.attrs) this.apply(group, a);
    this.lastGroup = group;
    this.lastOccluders = null;
    this.pending = emptyPending();
    this.relation = null;
  }

  /**
   * Entries a definite noun phrase refers to: compatible with what it says, most recent first.
   * An entry whose motion came from a weak word ("falls") matches another motion only when no
   * entry matches outright.
   */
  private matches(p: Pending, shape: ShapeKind | null, n: number | null): number[] {
    const strict = this.matching(p, shape, n, false);
    return strict.length > 0 ? strict : this.matching(p, shape, n, true);
  }

  private matching(p: Pending, shape: ShapeKind | null, n: number | null, lenient: boolean) {
    const found: number[] = [];
    for (let e = this.entries.length - 1; e >= 0; e--) {
      if (this.countStatement?.group.includes(e)) continue;
      const c = this.entries[e].constraint;
      if (shape && c.shape !== undefined && c.shape !== shape) continue;
      const clash = p.attrs.some((a) => {
        if (lenient && a.field === "motion" && this.entries[e].weakMotion) return false;
        const have = c[a.field];
        return have !== undefined && have !== a.value;
      });
      if (!clash) found.push(e);
      if (n !== null && found.length === n) break;
    }
    if (n !== null && found.length < n) return [];
    return found.reverse();
  }

  /** A motion, bounce or direction word: before its noun it waits, after one it describes it. */
  private describe(i: number, attr: Attr): void {
    if (this.beforeNoun(i)) {
      this.pending.attrs.push(attr);
      return;
    }
    // "a crate sits in the corner": resting words right after an occluder describe the occluder.
    if (this.lastOccluders && attr.field === "motion" && attr.value === "resting") return;
    if (this.lastGroup) {
      // A verb after the noun: adjectives still waiting were said of it ("made of rubber rolls").
      this.flushToLastGroup();
      this.apply(this.lastGroup, attr);
    } else this.pending.attrs.push(attr);
  }

  /** "one" after adjectives and before no noun ("a blue one") is a pronoun, not a number. */
  private isAnaphoricOne(i: number): boolean {
    if (!this.pending.attrs.some((a) => isAdjectiveField(a.field))) return false;
    if (this.entries.length === 0) return false;
    const k = this.tokens[i + 1]?.lex?.kind;
    return k !== "shape" && k !== "color" && k !== "size" && k !== "material";
  }

  /** Whether only adjectives stand between token i and an object noun. */
  private beforeNoun(i: number): boolean {
    for (let j = i + 1; j < this.tokens.length; j++) {
      const t = this.tokens[j];
      if (t.type !== "word") return false;
      if (!t.lex || t.text === "sized") continue;
      const k = t.lex.kind;
      if (k === "shape") return true;
      if (
        k === "color" ||
        k === "size" ||
        k === "material" ||
        k === "motion" ||
        k === "bounce" ||
        k === "direction"
      )
        continue;
      return false;
    }
    return false;
  }

  private apply(group: number[], a: Attr): void {
    for (const e of group) this.applyOne(this.entries[e], a);
  }

  private applyOne(entry: Entry, a: Attr): void {
    const c = entry.constraint;
    const noun = entry.noun.replace(/s$/, "");
    if (a.field === "motion") {
      const motion = a.value as MotionKind;
      if (c.motion !== undefined && c.motion !== motion) {
        if (a.weak) return;
        if (!entry.weakMotion)
          throw new PromptError(
            `contradiction: "${entry.words.motion}" and "${a.word}" give one ${noun} two motions (${c.motion}, ${motion})`,
          );
      }
      if (motion === "resting") {
        if (c.bounces)
          throw new PromptError(
            `contradiction: "${entry.words.bounces}" and "${a.word}": a resting ${noun} cannot bounce`,
          );
        if (c.direction)
          throw new PromptError(
            `contradiction: "${entry.words.direction}" and "${a.word}": a resting ${noun} cannot move ${c.direction}`,
          );
      }
      if (c.motion === motion && !entry.weakMotion) return;
      c.motion = motion;
      entry.weakMotion = a.weak === true;
      entry.words.motion = a.word;
      return;
    }
    if (a.field === "bounces") {
      if (c.motion === "resting")
        throw new PromptError(
          `contradiction: "${entry.words.motion}" and "${a.word}": a resting ${noun} cannot bounce`,
        );
      c.bounces = true;
      entry.words.bounces ??= a.word;
      return;
    }
    if (a.field === "direction" && c.motion === "resting")
      throw new PromptError(
        `contradiction: "${entry.words.motion}" and "${a.word}": a resting ${noun} cannot move ${a.value}`,
      );
    const have = c[a.field];
    if (have !== undefined && have !== a.value)
      throw new PromptError(
        `contradiction: "${entry.words[a.field]}" and "${a.word}" both give the ${FIELD_NAMES[a.field]} of one ${noun}`,
      );
    (c as Record<string, unknown>)[a.field] = a.value;
    entry.words[a.field] ??= a.word;
  }

  // -------------------------------------------------------------------------------------------
  // Numbers, articles, phrase boundaries

  private number(i: number, value: number, word: string): void {
    const next = this.tokens[i + 1];
    // "2 metres", "3 times": a measure or a bounce count, not a number of objects.
    if (next?.lex?.kind === "unit" || next?.lex?.kind === "times") {
      this.consumed.add(i + 1);
      this.flushToLastGroup();
      return;
    }
    this.flushToLastGroup();
    this.pending.number = { value, word };
  }

  private article(definite: boolean, word: string): void {
    this.flushToLastGroup();
    this.pending.article = { definite, word };
    this.pending.number = null;
  }

  /**
   * Adjectives right before a scenery noun describe the scenery ("a blue sky", "the dark sea"):
   * nothing to constrain, so they are dropped rather than pinned on an object.
   */
  private dropSceneryAdjectives(i: number): void {
    let j = i - 1;
    while (j >= 0) {
      const k = this.tokens[j].lex?.kind;
      if (k !== "color" && k !== "size" && k !== "material" && k !== "theme") break;
      j--;
    }
    this.pending.attrs = this.pending.attrs.filter(
      (a) => !(isAdjectiveField(a.field) && a.at !== undefined && a.at > j),
    );
  }

  /** Adjectives left waiting when a new phrase starts describe the last noun ("the ball is red"). */
  private flushToLastGroup(): void {
    if (!this.lastGroup || this.pending.attrs.length === 0) return;
    for (const a of this.pending.attrs) if (!a.forward) this.apply(this.lastGroup, a);
    this.pending.attrs = this.pending.attrs.filter((a) => a.forward);
  }

  /** A noun that is neither object nor occluder closes the pending determiner. */
  private closeNounPhrase(): void {
    this.pending.article = null;
    this.pending.number = null;
  }

  private endOfClause(): void {
    this.flushToLastGroup();
    this.closeNounPhrase();
    this.relation = null;
    this.lastOccluders = null;
  }

  private finishPending(): void {
    const p = this.pending;
    for (const w of p.occluderWords) this.reportUnknown(w);
    if (p.number) this.reportUnknown(p.number.word);
    if (p.attrs.length > 0) {
      // Properties with no noun at all ("red, bouncing, at night") describe one object.
      const group = [this.entries.length];
      this.entries.push({ constraint: {}, words: {}, weakMotion: false, noun: "object" });
      this.checkObjectLimit();
      for (const a of p.attrs) this.apply(group, a);
    }
    this.pending = emptyPending();
  }

  // -------------------------------------------------------------------------------------------
  // Directions, theme, camera

  private direction(i: number, value: "left" | "right"): void {
    const p1 = this.prevWord(i);
    const p2 = this.prevWord(i, 2);
    // "on the left", "at the right": where it is, not where it goes.
    if (p1 === "the" && (p2 === "on" || p2 === "at")) {
      this.place(i, value);
      return;
    }
    let dir = value;
    // "from left to right": the side it starts from is the opposite of where it goes.
    if (p1 === "from" || (p1 === "the" && p2 === "from")) dir = value === "left" ? "right" : "left";
    this.pending.article = null;
    this.describe(i, { field: "direction", value: dir, word: this.tokens[i].text });
  }

  /**
   * "on the left", "in the middle": the third of the view an object starts in. Said after an
   * object it places that object; at the start of a clause ("On the left, a ball ...") it waits
   * for the next one. Occluders have no modelled place, so a place said of one is reported.
   */
  private place(i: number, value: Place): void {
    this.pending.article = null;
    const attr: Attr = {
      field: "place",
      value,
      word: `${this.prevWord(i, 2)} the ${this.tokens[i].text}`,
    };
    const opener = this.tokens[i - 3];
    if (!opener || opener.type === "punct") {
      this.pending.attrs.push({ ...attr, forward: true });
      return;
    }
    if (this.lastOccluders && !this.beforeNoun(i)) {
      this.reportUnknown(attr.word);
      return;
    }
    this.describe(i, attr);
  }

  private themeWord(i: number, value: ThemeName): void {
    const w = this.tokens[i].text;
    const next = this.tokens[i + 1]?.lex?.kind;
    if (w === "dark" && (next === "color" || next === "shape")) {
      // Shades ("dark blue") are not modelled; say so rather than switch to night.
      this.reportUnknown(w);
      return;
    }
    if (THEME_NOUNS.has(w)) {
      this.dropSceneryAdjectives(i);
      this.closeNounPhrase();
    }
    if (this.theme && this.theme.value !== value)
      throw new PromptError(
        `contradiction: "${this.theme.word}" and "${w}" ask for two backgrounds (${this.theme.value}, ${value})`,
      );
    this.theme ??= { value, word: w };
  }

  private setCamera(value: CameraMotion, words: string): void {
    if (this.camera && this.camera.value !== value)
      throw new PromptError(
        `contradiction: "${this.camera.word}" and "${words}" ask for two camera motions (${this.camera.value}, ${value})`,
      );
    this.camera ??= { value, word: words };
  }

  private pan(i: number): void {
    const w = this.tokens[i].text;
    let from = false;
    let found: { j: number; dir: "left" | "right" } | null = null;
    for (let j = i + 1; j < Math.min(this.tokens.length, i + 7); j++) {
      const t = this.tokens[j];
      if (t.type !== "word" || !t.lex) break;
      if (t.lex.kind === "from") {
        from = true;
        continue;
      }
      if (t.lex.kind === "direction") {
        const dir = from ? opposite(t.lex.value) : t.lex.value;
        found = { j, dir };
        break;
      }
      if (t.lex.kind === "filler" || t.lex.kind === "article" || t.lex.kind === "cameraNoun")
        continue;
      break;
    }
    if (!found)
      throw new PromptError(
        `"${w}": the prompt does not say which way the camera pans (left or right)`,
      );
    this.consumed.add(found.j);
    // "panning left and right", "from left to right": look at the next direction nearby.
    for (let j = found.j + 1; j < Math.min(this.tokens.length, found.j + 4); j++) {
      const t = this.tokens[j];
      if (t.type !== "word" || !t.lex) break;
      if (t.lex.kind === "direction") {
        const joined = this.tokens.slice(found.j + 1, j).map((x) => x.text);
        if (joined.includes("to")) {
          // "pans left to right" goes where "to" points.
          if (!from) found.dir = t.lex.value;
          else if (t.lex.value !== found.dir)
            throw new PromptError(
              `contradiction: "${w} from ${this.tokens[found.j].text} ${joined.join(" ")} ${t.text}": the camera cannot pan both ways`,
            );
          this.consumed.add(j);
          break;
        }
        if (t.lex.value !== found.dir)
          throw new PromptError(
            `contradiction: "${w} ${this.tokens[found.j].text} ${joined.join(" ")} ${t.text}": the camera cannot pan both left and right`,
          );
        this.consumed.add(j);
        break;
      }
      if (t.lex.kind === "filler" || t.lex.kind === "article") continue;
      break;
    }
    this.setCamera(found.dir === "left" ? "pan-left" : "pan-right", `${w} ${found.dir}`);
  }

  private zoom(i: number): void {
    const w = this.tokens[i].text;
    for (let j = i + 1; j < Math.min(this.tokens.length, i + 4); j++) {
      const t = this.tokens[j];
      if (t.type !== "word" || !t.lex || t.lex.kind !== "filler") break;
      if (t.text === "out") throw new PromptError(`"${w} out": the camera can zoom in but not out`);
      if (t.text === "in") {
        this.consumed.add(j);
        break;
      }
    }
    this.setCamera("zoom-in", w);
  }

  /** Whether a camera noun ("camera", "shot", "view") stands in the same clause, near token i. */
  private cameraNounNear(i: number): boolean {
    for (const step of [-1, 1]) {
      for (let j = i + step, d = 1; j >= 0 && j < this.tokens.length && d <= 6; j += step, d++) {
        const t = this.tokens[j];
        if (t.type === "punct") break;
        if (t.lex?.kind === "cameraNoun") return true;
      }
    }
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Occluders

  private occluderNoun(i: number, kind: OccluderKind, plural: boolean): void {
    const w = this.tokens[i].text;
    const p = this.pending;
    // "bounces off the walls", "the side wall": the arena's own walls, not an occluder.
    const before = this.prevWord(i) === "the" ? this.prevWord(i, 2) : this.prevWord(i);
    if (kind === "wall" && (before === "off" || before === "side" || before === "against")) {
      this.closeNounPhrase();
      return;
    }
    const bad = p.attrs.find((a) => a.field !== "size");
    if (bad)
      throw new PromptError(
        `"${bad.word}" cannot describe a ${w.replace(/s$/, "")}: occluders have a fixed look and do not move`,
      );
    const layer = this.relation;
    let group: number[] = [];
    if (p.article?.definite) {
      for (let o = this.occluders.length - 1; o >= 0; o--)
        if (this.occluders[o].kind === kind) {
          group = [o];
          break;
        }
    }
    if (group.length === 0) {
      let n = plural ? 2 : 1;
      if (p.number) {
        n = p.number.value;
        if (!Number.isInteger(n) || n < 1 || n > MAX_OCCLUDERS)
          throw new PromptError(
            `"${p.number.word} ${w}": a scene holds 0 to ${MAX_OCCLUDERS} occluders`,
          );
      }
      for (let k = 0; k < n; k++) {
        group.push(this.occluders.length);
        this.occluders.push({ kind, layer: null, layerWord: "" });
      }
      if (this.occluders.length > MAX_OCCLUDERS)
        throw new PromptError(
          `the prompt asks for ${this.occluders.length} occluders; a scene holds at most ${MAX_OCCLUDERS}`,
        );
    }
    if (layer) this.setLayer(group, layer.layer, layer.word);
    this.nounPhrases++;
    this.lastOccluders = group;
    this.pending = emptyPending();
    this.relation = null;
  }

  private relationWord(layer: "front" | "back", before: boolean, word: string): void {
    // "a pillar in the foreground": after an occluder, the relation places that occluder.
    if (!before && this.lastOccluders) {
      this.setLayer(this.lastOccluders, layer, word);
      return;
    }
    this.relation = { layer, word, before };
  }

  private setLayer(group: number[], layer: "front" | "back", word: string): void {
    for (const o of group) {
      const occ = this.occluders[o];
      if (occ.layer && occ.layer !== layer)
        throw new PromptError(
          `contradiction: "${occ.layerWord}" and "${word}" put the ${occ.kind} both in front of and behind the action`,
        );
      occ.layer = layer;
      occ.layerWord = word;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Result

  private result(): ParsedPrompt {
    let count: number | undefined;
    let entries = this.entries;
    const stated = this.countStatement;
    if (stated) {
      const described = entries.length - stated.group.length;
      const statedAlone = stated.group.every((e) => Object.keys(entries[e].words).length === 0);
      if (statedAlone && described > 0) {
        // The stated total is a count, not objects of its own.
        entries = entries.filter((_, k) => !stated.group.includes(k));
        if (entries.length > stated.value)
          throw new PromptError(
            `contradiction: the prompt says "${stated.words}" but describes ${entries.length} objects`,
          );
        count = stated.value;
      } else if (statedAlone) {
        entries = [];
        count = stated.value;
      }
    }
    if (entries.length > MAX_OBJECTS)
      throw new PromptError(
        `the prompt describes ${entries.length} objects; a scene holds at most ${MAX_OBJECTS}`,
      );
    if (count === undefined && entries.length > 0 && !this.openCount) count = entries.length;
    const constraints: SceneConstraints = {
      objects: entries.map((e) => ({ ...e.constraint })),
      occluders: this.occluders.map((o) => o.kind),
    };
    if (count !== undefined) constraints.count = count;
    if (this.theme) constraints.theme = this.theme.value;
    if (this.camera) constraints.camera = this.camera.value;
    if (this.occluders.some((o) => o.layer !== null))
      constraints.occluderLayers = this.occluders.map((o) => o.layer);
    return { constraints, unknownWords: this.unknown };
  }

  /** Objects described so far (a bare count statement names none of its own) within the limit. */
  private checkObjectLimit(): void {
    const group = this.countStatement?.group ?? [];
    const bare = group.every((e) => Object.keys(this.entries[e].words).length === 0);
    const described = this.entries.length - (bare ? group.length : 0);
    if (described > MAX_OBJECTS)
      throw new PromptError(
        `the prompt describes ${described} objects; a scene holds at most ${MAX_OBJECTS}`,
      );
  }

  private reportUnknown(word: string): void {
    if (!this.unknown.includes(word)) this.unknown.push(word);
  }

  /** The word `back` tokens before i, or "" (punctuation counts as a token). */
  private prevWord(i: number, back = 1): string {
    const t = this.tokens[i - back];
    return t && t.type === "word" ? t.text : "";
  }
}

function emptyPending(): Pending {
  return { article: null, number: null, attrs: [], occluderWords: [] };
}

function isAdjectiveField(f: Field): boolean {
  return f === "color" || f === "size" || f === "material";
}

function opposite(d: "left" | "right"): "left" | "right" {
  return d === "left" ? "right" : "left";
}
