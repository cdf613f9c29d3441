import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePrompt } from "../world/prompt.ts";
import { type Bucket, bucketKey } from "./buckets.ts";
import { createWorldStream, makeWorldClip, planBatch, type WorldBatch } from "./world-stream.ts";

const buckets: Bucket[] = [
  { width: 32, height: 32, frames: 6 },
  { width: 48, height: 32, frames: 4 },
  { width: 24, height: 40, frames: 8 },
];

async function collect(opts: Parameters<typeof createWorldStream>[0]): Promise<WorldBatch[]> {
  const out: WorldBatch[] = [];
  for await (const batch of createWorldStream(opts)) out.push(batch);
  return out;
}

describe("createWorldStream", () => {
  it("yields batches whose items all share their bucket's shape", async () => {
    const batches = await collect({ seed: 7, buckets, fps: 8, batchSize: 3, batches: 6 });
    assert.equal(batches.length, 6);
    for (const batch of batches) {
      assert.equal(batch.items.length, 3);
      for (const item of batch.items) {
        assert.equal(item.video.width, batch.bucket.width);
        assert.equal(item.video.height, batch.bucket.height);
        assert.equal(item.video.frames.length, batch.bucket.frames);
        assert.equal(item.video.fps, 8);
        assert.equal(item.truth.frames.length, batch.bucket.frames);
        assert.deepEqual(item.truth.scene, item.scene);
        assert.ok(item.caption.length > 20, `caption "${item.caption}"`);
      }
    }
    // Six batches over three equally weighted buckets: more than one shape shows up.
    assert.ok(new Set(batches.map((b) => bucketKey(b.bucket))).size > 1);
  });

  it("is deterministic by seed, different across seeds, and captions vary", async () => {
    const opts = { seed: 11, buckets, fps: 8, batchSize: 2, batches: 3 };
    const a = await collect(opts);
    const b = await collect(opts);
    const c = await collect({ ...opts, seed: 12 });
    const fingerprint = (bs: WorldBatch[]) =>
      bs.map((x) => [bucketKey(x.bucket), ...x.items.map((i) => `${i.seed}:${i.caption}`)]);
    assert.deepEqual(fingerprint(a), fingerprint(b));
    assert.deepEqual(a[1].items[0].video.frames, b[1].items[0].video.frames);
    assert.notDeepEqual(fingerprint(a), fingerprint(c));
    const captions = a.flatMap((x) => x.items.map((i) => i.caption));
    assert.equal(new Set(captions).size, captions.length);
  });

  it("resumes at startBatch with exactly the batches an uninterrupted run makes", async () => {
    const opts = { seed: 3, buckets, fps: 8, batchSize: 1 };
    const whole = await collect({ ...opts, batches: 4 });
    const resumed = await collect({ ...opts, startBatch: 2, batches: 2 });
    assert.deepEqual(
      resumed.map((x) => [x.index, x.items[0].seed]),
      whole.slice(2).map((x) => [x.index, x.items[0].seed]),
    );
  });

  it("follows bucket weights", () => {
    const opts = { seed: 5, buckets, fps: 8, batchSize: 1, weights: [0, 1, 3] };
    const counts = [0, 0, 0];
    for (let i = 0; i < 400; i++) counts[buckets.indexOf(planBatch(opts, i).bucket)] += 1;
    assert.equal(counts[0], 0);
    assert.ok(counts[2] > 2 * counts[1], `counts ${counts.join(",")}`);
  });

  it("remakes a clip from its seed", async () => {
    const [batch] = await collect({ seed: 9, buckets, fps: 8, batchSize: 1, batches: 1 });
    const item = batch.items[0];
    const again = makeWorldClip(item.seed, batch.bucket, 8);
    assert.equal(again.caption, item.caption);
    assert.deepEqual(again.video.frames, item.video.frames);
  });

  it("draws the number of objects per scene from objectCounts", async () => {
    const tiny = { width: 16, height: 16, frames: 1 };
    const shown = (counts?: number[]) =>
      Array.from({ length: 200 }, (_, s) => makeWorldClip(s, tiny, 8, counts).scene.objects.length);
    assert.ok(shown([1]).every((n) => n === 1));
    assert.ok(shown([0, 0, 1]).every((n) => n === 3));
    const leaning = shown([8, 1, 1, 0]);
    const ones = leaning.filter((n) => n === 1).length;
    assert.ok(ones > 130 && ones < 185, `${ones} of 200 scenes with one object, expected ~160`);
    assert.ok(!leaning.includes(4));
    // Uniform over 1–4 without it, as before the option existed.
    const uniform = shown();
    for (let n = 1; n <= 4; n++) {
      const k = uniform.filter((m) => m === n).length;
      assert.ok(k > 30 && k < 70, `${k} of 200 scenes with ${n} objects, expected ~50`);
    }
    // The stream draws them too; the captions describe as many objects as the scenes hold, and
    // a clip remade from its seed with the same counts is the same clip.
    const [batch] = await collect({
      seed: 3,
      buckets: [tiny],
      fps: 8,
      batchSize: 4,
      batches: 1,
      objectCounts: [0, 1],
    });
    for (const item of batch.items) {
      assert.equal(item.scene.objects.length, 2);
      assert.equal(parsePrompt(item.caption).constraints.count, 2, item.caption);
      assert.equal(makeWorldClip(item.seed, tiny, 8, [0, 1]).caption, item.caption);
    }
  });

  it("rejects bad options with a clear message", async () => {
    const base = { seed: 1, buckets, fps: 8, batchSize: 1, batches: 1 };
    await assert.rejects(
      collect({ ...base, batchSize: 0 }),
      /batchSize must be a positive integer/,
    );
    await assert.rejects(collect({ ...base, buckets: [] }), /need at least one bucket/);
    await assert.rejects(collect({ ...base, fps: 0 }), /fps must be > 0/);
    await assert.rejects(collect({ ...base, weights: [1] }), /1 weights for 3 buckets/);
    await assert.rejects(collect({ ...base, weights: [0, 0, 0] }), /not all zero/);
    await assert.rejects(collect({ ...base, startBatch: -1 }), /startBatch must be a non-negative/);
    await assert.rejects(
      collect({ ...base, objectCounts: [0, 0] }),
      /object counts: .*not all zero/,
    );
    await assert.rejects(collect({ ...base, objectCounts: [1, 1, 1, 1, 1] }), /1 to 4 relative/);
    await assert.rejects(collect({ ...base, objectCounts: [1, -1] }), /non-negative.*got 1,-1/);
    assert.throws(() => makeWorldClip(1, buckets[0], 8, []), /got none/);
  });
});
