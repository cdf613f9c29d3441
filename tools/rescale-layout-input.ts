/**
 * Divides the layout columns of a text-to-video model's patch projection by `factor`, for weights
 * trained when the layout channels were `factor` times smaller (LAYOUT_SCALE 1, the first 1,250
 * steps of session 14's run): with today's channels the model computes exactly what it did then.
 *
 *   npx tsx tools/rescale-layout-input.ts <in text-to-video.safetensors> <out .safetensors> <factor>
 */
import { createDevice } from "../src/devices.ts";
import { ditInputChannels } from "../src/models/dit.ts";
import { layoutChannelCount } from "../src/models/layout-input.ts";
import { TextToVideo } from "../src/models/text-to-video.ts";
import { loadWeights, readWeights, saveWeights } from "../src/models/weights.ts";
import { Rng } from "../src/util/rng.ts";

const [from, to, factorText] = process.argv.slice(2);
const factor = Number(factorText);
if (!from || !to || !(factor > 0))
  throw new Error("usage: rescale-layout-input.ts <in> <out> <factor > 0>");
const saved = await readWeights(from);
const cfg = saved.config as ConstructorParameters<typeof TextToVideo>[2];
if (!cfg.dit.startLayout) throw new Error(`${from}: the model takes no layout`);
const device = await createDevice({ kind: "cpu" });
const t2v = new TextToVideo(device, new Rng(0), cfg);
await loadWeights(from, t2v, "text-to-video", cfg, saved);
const state = await t2v.stateDict();
const w = state["dit.patch_embed.weight"]; // [dim, Ci·P], features in (channel, dt, dy, dx) order
const p = cfg.dit.patch[0] * cfg.dit.patch[1] * cfg.dit.patch[2];
const inputs = ditInputChannels(cfg.dit) * p;
const first = (ditInputChannels(cfg.dit) - layoutChannelCount(cfg.dit)) * p; // the layout channels come last
for (let o = 0; o < w.length / inputs; o++)
  for (let i = first; i < inputs; i++) w[o * inputs + i] /= factor;
t2v.loadStateDict(state);
const { format: _f, kind: _k, config: _c, ...extra } = saved.metadata;
await saveWeights(to, t2v, "text-to-video", cfg, extra);
console.log(
  `wrote ${to}: layout columns ${first}–${inputs - 1} of the patch projection ÷ ${factor}`,
);
