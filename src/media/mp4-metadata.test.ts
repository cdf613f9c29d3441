import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseFfmetadata, readMp4Metadata } from "./mp4-metadata.ts";
import type { Video } from "./video.ts";
import { writeMp4 } from "./write-mp4.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-mp4-meta-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function grey(frames: number): Video {
  return {
    width: 16,
    height: 16,
    fps: 8,
    frames: Array.from({ length: frames }, (_, i) => new Uint8Array(16 * 16 * 3).fill(40 + i * 20)),
  };
}

describe("MP4 metadata", () => {
  it("stores text tags that come back exactly, awkward characters included", async () => {
    const path = join(dir, "tagged.mp4");
    const metadata = {
      prompt: 'a red ball; "bounces" = fun #1 \\ on the grass',
      caption: "First line.\nSecond line, ünïcode ✓.",
      seed: "42",
      zoetrope_model: "world-s",
    };
    await writeMp4(grey(3), path, { metadata });
    const back = await readMp4Metadata(path);
    for (const [k, v] of Object.entries(metadata)) assert.equal(back[k], v, k);
  });

  it("refuses keys that would not survive the container, before writing anything", async () => {
    const path = join(dir, "refused.mp4");
    await assert.rejects(
      writeMp4(grey(1), path, { metadata: { "bad key": "x" } }),
      /metadata key "bad key"/,
    );
    await assert.rejects(readMp4Metadata(path), /cannot read the metadata of .*refused\.mp4/);
  });

  it("parses ffmetadata escapes and stops at the first section", () => {
    const text = ";FFMETADATA1\na\\=b=c\\;d\nmulti=one\\\ntwo\n[STREAM]\nx=y\n";
    assert.deepEqual(parseFfmetadata(text), { "a=b": "c;d", multi: "one\ntwo" });
    assert.throws(() => parseFfmetadata("key=value\n"), /not ffmetadata/);
  });
});
