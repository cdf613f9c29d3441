/**
 * Growing a transformer deeper through `--transfer`: a 2-block tiny model with every parameter
 * set to random values (so that no block is the identity by accident) is saved, a 3-block model
 * takes its parameters, and the third block, wholly fresh, is made the identity. The grown model
 * must sample the same latents as the source from the same seed; without the zeroing it must not.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { createDevice } from "../devices.ts";
import { assertClose, scaledError } from "../testing/op-check.ts";
import { randomizeParameters } from "../testing/tiny-model.ts";
import { Rng } from "../util/rng.ts";
import { VideoAutoencoder } from "./autoencoder.ts";
import type { ModelConfig } from "./config.ts";
import { freshBlocks, loadIntoGrownDecoder, startFreshBlocksAsIdentity } from "./grow.ts";
import { getConfig } from "./registry.ts";
import { TextToVideo } from "./text-to-video.ts";
import { loadMatchingWeights, saveWeights } from "./weights.ts";

const SHAPE: [number, number, number, number] = [4, 3, 4, 4];
const CAPTION = "a red ball bounces on the grass at sunset";

it("a deeper model grown by --transfer starts as exactly the trained one", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "zoetrope-grow-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const device = await createDevice({ kind: "cpu" });
  const cfg2 = getConfig("tiny");
  const cfg3: ModelConfig = { ...cfg2, name: "tiny-3", dit: { ...cfg2.dit, layers: 3 } };
  const source = new TextToVideo(device, new Rng(1), cfg2);
  const rng = new Rng(5);
  await randomizeParameters(source, rng, 0.2);
  const file = join(dir, "source.safetensors");
  await saveWeights(file, source, "text-to-video", cfg2);
  const sample = async (m: TextToVideo) => {
    const x = await m.sampleLatents([CAPTION], SHAPE, { seed: 3, steps: 4, guidance: 2 });
    const v = await x.toArray();
    x.dispose();
    return v;
  };
  const want = await sample(source);

  const plain = new TextToVideo(device, new Rng(2), cfg3);
  const got = await loadMatchingWeights(file, plain, "text-to-video");
  assert.deepEqual(freshBlocks(plain, got.kept), [2]);
  const ungrown = await sample(plain);
  assert.ok(scaledError(ungrown, want) > 1e-3, "a fresh block left as drawn changes the output");

  const grown = new TextToVideo(device, new Rng(2), cfg3);
  const got2 = await loadMatchingWeights(file, grown, "text-to-video");
  assert.deepEqual(await startFreshBlocksAsIdentity(grown, got2.kept), [2]);
  const same = await sample(grown);
  assertClose(same, want, 1e-5, "the grown model's sample");
  // The new block's other parameters keep their fresh draws: it can learn.
  const s = await grown.stateDict();
  assert.ok(s["dit.block2.mlp.fc1.weight"].some((v) => v !== 0));
  assert.ok(s["dit.block2.cross.proj.weight"].every((v) => v === 0));
  // A model that took every parameter has no fresh block and is left alone.
  assert.deepEqual(await startFreshBlocksAsIdentity(source, []), []);
});

it("a decoder grown by --decoder-blocks decodes as the trained one and keeps its encoder", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "zoetrope-grow-decoder-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const device = await createDevice({ kind: "cpu" });
  const cfg = getConfig("tiny").ae;
  const source = new VideoAutoencoder(device, new Rng(1), cfg);
  const rng = new Rng(6);
  await randomizeParameters(source, rng, 0.2);
  const file = join(dir, "autoencoder.safetensors");
  await saveWeights(file, source, "autoencoder", cfg);

  const grown = new VideoAutoencoder(device, new Rng(2), { ...cfg, decoderBlocks: 3 });
  const added = await loadIntoGrownDecoder(file, grown);
  assert.deepEqual(added.sort(), [
    "block0_1",
    "block0_2",
    "block1_1",
    "block1_2",
    "block2_1",
    "block2_2",
  ]);
  const clip = device.randn([1, 3, 5, 16, 16], new Rng(3), 0.5);
  const run = async (ae: VideoAutoencoder) => {
    const z = await ae.encodeFrames(clip);
    const x = await ae.decodeLatent(z);
    return { z: await z.toArray(), x: await x.toArray() };
  };
  const a = await run(source);
  const b = await run(grown);
  assert.deepEqual(b.z, a.z, "the encoder is the file's");
  assertClose(b.x, a.x, 1e-5, "the grown decoder starts as the file's");
  // A decoder that is not the file's (other channels) is refused, naming what did not load.
  const other = new VideoAutoencoder(device, new Rng(2), {
    ...cfg,
    channels: [8, 16, 24],
    decoderBlocks: 2,
  });
  await assert.rejects(loadIntoGrownDecoder(file, other), /does not load into a decoder grown/);
});
