/**
 * How long the world's training captions are in the text encoder's tokens: the share a given
 * `maxTokens` would cut off. `npx tsx bench/caption-lengths.ts [--clips 400] [--limits 128,160]`
 */
import { parseArgs } from "node:util";
import { makeWorldClip } from "../src/data/world-stream.ts";
import { Tokenizer } from "../src/text/tokenizer.ts";

const { values } = parseArgs({
  options: {
    clips: { type: "string", default: "400" },
    limits: { type: "string", default: "128,160" },
  },
});
const clips = Number(values.clips);
const limits = values.limits.split(",").map(Number);
if (!Number.isInteger(clips) || clips < 1)
  throw new Error(`--clips must be a positive integer, got ${values.clips}`);
if (limits.some((l) => !Number.isInteger(l) || l < 2))
  throw new Error(`--limits must be integers ≥ 2, got ${values.limits}`);

const tokenizer = Tokenizer.world();
const lengths: number[] = [];
for (let i = 0; i < clips; i++) {
  // The training stream's 17-frame clips at 8 fps, seeds spread over the 32-bit range.
  const clip = makeWorldClip((i * 2654435761) >>> 0, { width: 64, height: 64, frames: 17 }, 8);
  lengths.push(tokenizer.encode(clip.caption, 10_000).used);
}
lengths.sort((a, b) => a - b);
const at = (q: number) => lengths[Math.min(lengths.length - 1, Math.floor(q * lengths.length))];
console.log(
  `${clips} training captions: median ${at(0.5)} tokens, p95 ${at(0.95)}, max ${lengths.at(-1)}`,
);
for (const l of limits) {
  const over = lengths.filter((n) => n > l).length;
  console.log(`  over ${l}: ${over} (${((100 * over) / clips).toFixed(1)}%)`);
}
