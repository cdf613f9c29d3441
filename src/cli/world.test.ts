import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readState } from "../data/state-file.ts";
import { readVideo } from "../media/read-video.ts";
import { type CliResult, runCli } from "./run-cli.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-cli-world-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tiny = ["--width", "32", "--height", "32", "--seconds", "1", "--fps", "12"];

/** A user error: non-zero exit, the message on stderr, and no stack trace. */
function assertUserError(r: CliResult, message: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got success: ${r.stdout}`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /^error: /m);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
}

describe("zoetrope world render", { concurrency: 4 }, () => {
  it("writes the clip and its ground truth and prints the detailed caption", async () => {
    const out = join(dir, "clip.mp4");
    const truth = join(dir, "clip.json");
    const r = await runCli([
      ...["world", "render", "--prompt", "red ball bouncing at night"],
      ...["-o", out, "--truth", truth, "--seed", "4", ...tiny],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /red|scarlet|crimson/i);
    assert.match(r.stdout, /night/i);
    assert.match(r.stdout, /wrote .*clip\.mp4: 32×32, 12 frames at 12 fps/);
    const video = await readVideo(out);
    assert.deepEqual([video.width, video.height, video.frames.length, video.fps], [32, 32, 12, 12]);
    const state = await readState(truth);
    assert.equal(state.frames.length, 12);
    assert.equal(state.scene.theme, "night");
    assert.ok(state.scene.objects.some((o) => o.color === "red" && o.shape === "ball"));
  });

  it("warns about unknown words but still renders", async () => {
    const out = join(dir, "unknown.mp4");
    const r = await runCli([
      "world",
      "render",
      "--prompt",
      "a blue box and a flurble",
      "-o",
      out,
      ...tiny,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: .*flurble/m);
    assert.ok((await stat(out)).size > 0);
  });

  it("rejects a contradiction", async () => {
    const out = join(dir, "never.mp4");
    const r = await runCli(["world", "render", "--prompt", "a red blue ball", "-o", out, ...tiny]);
    assertUserError(r, /contradiction.*red.*blue/);
    await assert.rejects(stat(out), /ENOENT/);
  });

  it("rejects missing options, non-numeric and out-of-range numbers", async () => {
    const base = ["world", "render", "--prompt", "ball", "-o", join(dir, "x.mp4")];
    const [noPrompt, noOutput, width, seconds, fps, seed] = await Promise.all([
      runCli(["world", "render", "-o", join(dir, "x.mp4")]),
      runCli(["world", "render", "--prompt", "ball"]),
      runCli([...base, "--width", "wide"]),
      runCli([...base, "--seconds", "0"]),
      runCli([...base, "--fps", "1e9"]),
      runCli([...base, "--seed", "-3"]),
    ]);
    assertUserError(noPrompt, /required option '--prompt <text>' not specified/);
    assertUserError(noOutput, /required option '-o, --output <file.mp4>' not specified/);
    assertUserError(
      width,
      /'--width <px>' argument 'wide' is invalid\. Expected a whole number from 8 to 2048/,
    );
    assertUserError(
      seconds,
      /'--seconds <s>' argument '0' is invalid\. Must be above 0 and at most 120/,
    );
    assertUserError(fps, /'--fps <n>' argument '1e9' is invalid/);
    assertUserError(seed, /'--seed <n>' argument '-3' is invalid/);
  });

  it("creates missing folders, and rejects an output it cannot write before simulating", async () => {
    const nested = join(dir, "no", "such", "x.mp4");
    const made = await runCli(["world", "render", "--prompt", "ball", "-o", nested, ...tiny]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await readVideo(nested)).frames.length, 12);
    const folder = join(dir, "a-folder.mp4");
    await mkdir(folder, { recursive: true });
    assertUserError(
      await runCli(["world", "render", "--prompt", "ball", "-o", folder]),
      /cannot write .*a-folder\.mp4: it is a folder/,
    );
  });
});

describe("zoetrope world dataset", { concurrency: 3 }, () => {
  it("writes N clips with captions, states and an index", async () => {
    const out = join(dir, "set");
    const r = await runCli(["world", "dataset", "--count", "2", "-o", out, "--seed", "3", ...tiny]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote 2 clips \(32x32x12, 12 fps\)/);
    assert.deepEqual((await readdir(out)).sort(), ["clip-000000", "clip-000001", "index.json"]);
    const caption = await readFile(join(out, "clip-000001", "caption.txt"), "utf8");
    assert.ok(caption.trim().length > 20);
    const video = await readVideo(join(out, "clip-000001", "clip.mp4"));
    assert.equal(video.frames.length, 12);
  });

  it("accepts several buckets", async () => {
    const out = join(dir, "buckets");
    const r = await runCli([
      ...["world", "dataset", "--count", "3", "-o", out, "--fps", "8"],
      ...["--buckets", "32x32x4,48x32x6"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
    for (const c of index.clips)
      assert.ok(["32x32x4", "48x32x6"].includes(`${c.width}x${c.height}x${c.frames}`));
  });

  it("rejects bad counts, bad buckets and an output that is a file", async () => {
    const out = join(dir, "bad");
    const file = join(dir, "file-not-folder");
    await writeFile(file, "x");
    const [zero, word, missing, buckets, notFolder] = await Promise.all([
      runCli(["world", "dataset", "--count", "0", "-o", out]),
      runCli(["world", "dataset", "--count", "two", "-o", out]),
      runCli(["world", "dataset", "-o", out]),
      runCli(["world", "dataset", "--count", "1", "-o", out, "--buckets", "32x32"]),
      runCli(["world", "dataset", "--count", "1", "-o", file, ...tiny]),
    ]);
    assertUserError(zero, /'--count <n>' argument '0' is invalid\. Must be from 1 to 1000000/);
    assertUserError(word, /'--count <n>' argument 'two' is invalid/);
    assertUserError(missing, /required option '--count <n>' not specified \(or give --resume\)/);
    assertUserError(buckets, /Expected WIDTHxHEIGHTxFRAMES/);
    assertUserError(notFolder, /cannot export to .*file-not-folder: it is a file, not a folder/);
    assert.equal(await readFile(file, "utf8"), "x");
  });
});

describe("zoetrope", () => {
  it("rejects an unknown command and prints help on --help", async () => {
    assertUserError(await runCli(["paint"]), /unknown command 'paint'/);
    const help = await runCli(["world", "render", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--prompt <text>/);
  });
});
