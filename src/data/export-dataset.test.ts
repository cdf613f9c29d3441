import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readVideo } from "../media/read-video.ts";
import { verifyDataset } from "./dataset-index.ts";
import { exportDataset } from "./export-dataset.ts";
import { importFolder } from "./import-folder.ts";
import { readState } from "./state-file.ts";
import { makeWorldClip } from "./world-stream.ts";

let root = "";
before(async () => {
  root = await mkdtemp(join(tmpdir(), "zoetrope-export-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const buckets = [
  { width: 32, height: 32, frames: 6 },
  { width: 48, height: 32, frames: 8 },
];

describe("exportDataset", () => {
  it("writes clip.mp4, caption.txt and state.json per clip plus an index, and imports back", async () => {
    const dir = join(root, "set", "nested");
    const { clips } = await exportDataset({ count: 4, dir, seed: 21, fps: 8, buckets });
    assert.deepEqual(
      clips.map((c) => c.name),
      ["clip-000000", "clip-000001", "clip-000002", "clip-000003"],
    );
    assert.deepEqual((await readdir(dir)).sort(), [...clips.map((c) => c.name), "index.json"]);
    for (const clip of clips) {
      const folder = join(dir, clip.name);
      assert.deepEqual((await readdir(folder)).sort(), ["caption.txt", "clip.mp4", "state.json"]);
      const video = await readVideo(join(folder, "clip.mp4"));
      assert.deepEqual(
        [video.width, video.height, video.frames.length, video.fps],
        [clip.width, clip.height, clip.frames, 8],
      );
      assert.equal((await readFile(join(folder, "caption.txt"), "utf8")).trim(), clip.caption);
      const state = await readState(join(folder, "state.json"));
      assert.equal(state.frames.length, clip.frames);
      // The state is the clip's own truth: remaking the clip from its seed gives the same scene.
      const remade = makeWorldClip(
        clip.seed,
        { width: clip.width, height: clip.height, frames: clip.frames },
        8,
      );
      assert.deepEqual(
        state.scene.objects.map((o) => o.color),
        remade.scene.objects.map((o) => o.color),
      );
      assert.equal(remade.caption, clip.caption);
    }
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
    assert.equal(index.complete, true);
    assert.deepEqual(
      index.clips.map(({ files: _f, ...c }: { files: unknown }) => c),
      clips,
    );

    const imported = await importFolder(dir);
    assert.deepEqual(
      imported.clips.map((c) => [c.name, c.caption, c.video.frames.length]),
      clips.map((c) => [c.name, c.caption, c.frames]),
    );
  });

  it("is deterministic by seed", async () => {
    const a = await exportDataset({ count: 2, dir: join(root, "a"), seed: 5, fps: 8, buckets });
    const b = await exportDataset({ count: 2, dir: join(root, "b"), seed: 5, fps: 8, buckets });
    assert.deepEqual(a.clips, b.clips);
  });

  it("names an output that is a file or not empty, and bad counts", async () => {
    const file = join(root, "occupied");
    await writeFile(file, "x");
    await assert.rejects(
      exportDataset({ count: 1, dir: file, seed: 1, fps: 8, buckets }),
      /cannot export to .*occupied: it is a file, not a folder/,
    );
    await assert.rejects(
      exportDataset({ count: 1, dir: join(file, "sub"), seed: 1, fps: 8, buckets }),
      /cannot (create folder|export to) .*occupied/,
    );
    const used = join(root, "used");
    await exportDataset({ count: 1, dir: used, seed: 1, fps: 8, buckets });
    await assert.rejects(
      exportDataset({ count: 1, dir: used, seed: 2, fps: 8, buckets }),
      /cannot export to .*used: it holds a dataset made with other settings \(seed 1, not 2\)/,
    );
    await assert.rejects(
      exportDataset({ count: 0, dir: join(root, "zero"), seed: 1, fps: 8, buckets }),
      /count must be a positive integer, got 0/,
    );
  });
});

describe("exportDataset: resumable, verified", () => {
  it("continues an unfinished dataset, redoing only missing or damaged clips", async () => {
    const dir = join(root, "resume");
    const first = await exportDataset({ count: 2, dir, seed: 8, fps: 8, buckets });
    assert.equal(first.reused, 0);
    // What an interrupted run leaves: a staging folder, a clip folder not yet in the index.
    await mkdir(join(dir, ".clip-000002.partial-999"));
    await writeFile(join(dir, ".clip-000002.partial-999", "clip.mp4"), "half");
    await mkdir(join(dir, "clip-000003"));
    // And a clip damaged since: its caption cut short.
    await writeFile(join(dir, "clip-000001", "caption.txt"), "cut");
    const full = await exportDataset({ count: 4, dir, seed: 8, fps: 8, buckets });
    assert.equal(full.reused, 1, "only clip 0 is kept as it was");
    assert.deepEqual((await readdir(dir)).sort(), [
      "clip-000000",
      "clip-000001",
      "clip-000002",
      "clip-000003",
      "index.json",
    ]);
    // The same clips as a run that was never interrupted.
    const fresh = await exportDataset({
      count: 4,
      dir: join(root, "fresh"),
      seed: 8,
      fps: 8,
      buckets,
    });
    assert.deepEqual(full.clips, fresh.clips);
    const index = await verifyDataset(dir);
    assert.equal(index.complete, true);
    const again = await exportDataset({ count: 4, dir, seed: 8, fps: 8, buckets });
    assert.equal(again.reused, 4);
  });

  it("refuses a folder of other files, and a dataset that is unfinished or altered on read", async () => {
    const other = join(root, "others");
    await mkdir(other);
    await writeFile(join(other, "notes.txt"), "mine");
    await assert.rejects(
      exportDataset({ count: 1, dir: other, seed: 1, fps: 8, buckets }),
      /others: the folder is not empty and is not a Zoetrope dataset/,
    );
    assert.deepEqual(await readdir(other), ["notes.txt"]);

    const dir = join(root, "altered");
    await exportDataset({ count: 2, dir, seed: 4, fps: 8, buckets });
    const state = join(dir, "clip-000000", "state.json");
    const text = await readFile(state, "utf8");
    // Same length, different content: only the hash can tell.
    await writeFile(
      state,
      text.replace(/"seed":(\d)/, (_m, d) => `"seed":${(Number(d) + 1) % 10}`),
    );
    await assert.rejects(verifyDataset(dir), /state\.json has changed since it was written/);
    await assert.rejects(importFolder(dir), /state\.json has changed since it was written/);

    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
    index.complete = false;
    index.count = 5;
    await writeFile(join(dir, "index.json"), JSON.stringify(index));
    await assert.rejects(
      importFolder(dir),
      /unfinished dataset \(2 of 5 clips\); finish it with: zoetrope world dataset --resume/,
    );
  });
});

describe("readState", () => {
  it("names missing files, bad JSON and JSON that is not a clip state", async () => {
    await assert.rejects(readState(join(root, "none.json")), /state file not found: .*none\.json/);
    const bad = join(root, "bad.json");
    await writeFile(bad, "{not json");
    await assert.rejects(readState(bad), /bad\.json is not valid JSON/);
    const other = join(root, "other.json");
    await writeFile(other, JSON.stringify({ scene: {}, width: 3 }));
    await assert.rejects(
      readState(other),
      /other\.json is not a clip state: missing height, fps, frames, events/,
    );
  });
});
