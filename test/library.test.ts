/**
 * The library as a Node.js program uses it: `import { generate } from "zoetrope"` in a plain
 * `node` process (no tsx flags), through the package's own exports, on a tiny model folder.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { writeTinyModel } from "../src/testing/tiny-model.ts";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
let dir = "";
let model = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-library-"));
  model = await writeTinyModel(join(dir, "tiny"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs an ES module snippet with plain node from the package root; returns its JSON output. */
async function node(code: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", code], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return JSON.parse(stdout);
}

describe('import { generate } from "zoetrope"', () => {
  it("returns frames and the caption, the same for the same seed, and writes an MP4", async () => {
    const out = join(dir, "lib.mp4");
    const result = (await node(`
      import { generate, writeMp4, readMp4Metadata, readVideo } from "zoetrope";
      const opts = { model: ${JSON.stringify(model)}, width: 32, height: 16, seconds: 0.5, fps: 8, steps: 2, seed: 5 };
      const a = await generate("a red ball bounces at sunset", opts);
      const b = await generate("a red ball bounces at sunset", opts);
      const c = await generate("a red ball bounces at sunset", { ...opts, seed: 6 });
      await writeMp4(a.video, ${JSON.stringify(out)}, { metadata: { prompt: "a red ball bounces at sunset" } });
      const back = await readVideo(${JSON.stringify(out)});
      const same = (x, y) => x.frames.every((f, i) => Buffer.from(f).equals(Buffer.from(y.frames[i])));
      console.log(JSON.stringify({
        size: [a.video.width, a.video.height, a.video.frames.length, a.video.fps],
        bytes: a.video.frames[0].length,
        caption: a.caption,
        sameSeed: same(a.video, b.video),
        otherSeed: same(a.video, c.video),
        mp4: [back.width, back.height, back.frames.length],
        tag: (await readMp4Metadata(${JSON.stringify(out)})).prompt,
      }));
    `)) as Record<string, unknown>;
    assert.deepEqual(result.size, [32, 16, 5, 8]);
    assert.equal(result.bytes, 32 * 16 * 3, "8-bit RGB frames");
    assert.match(String(result.caption), /red|scarlet|crimson/i);
    assert.equal(result.sameSeed, true);
    assert.equal(result.otherSeed, false);
    assert.deepEqual(result.mp4, [32, 16, 5]);
    assert.equal(result.tag, "a red ball bounces at sunset");
  });

  it("extends a video forward from the library, keeping the source frames exactly", async () => {
    const result = (await node(`
      import { extend, generate } from "zoetrope";
      const model = ${JSON.stringify(model)};
      const base = { model, width: 32, height: 16, fps: 8, steps: 2 };
      const src = await generate("a blue box slides left", { ...base, frames: 9, seed: 1 });
      const out = await extend(src.video, { model, steps: 2, seconds: 0.5, seed: 2, prompt: "a blue box slides left" });
      const kept = src.video.frames.every((f, i) => Buffer.from(f).equals(Buffer.from(out.video.frames[i])));
      const bad = await extend(src.video, { model, seconds: 1, seed: 1.5 }).then(() => "no error", (e) => e.message);
      console.log(JSON.stringify({ frames: out.video.frames.length, kept, bad }));
    `)) as { frames: number; kept: boolean; bad: string };
    assert.equal(result.frames, 9 + 4, "0.5 s at 8 fps more");
    assert.equal(result.kept, true);
    assert.match(result.bad, /^extend: seed must be an integer/);
  });

  it("names the problem with bad options and a missing model folder", async () => {
    const result = (await node(`
      import { generate } from "zoetrope";
      const errors = [];
      for (const opts of [
        { model: ${JSON.stringify(model)}, seed: -1 },
        { model: ${JSON.stringify(model)}, steps: 0 },
        { model: ${JSON.stringify(model)}, width: 30, steps: 1 },
        { model: ${JSON.stringify(join(dir, "nowhere"))} },
      ]) {
        errors.push(await generate("a ball", opts).then(() => "no error", (e) => e.message));
      }
      errors.push(await generate("  ", {}).then(() => "no error", (e) => e.message));
      console.log(JSON.stringify(errors));
    `)) as string[];
    assert.match(result[0], /seed must be an integer from 0 to 4294967295, got -1/);
    assert.match(result[1], /steps must be an integer from 1 to 1000, got 0/);
    assert.match(result[2], /cannot make width 30; it makes widths that are multiples of/);
    assert.match(result[3], /nowhere: no such folder/);
    assert.match(result[4], /prompt must be non-empty/);
  });
});
