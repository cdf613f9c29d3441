import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Video } from "../media/video.ts";
import { writeMp4 } from "../media/write-mp4.ts";
import { importFolder, scanFolder } from "./import-folder.ts";

/** A clip whose every pixel of frame t is (t * 10, 100, 200 - t * 10): frames are tellable. */
function ramp(width: number, height: number, count: number, fps: number): Video {
  const frames = Array.from({ length: count }, (_, t) => {
    const f = new Uint8Array(width * height * 3);
    for (let i = 0; i < f.length; i += 3) f.set([t * 10, 100, 200 - t * 10], i);
    return f;
  });
  return { width, height, fps, frames };
}

let root = "";
before(async () => {
  root = await mkdtemp(join(tmpdir(), "zoetrope-import-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function goodFolder(): Promise<string> {
  const dir = await mkdtemp(join(root, "good-"));
  await writeMp4(ramp(127, 73, 20, 20), join(dir, "wide.mp4"));
  await writeFile(join(dir, "wide.txt"), "a wide clip\n");
  await writeMp4(ramp(32, 48, 8, 8), join(dir, "tall.mp4"));
  await writeFile(join(dir, "tall.txt"), "a tall clip");
  await mkdir(join(dir, "clip-0001"));
  await writeMp4(ramp(40, 40, 6, 6), join(dir, "clip-0001", "clip.mp4"));
  await writeFile(join(dir, "clip-0001", "caption.txt"), "an exported clip");
  await writeFile(join(dir, "readme.md"), "not a clip");
  return dir;
}

describe("importFolder", () => {
  it("decodes every clip with its caption and reports source sizes", async () => {
    const dir = await goodFolder();
    const { clips, problems } = await importFolder(dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      clips.map((c) => [c.name, c.caption, c.video.width, c.video.height, c.video.frames.length]),
      [
        ["tall", "a tall clip", 32, 48, 8],
        ["wide", "a wide clip", 127, 73, 20],
        ["clip-0001", "an exported clip", 40, 40, 6],
      ],
    );
    assert.equal(clips[1].source.fps, 20);
    assert.equal(clips[1].source.width, 127);
    assert.equal(clips[1].bucket, undefined);
  });

  it("fits clips to their nearest bucket, cropping, resampling and cutting", async () => {
    const dir = await goodFolder();
    const buckets = [
      { width: 32, height: 32, frames: 4 },
      { width: 48, height: 32, frames: 5 },
      { width: 48, height: 32, frames: 40 },
      { width: 16, height: 24, frames: 3 },
    ];
    const { clips } = await importFolder(dir, { buckets, fps: 10 });
    const byName = Object.fromEntries(clips.map((c) => [c.name, c]));
    // 127×73 at 20 fps for 1 s → 10 frames at 10 fps: the 40-frame bucket is too long.
    assert.deepEqual(byName.wide.bucket, buckets[1]);
    assert.equal(byName.wide.video.width, 48);
    assert.equal(byName.wide.video.frames.length, 5);
    assert.equal(byName.wide.video.fps, 10);
    // Resampling 20 → 10 fps keeps every other frame: the red channel steps by 20, not 10.
    const red = byName.wide.video.frames.map((f) => f[0]);
    assert.ok(Math.abs(red[1] - red[0] - 20) <= 3, `red steps ${red.join(",")}`);
    assert.deepEqual(byName.tall.bucket, buckets[3]);
    assert.deepEqual(byName["clip-0001"].bucket, buckets[0]);
    for (const c of clips) {
      assert.equal(c.video.frames[0].length, c.bucket!.width * c.bucket!.height * 3);
    }
  });

  it("lists every missing caption and unreadable video, naming the files", async () => {
    const dir = await goodFolder();
    await writeMp4(ramp(16, 16, 2, 4), join(dir, "orphan.mp4"));
    await writeFile(join(dir, "broken.mp4"), "this is not a video at all, just some text");
    await writeFile(join(dir, "broken.txt"), "caption of a broken file");
    await writeMp4(ramp(16, 16, 2, 4), join(dir, "blank.mp4"));
    await writeFile(join(dir, "blank.txt"), "  \n");
    await assert.rejects(importFolder(dir), (err: Error) => {
      assert.match(err.message, /^importFolder: 3 problems in /);
      assert.match(err.message, /orphan\.mp4: missing caption .*orphan\.txt/);
      assert.match(err.message, /broken\.mp4: cannot read .*broken\.mp4 as a video: Invalid data/);
      assert.match(err.message, /blank\.mp4: caption .*blank\.txt is empty/);
      return true;
    });
    const skipped = await importFolder(dir, { onProblem: "skip" });
    assert.equal(skipped.clips.length, 3);
    assert.deepEqual(skipped.problems.map((p) => p.path.slice(dir.length + 1)).sort(), [
      "blank.mp4",
      "broken.mp4",
      "orphan.mp4",
    ]);
  });

  it("rejects a clip shorter than every bucket", async () => {
    const dir = await mkdtemp(join(root, "short-"));
    await writeMp4(ramp(16, 16, 3, 10), join(dir, "short.mp4"));
    await writeFile(join(dir, "short.txt"), "too short");
    await assert.rejects(
      importFolder(dir, { buckets: [{ width: 16, height: 16, frames: 30 }] }),
      /short\.mp4 is too short for every bucket/,
    );
  });

  it("names a missing folder, a file given as folder, and a folder with no videos", async () => {
    await assert.rejects(importFolder(join(root, "nope")), /folder not found: .*nope/);
    const file = join(root, "plain.txt");
    await writeFile(file, "x");
    await assert.rejects(importFolder(file), /plain\.txt is not a folder/);
    const empty = await mkdtemp(join(root, "empty-"));
    await assert.rejects(importFolder(empty), /no video files/);
  });

  it("scanFolder pairs videos with same-named captions only", async () => {
    const dir = await mkdtemp(join(root, "scan-"));
    await writeFile(join(dir, "a.mp4"), "x");
    await writeFile(join(dir, "a.txt"), "x");
    await writeFile(join(dir, "b.MOV"), "x");
    await writeFile(join(dir, "caption.txt"), "top-level caption.txt is not shared");
    const { entries, problems } = await scanFolder(dir);
    assert.deepEqual(
      entries.map((e) => e.name),
      ["a"],
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0].reason, /missing caption .*b\.txt/);
  });
});
