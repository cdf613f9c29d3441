import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeWorldClip } from "../data/world-stream.ts";
import { LEXICON } from "../world/vocabulary.ts";
import { BOS, EMPTY, PAD, Tokenizer, TRUNCATED } from "./tokenizer.ts";

const tk = Tokenizer.world();

describe("caption tokenizer", () => {
  it("gives every word of 100 world captions its own token and decodes them back", () => {
    for (let seed = 0; seed < 100; seed++) {
      const { caption } = makeWorldClip(seed, { width: 8, height: 8, frames: 1 }, 8);
      const ids = tk.tokenize(caption);
      const words = caption.toLowerCase().match(/[a-z]+/g) ?? [];
      // Captions use only lexicon words: one token per word, plus one per punctuation mark.
      const punct = caption.match(/[^a-z\s]/gi) ?? [];
      assert.equal(ids.length, words.length + punct.length, caption);
      assert.deepEqual(tk.decode(ids).match(/[a-z]+/g), words);
    }
  });

  it("splits inflections into a known stem and a suffix, and falls back to bytes otherwise", () => {
    assert.ok(!LEXICON.has("pillarses"));
    const ids = tk.tokenize("Zorbs wobbling near pillars, ünïcode 1.7");
    const text = tk.decode(ids);
    for (const w of ["zorbs", "wobbling", "pillars", "ünïcode", "1", "7"])
      assert.ok(text.includes(w), `"${w}" survives in "${text}"`);
    const inflected = tk.tokenize("crates");
    assert.equal(tk.decode(inflected), "crates");
    // A word whose stem lost its final e ("slide" → "sliding") decodes exactly.
    const small = new Tokenizer(["slide", "box"]);
    assert.equal(small.tokenize("sliding").length, 2);
    assert.equal(small.decode(small.tokenize("sliding boxes")), "sliding boxes");
    // Unknown words cost one token per byte.
    assert.equal(tk.tokenize("qqq").length, 3);
  });

  it("encodes fixed-length sequences: BOS first, EMPTY for no caption, a visible cut", () => {
    const a = tk.encode("a red ball", 8);
    assert.equal(a.ids.length, 8);
    assert.equal(a.ids[0], BOS);
    assert.equal(a.used, 4);
    assert.deepEqual([...a.ids.slice(4)], [PAD, PAD, PAD, PAD]);
    assert.deepEqual([...tk.encode("  ", 4).ids], [BOS, EMPTY, PAD, PAD]);
    const long = tk.encode("one two three four five six", 5);
    assert.ok(long.truncated);
    assert.equal(long.ids[4], TRUNCATED);
    assert.equal(tk.decode(long.ids), "one two three");
    assert.throws(() => tk.encode("x", 1), /length must be an integer ≥ 2/);
    assert.throws(() => tk.decode([tk.vocabSize]), /outside/);
  });

  it("fingerprints its vocabulary", () => {
    assert.equal(tk.vocabHash, Tokenizer.world().vocabHash);
    assert.notEqual(new Tokenizer(["red", "ball"]).vocabHash, tk.vocabHash);
    assert.throws(() => new Tokenizer(["Red"]), /not lower-case/);
  });
});
