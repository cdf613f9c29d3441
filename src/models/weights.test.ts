import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { decodeWeights, encodeWeights } from "../io/safetensors.ts";
import { Linear } from "../nn/linear.ts";
import { createDevice } from "../tensor/device.ts";
import { Rng } from "../util/rng.ts";
import { VideoAutoencoder } from "./autoencoder.ts";
import { getConfig } from "./registry.ts";
import { TextToVideo } from "./text-to-video.ts";
import { loadMatchingWeights, loadWeights, readWeights, saveWeights } from "./weights.ts";

const device = await createDevice({ kind: "cpu" });
const dir = await mkdtemp(join(tmpdir(), "zoetrope-weights-"));
after(() => rm(dir, { recursive: true, force: true }));
const cfg = getConfig("tiny");

describe("weight files", () => {
  it("round-trip a model exactly, with its config and metadata", async () => {
    const file = join(dir, "t2v.safetensors");
    const a = new TextToVideo(device, new Rng(1), cfg);
    await saveWeights(file, a, "text-to-video", cfg, { step: "120" });
    const b = new TextToVideo(device, new Rng(2), cfg);
    const saved = await loadWeights(file, b, "text-to-video", cfg);
    assert.equal(saved.metadata.step, "120");
    assert.deepEqual(saved.config, cfg);
    assert.deepEqual(await b.stateDict(), await a.stateDict());
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith(".tmp")),
      [],
      "no temporary file is left",
    );
    // The container is standard safetensors: header length, JSON header, aligned data.
    const bytes = await readFile(file);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + headerLen) % 8, 0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString());
    assert.equal(header.__metadata__.kind, "text-to-video");
    assert.equal(header["dit.patch_embed.weight"].dtype, "F32");
  });

  it("name the file and the problem: missing, truncated, corrupt, another network or config", async () => {
    const file = join(dir, "ae.safetensors");
    const ae = new VideoAutoencoder(device, new Rng(1), cfg.ae);
    await saveWeights(file, ae, "autoencoder", cfg.ae);
    const good = await readFile(file);
    const missing = join(dir, "nope.safetensors");
    await assert.rejects(
      loadWeights(missing, ae, "autoencoder", cfg.ae),
      (e: Error) => e.message.includes(missing) && /no such weight file/.test(e.message),
    );
    const cut = join(dir, "cut.safetensors");
    await writeFile(cut, good.subarray(0, good.length - 10));
    await assert.rejects(
      loadWeights(cut, ae, "autoencoder", cfg.ae),
      /cut\.safetensors: .*truncated/,
    );
    await writeFile(cut, good.subarray(0, 5));
    await assert.rejects(loadWeights(cut, ae, "autoencoder", cfg.ae), /truncated \(5 bytes/);
    const bad = join(dir, "bad.safetensors");
    const corrupt = Uint8Array.from(good);
    corrupt[9] = 0x7b; // "{{" breaks the JSON
    corrupt[8] = 0x7b;
    await writeFile(bad, corrupt);
    await assert.rejects(
      loadWeights(bad, ae, "autoencoder", cfg.ae),
      /bad\.safetensors: the header is not valid JSON/,
    );
    await assert.rejects(
      loadWeights(file, ae, "text-to-video", cfg),
      /holds autoencoder weights, expected text-to-video/,
    );
    const other = { ...cfg.ae, latentChannels: 8 };
    const ae8 = new VideoAutoencoder(device, new Rng(1), other);
    await assert.rejects(
      loadWeights(file, ae8, "autoencoder", other),
      /another config: config\.latentChannels: file has 4, model has 8/,
    );
    const before = await ae8.stateDict();
    // A file whose config matches but whose tensors do not: the model is left untouched.
    const forged = join(dir, "forged.safetensors");
    const content = decodeWeights(good, "good");
    content.metadata.config = JSON.stringify(other);
    await writeFile(forged, encodeWeights(content));
    await assert.rejects(
      loadWeights(forged, ae8, "autoencoder", other),
      /forged\.safetensors: parameter "encoder\.head\.weight" is \[4,16,3,3,3\] in the file but \[8,16,3,3,3\]/,
    );
    assert.deepEqual(await ae8.stateDict(), before);
    delete content.tensors["decoder.head.bias"];
    content.metadata.config = JSON.stringify(cfg.ae);
    await writeFile(forged, encodeWeights(content));
    await assert.rejects(
      loadWeights(forged, ae, "autoencoder", cfg.ae),
      /missing parameter "decoder\.head\.bias"/,
    );
    await writeFile(forged, encodeWeights({ metadata: {}, tensors: {} }));
    await assert.rejects(readWeights(forged), /not a Zoetrope weight file/);
    content.tensors["decoder.head.bias"] = {
      shape: [24],
      data: new Float32Array(24).fill(Number.NaN),
    };
    await writeFile(forged, encodeWeights(content));
    await assert.rejects(loadWeights(forged, ae, "autoencoder", cfg.ae), /non-finite value at 0/);
    for (const bad of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const data = new Float32Array(24).fill(0.5);
      data[17] = bad;
      content.tensors["decoder.head.bias"] = { shape: [24], data };
      await writeFile(forged, encodeWeights(content));
      await assert.rejects(
        loadWeights(forged, ae, "autoencoder", cfg.ae),
        /"decoder\.head\.bias" holds a non-finite value at 17/,
      );
    }
  });

  it("transfer what matches to a model with more latent channels, and keep the rest", async () => {
    const file = join(dir, "t2v-c4.safetensors");
    const a = new TextToVideo(device, new Rng(1), cfg);
    await saveWeights(file, a, "text-to-video", cfg);
    const wide = { ...cfg, dit: { ...cfg.dit, latentChannels: 2 * cfg.dit.latentChannels } };
    const b = new TextToVideo(device, new Rng(2), wide);
    const before = await b.stateDict();
    const got = await loadMatchingWeights(file, b, "text-to-video");
    const after = await b.stateDict();
    const from = await a.stateDict();
    // The patch projections in and out change shape with the latent channels; nothing else does.
    assert.deepEqual(got.kept.sort(), got.unused.sort());
    assert.ok(got.kept.length >= 2 && got.kept.length <= 4, got.kept.join(", "));
    assert.ok(got.kept.some((p) => p.startsWith("dit.patch_embed")));
    assert.equal(got.loaded.length + got.kept.length, Object.keys(after).length);
    for (const p of got.loaded) assert.deepEqual(after[p], from[p], p);
    for (const p of got.kept) assert.deepEqual(after[p], before[p], p);
    // Another network, or one that shares nothing, is refused and leaves the model as it was.
    await assert.rejects(loadMatchingWeights(file, b, "autoencoder"), /holds text-to-video/);
    const strange = join(dir, "ae-shares-nothing.safetensors");
    await saveWeights(strange, new Linear(device, new Rng(1), 3, 5), "autoencoder", cfg.ae);
    const c = new VideoAutoencoder(device, new Rng(3), cfg.ae);
    const cBefore = await c.stateDict();
    await assert.rejects(loadMatchingWeights(strange, c, "autoencoder"), /shares no parameter/);
    assert.deepEqual(await c.stateDict(), cBefore);
  });
});
