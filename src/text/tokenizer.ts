/**
 * The caption tokenizer: one token per word of the world's lexicon (every word the caption
 * grammar writes and the prompt parser reads), inflections split into a known stem plus a
 * suffix token ("pillars" → "pillar" "##s"), punctuation as its own tokens, and a byte fallback
 * (one token per UTF-8 byte) for anything else, so that no word is ever dropped: `decode`
 * gives back the normalised text of whatever was encoded.
 *
 * Sequences have a fixed length: [BOS, tokens..., PAD...]. The text encoder reads its pooled
 * vector at the BOS position. The empty caption (classifier-free guidance's unconditional
 * input, and the 10 % of training captions that are dropped) is [BOS, EMPTY, PAD...], so it is
 * a token the model learns rather than a sequence of padding.
 *
 * Token ids depend on the word list; `vocabHash` fingerprints it so that weights trained with
 * one vocabulary are refused by another.
 */
import { LEXICON } from "../world/vocabulary.ts";

export const PAD = 0;
export const BOS = 1;
export const EMPTY = 2;
/** Marks that a long caption was cut to fit the sequence length. */
export const TRUNCATED = 3;
const SPECIALS = ["<pad>", "<bos>", "<empty>", "<truncated>"];
/** Punctuation the caption grammar and prompts use; other characters go through bytes. */
const PUNCTUATION = [".", ",", "-", "'", "!", "?", ";", ":", "(", ")", '"'];
/** Suffixes tried, longest first, when a word is not in the lexicon. */
const SUFFIXES = ["ing", "es", "ed", "s", "ly", "er", "est"];

export interface Encoded {
  /** Token ids, length `length` (i32-ready). */
  ids: Int32Array;
  /** How many tokens carry content (BOS included); the rest is padding. */
  used: number;
  /** Whether the caption was longer than fits. */
  truncated: boolean;
}

export class Tokenizer {
  private readonly toId = new Map<string, number>();
  readonly tokens: readonly string[];
  private readonly byteBase: number;

  constructor(words: readonly string[]) {
    const tokens: string[] = [...SPECIALS];
    const seen = new Set<string>();
    const add = (t: string) => {
      if (seen.has(t)) return;
      seen.add(t);
      tokens.push(t);
    };
    for (const p of PUNCTUATION) add(p);
    for (const s of SUFFIXES) add(`##${s}`);
    // "~s" suffixes mean "the stem's final e was dropped" (slide → sliding), so decode is exact.
    for (const s of SUFFIXES) add(`#~${s}`);
    for (const w of [...words].sort()) {
      if (!/^[a-z]+$/.test(w)) throw new Error(`Tokenizer: word "${w}" is not lower-case letters`);
      add(w);
    }
    this.byteBase = tokens.length;
    for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).padStart(2, "0")}>`);
    tokens.forEach((t, i) => {
      this.toId.set(t, i);
    });
    this.tokens = tokens;
  }

  /** The tokenizer over the world's lexicon. */
  static world(): Tokenizer {
    return new Tokenizer([...LEXICON.keys()].filter((w) => /^[a-z]+$/.test(w)));
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  /** FNV-1a of the token list: equal hashes mean equal ids for every token. */
  get vocabHash(): string {
    let h = 0x811c9dc5;
    for (const t of this.tokens) {
      for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193) >>> 0;
      h = Math.imul(h ^ 0x1f, 0x01000193) >>> 0;
    }
    return h.toString(16).padStart(8, "0");
  }

  /** Content tokens of `text` (no BOS, no padding). */
  tokenize(text: string): number[] {
    if (typeof text !== "string")
      throw new Error(`Tokenizer: text must be a string, got ${typeof text}`);
    const out: number[] = [];
    // Words are runs of letters; everything else is one character at a time (spaces dropped).
    for (const piece of text
      .toLowerCase()
      .normalize("NFC")
      .match(/\p{L}+|\p{N}+|\S/gu) ?? []) {
      if (/^[a-z]+$/.test(piece)) this.word(piece, out);
      else {
        const id = this.toId.get(piece);
        if (id !== undefined && PUNCTUATION.includes(piece)) out.push(id);
        else this.bytes(piece, out);
      }
    }
    return out;
  }

  private word(w: string, out: number[]): void {
    const id = this.toId.get(w);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    for (const s of SUFFIXES) {
      if (w.length <= s.length + 1 || !w.endsWith(s)) continue;
      const stem = w.slice(0, -s.length);
      // "boxes" → "box" + "##es"; "rolling" → "roll" + "##ing"; "sliding" → "slid" (unknown), so
      // also try the stem with a final "e" restored, as the grammar's verbs drop it.
      for (const [candidate, mark] of [
        [stem, "##"],
        [`${stem}e`, "#~"],
      ]) {
        const sid = this.toId.get(candidate);
        if (sid !== undefined) {
          out.push(sid, this.toId.get(`${mark}${s}`) as number);
          return;
        }
      }
    }
    this.bytes(w, out);
  }

  private bytes(s: string, out: number[]): void {
    for (const b of new TextEncoder().encode(s)) out.push(this.byteBase + b);
  }

  /**
   * A fixed-length sequence [BOS, tokens..., PAD...] of `length` ids. The empty string (after
   * trimming) is [BOS, EMPTY, PAD...]. Captions too long keep their first length − 2 tokens and
   * end in TRUNCATED, so the cut is visible rather than silent.
   */
  encode(text: string, length: number): Encoded {
    if (!Number.isInteger(length) || length < 2)
      throw new Error(`Tokenizer.encode: length must be an integer ≥ 2, got ${length}`);
    let content = this.tokenize(text);
    if (content.length === 0) content = [EMPTY];
    let truncated = false;
    if (content.length > length - 1) {
      content = [...content.slice(0, length - 2), TRUNCATED];
      truncated = true;
    }
    const ids = new Int32Array(length);
    ids[0] = BOS;
    ids.set(content, 1);
    return { ids, used: 1 + content.length, truncated };
  }

  /** Text back from ids: words joined by spaces, suffixes and bytes re-attached, specials skipped. */
  decode(ids: ArrayLike<number>): string {
    const words: string[] = [];
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length) words.push(new TextDecoder().decode(Uint8Array.from(bytes)));
      bytes = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length)
        throw new Error(
          `Tokenizer.decode: id ${id} at ${i} is outside 0..${this.tokens.length - 1}`,
        );
      if (id < SPECIALS.length) continue;
      if (id >= this.byteBase) {
        bytes.push(id - this.byteBase);
        continue;
      }
      flush();
      const t = this.tokens[id];
      const last = words.length - 1;
      if (t.startsWith("##") && last >= 0) words[last] += t.slice(2);
      else if (t.startsWith("#~") && last >= 0) words[last] = words[last].slice(0, -1) + t.slice(2);
      else words.push(t);
    }
    flush();
    return words.join(" ");
  }
}
