/**
 * Issue 12: `zoetrope eval` refuses what it cannot measure honestly — a truncated MP4, a
 * --reference that belongs to another clip, a clip beyond its documented limits — at once,
 * with the reason, before any long work.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type CliResult, runCli } from "../src/cli/run-cli.ts";
import { runFfmpeg } from "../src/media/ffmpeg.ts";

let dir = "";
const shape = ["--width", "96", "--height", "64", "--seconds", "1", "--fps", "12"];
const prompt = "a red ball bouncing at night";

async function render(name: string, seed: string, extra: string[] = shape, p = prompt) {
  const clip = join(dir, `${name}.mp4`);
  const truth = join(dir, `${name}.json`);
  const r = await runCli([
    ...["world", "render", "--prompt", p, "-o", clip, "--truth", truth, "--seed", seed],
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return { clip, truth };
}

let base = { clip: "", truth: "" };
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-cli-eval-guards-"));
  base = await render("base", "3");
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function assertUserError(r: CliResult, message: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got success: ${r.stdout}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
}

describe("zoetrope eval guards", { concurrency: 3 }, () => {
  it("detects a truncated MP4 wherever it is cut", async () => {
    const bytes = await readFile(base.clip);
    for (const keep of [0.3, 0.7, 0.99]) {
      const cut = join(dir, `cut-${keep}.mp4`);
      await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * keep)));
      const r = await runCli(["eval", cut]);
      assertUserError(r, /is truncated or damaged|has no video frames|cannot read/);
    }
    const tail = join(dir, "cut-tail.mp4");
    await writeFile(tail, bytes.subarray(0, bytes.length - 100));
    assertUserError(
      await runCli(["eval", tail]),
      /cut-tail\.mp4 is truncated or damaged: it ends inside its mdat box/,
    );
  });

  it("accepts its own reference and refuses one of another seed, prompt or size", async () => {
    const own = await runCli([
      "eval",
      base.clip,
      "--reference",
      base.truth,
      "--context-frames",
      "6",
    ]);
    assert.equal(own.code, 0, own.stderr);
    const otherSeed = await render("seed4", "4");
    const otherPrompt = await render("box", "3", shape, "a blue box sliding left");
    const otherSize = await render("small", "3", [
      "--width",
      "64",
      "--height",
      "64",
      "--seconds",
      "1",
      "--fps",
      "12",
    ]);
    const otherFps = await render("fps", "3", [
      "--width",
      "96",
      "--height",
      "64",
      "--seconds",
      "1",
      "--fps",
      "8",
    ]);
    const ref = (truth: string) => [
      "eval",
      base.clip,
      "--reference",
      truth,
      "--context-frames",
      "6",
    ];
    const [seed, promptR, size, fps] = await Promise.all([
      runCli(ref(otherSeed.truth)),
      runCli(ref(otherPrompt.truth)),
      runCli(ref(otherSize.truth)),
      runCli(ref(otherFps.truth)),
    ]);
    assertUserError(
      seed,
      /does not belong to .*base\.mp4: in its first 6 frames .* of the pixels differ/,
    );
    assertUserError(promptR, /does not belong to .*base\.mp4: in its first 6 frames/);
    assertUserError(
      size,
      /does not belong to .*base\.mp4: the reference is 64×64, the video 96×64/,
    );
    assertUserError(
      fps,
      /does not belong to .*base\.mp4: the reference is 8 fps, the video 12 fps/,
    );
  });

  it("refuses a clip beyond the documented limits before decoding it", async () => {
    const wide = join(dir, "wide.mp4");
    const long = join(dir, "long.mp4");
    for (const [path, size, seconds] of [
      [wide, "2100x16", "1"],
      [long, "1024x1024", "6"],
    ]) {
      const made = await runFfmpeg([
        ...["-f", "lavfi", "-i", `color=c=red:s=${size}:r=24`, "-t", seconds],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-y", path],
      ]);
      assert.equal(made.code, 0, made.stderr);
    }
    const started = Date.now();
    assertUserError(
      await runCli(["eval", wide]),
      /wide\.mp4 is 2100×16; eval takes frames of at most 2048 pixels a side/,
    );
    assertUserError(
      await runCli(["eval", long]),
      /long\.mp4 is 1024×1024 with 144 frames, beyond eval's limit of 134 million pixels .*at most 128 frames/,
    );
    assert.ok(Date.now() - started < 15_000, "refused without decoding");
  });
});
