/**
 * What the CLI refuses in a prompt before anything is rendered or measured, using what the
 * parser reports (src/world/prompt.ts): a prompt of which nothing was understood (it would give a
 * random scene), and negation the parser does not understand ("no balls" would otherwise show
 * balls: the negating word is dropped as unknown and the rest is honoured — the opposite of what
 * was asked). Words that are merely unknown beside understood ones only warrant a warning.
 */
import type { SceneConstraints } from "../world/constraints.ts";
import { parsePrompt } from "../world/prompt.ts";

/** Words that negate what follows; if the parser does not know one, the prompt is refused. */
const NEGATIONS = new Set([
  "no",
  "not",
  "without",
  "none",
  "nothing",
  "never",
  "neither",
  "nor",
  "nobody",
  "cannot",
  "except",
  "minus",
  "lacking",
  "absent",
]);

const CONTRACTIONS = new Set(
  "cant dont doesnt didnt isnt arent wasnt werent wont shouldnt wouldnt couldnt hasnt havent".split(
    " ",
  ),
);

function isNegation(word: string): boolean {
  // "isn't", "don't", and the same typed without the apostrophe.
  return NEGATIONS.has(word) || /n['’]t$/.test(word) || CONTRACTIONS.has(word);
}

function pinsNothing(c: SceneConstraints): boolean {
  return (
    c.objects.length === 0 &&
    c.occluders.length === 0 &&
    c.theme === undefined &&
    c.camera === undefined &&
    c.count === undefined
  );
}

/**
 * Parses `prompt` and throws a clear Error for a prompt the world cannot honour; returns the
 * unknown words (to be warned about) otherwise. Contradictions throw the parser's own error.
 */
export function checkPrompt(prompt: string): string[] {
  const { constraints, unknownWords } = parsePrompt(prompt);
  const negations = unknownWords.filter(isNegation);
  if (negations.length > 0) {
    const quoted = negations.map((w) => `"${w}"`).join(", ");
    throw new Error(
      `the prompt says what not to show (${quoted}), which the world cannot honour: it would drop ${negations.length === 1 ? "that word" : "those words"} and show the rest. Describe only what should be in the clip`,
    );
  }
  if (pinsNothing(constraints)) {
    const which =
      unknownWords.length > 0
        ? `none of its words are known to the world (not understood: ${unknownWords.join(", ")})`
        : "it names nothing the world can show";
    throw new Error(
      `the prompt ${JSON.stringify(prompt)} cannot be used: ${which}. Name objects, colours, motions or a setting, e.g. "a red ball bouncing at night"`,
    );
  }
  return unknownWords;
}
