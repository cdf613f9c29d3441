import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createDevice } from "../devices.ts";
import { MLP } from "../nn/mlp.ts";
import { Rng } from "../util/rng.ts";
import { loadModule, saveModule } from "./module-weights.ts";
import { decodeWeights, readWeights, writeWeights } from "./safetensors.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-weights-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function randomTensors(seed: number, shapes: Record<string, number[]>) {
  const rng = new Rng(seed);
  return Object.fromEntries(
    Object.entries(shapes).map(([k, shape]) => {
      const data = new Float32Array(shape.reduce((p, d) => p * d, 1));
      for (let i = 0; i < data.length; i++) data[i] = rng.normal();
      return [k, { shape, data }];
    }),
  );
}

describe("safetensors weights", () => {
  it("round-trips f32 exactly and f16 to half precision, with the config in __metadata__", async () => {
    const tensors = randomTensors(1, { "a.weight": [3, 5], "a.bias": [5], scalar: [] });
    const metadata = { config: JSON.stringify({ dim: 5 }), step: "12" };
    const p32 = join(dir, "w32.safetensors");
    await writeWeights(p32, { tensors, metadata });
    const r32 = await readWeights(p32);
    assert.deepEqual(r32.metadata, metadata);
    for (const [k, t] of Object.entries(tensors)) {
      assert.deepEqual(r32.tensors[k].shape, t.shape);
      assert.deepEqual(r32.tensors[k].data, t.data);
    }
    const p16 = join(dir, "w16.safetensors");
    await writeWeights(p16, { tensors, metadata }, { dtype: "F16" });
    const r16 = await readWeights(p16);
    const w = tensors["a.weight"].data;
    r16.tensors["a.weight"].data.forEach((v, i) => {
      assert.ok(Math.abs(v - w[i]) <= 1e-3 * Math.max(1, Math.abs(w[i])), `f16 value ${i}`);
    });
    // The header starts the data 8-byte aligned, as the format recommends.
    const bytes = await readFile(p16);
    assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0);
  });

  it("splits large weights into shards under the limit with an index, and reads them back whole", async () => {
    const tensors = randomTensors(2, { x: [100, 10], y: [300], z: [50, 4], w: [10] });
    const p = join(dir, "big.safetensors");
    const files = await writeWeights(
      p,
      { tensors, metadata: { name: "big" } },
      { shardBytes: 2000 },
    );
    assert.ok(files.length >= 3, `shards and index: ${files}`);
    assert.ok(files.some((f) => f.endsWith("big.safetensors.index.json")));
    for (const f of files.filter((f) => f.endsWith(".safetensors")))
      assert.match(f, /big-0000\d-of-0000\d\.safetensors$/);
    const r = await readWeights(p);
    assert.deepEqual(Object.keys(r.tensors).sort(), ["w", "x", "y", "z"]);
    assert.deepEqual(r.tensors.y.data, tensors.y.data);
    assert.deepEqual(r.metadata, { name: "big" });
  });

  it("names the file and the problem for missing, truncated, corrupt and inconsistent files", async () => {
    const p = join(dir, "ok.safetensors");
    await writeWeights(p, { tensors: randomTensors(3, { a: [4, 4] }), metadata: {} });
    await assert.rejects(
      readWeights(join(dir, "nope.safetensors")),
      /nope\.safetensors: no such weight file/,
    );
    const truncated = join(dir, "trunc.safetensors");
    await writeFile(truncated, await readFile(p));
    await truncate(truncated, (await readFile(p)).length - 10);
    await assert.rejects(
      readWeights(truncated),
      /trunc\.safetensors: tensor "a" ends at byte 64 .*truncated/,
    );
    const garbage = join(dir, "garbage.safetensors");
    await writeFile(garbage, Buffer.from("this is not a weight file at all"));
    await assert.rejects(
      readWeights(garbage),
      /garbage\.safetensors: header of \d+ bytes does not fit/,
    );
    const tiny = join(dir, "tiny.safetensors");
    await writeFile(tiny, Buffer.from([1, 2, 3]));
    await assert.rejects(readWeights(tiny), /tiny\.safetensors: truncated/);
    // A header whose byte count disagrees with the shape.
    const bad = Buffer.from(await readFile(p));
    const text = bad.toString("latin1").replace('"shape":[4,4]', '"shape":[4,5]');
    assert.throws(
      () => decodeWeights(new Uint8Array(Buffer.from(text, "latin1")), "bad"),
      /bad: tensor "a" has 64 bytes for F32 \[4, 5\]/,
    );
  });

  it("leaves an existing file untouched and no partial files when a write is refused", async () => {
    const p = join(dir, "keep.safetensors");
    await writeWeights(p, { tensors: randomTensors(4, { a: [2] }), metadata: { v: "1" } });
    const before = await readFile(p);
    await assert.rejects(
      writeWeights(p, { tensors: { a: { shape: [3], data: new Float32Array(2) } }, metadata: {} }),
      /tensor "a" has 2 values for shape \[3\]/,
    );
    await assert.rejects(
      writeWeights(join(dir, "missing-folder", "x.safetensors"), {
        tensors: randomTensors(5, { a: [2] }),
        metadata: {},
      }),
      /could not write/,
    );
    assert.deepEqual(await readFile(p), before);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes("partial")),
      [],
    );
  });
});

describe("module weights", () => {
  it("saves and loads a module, and refuses weights of another shape or model", async () => {
    const device = await createDevice({ kind: "cpu" });
    const a = new MLP(device, new Rng(1), 4, 6);
    const b = new MLP(device, new Rng(2), 4, 6);
    const p = join(dir, "mlp.safetensors");
    await saveModule(a, p, { config: '{"dim":4}' });
    assert.deepEqual(await loadModule(b, p), { config: '{"dim":4}' });
    assert.deepEqual(await b.stateDict(), await a.stateDict());
    const wider = new MLP(device, new Rng(3), 4, 8);
    await assert.rejects(
      loadModule(wider, p),
      /mlp\.safetensors: parameter "fc1\.weight" is \[6,4\] in the file but \[8,4\] in the model/,
    );
  });
});
