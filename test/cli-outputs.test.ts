/**
 * Issue 12: what the CLI does with where its outputs go and with prompts it cannot honour —
 * each case as a user would meet it, through the real launcher.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { lstat, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type CliResult, LAUNCHER, runCli } from "../src/cli/run-cli.ts";
import { checkMp4 } from "../src/media/mp4-boxes.ts";
import { probeVideo } from "../src/media/probe.ts";
import { readVideo } from "../src/media/read-video.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-cli-outputs-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tiny = ["--width", "32", "--height", "32", "--seconds", "1", "--fps", "8"];

function assertUserError(r: CliResult, message: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got success: ${r.stdout}`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /^error: /m);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  assert.doesNotMatch(r.stderr, /\.tmp\b|E[A-Z]{3,}:/, "no temporary names or raw errno text");
}

describe("outputs", { concurrency: 3 }, () => {
  it("world render writes into a fresh folder (missing parents are created)", async () => {
    const cwd = await mkdtemp(join(dir, "fresh-"));
    const r = await runCli(
      [
        "world",
        "render",
        "--prompt",
        "a red ball bouncing at night",
        "-o",
        "out/clip.mp4",
        ...tiny,
      ],
      cwd,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await readVideo(join(cwd, "out", "clip.mp4"))).frames.length, 8);
    assert.deepEqual(await readdir(join(cwd, "out")), ["clip.mp4"]);
  });

  it("writes through /dev/null and /dev/stdout instead of replacing them", async () => {
    const r = await runCli(["world", "render", "--prompt", "red ball", "-o", "/dev/null", ...tiny]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await lstat("/dev/null")).isCharacterDevice(), "/dev/null is still a device");
    // Through a pipe to the test: the bytes are a whole MP4, the messages went to stderr.
    const piped = await new Promise<Buffer>((resolve, reject) => {
      execFile(
        process.execPath,
        [LAUNCHER, "world", "render", "--prompt", "red ball", "-o", "/dev/stdout", ...tiny],
        { encoding: "buffer", maxBuffer: 1 << 24 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
    });
    const copy = join(dir, "from-stdout.mp4");
    await writeFile(copy, piped);
    assert.equal((await checkMp4(copy)).complete, true);
    assert.equal((await readVideo(copy)).frames.length, 8);
  });

  it("refuses outputs that collide with each other or with an input, touching nothing", async () => {
    const clip = join(dir, "collide.mp4");
    const r = await runCli([
      ...["world", "render", "--prompt", "red ball", "-o", clip, "--truth", clip],
      ...tiny,
    ]);
    assertUserError(r, /--truth and -o both name .*collide\.mp4/);
    await assert.rejects(stat(clip), /ENOENT/);
    const made = await runCli(["world", "render", "--prompt", "red ball", "-o", clip, ...tiny]);
    assert.equal(made.code, 0, made.stderr);
    const before = await readFile(clip);
    const json = await runCli(["eval", clip, "--json", clip]);
    assertUserError(json, /--json .*collide\.mp4 would overwrite the video/);
    assert.deepEqual(await readFile(clip), before);
  });

  it("refuses a folder, a block device and a path through a file, with the reason", async () => {
    const [folder, device, throughFile] = await Promise.all([
      runCli(["world", "render", "--prompt", "red ball", "-o", dir, ...tiny]),
      // /dev/loop0 or similar may not exist; a socket or block device must never be replaced.
      runCli(["world", "render", "--prompt", "red ball", "-o", "/dev/zero/x.mp4", ...tiny]),
      (async () => {
        await writeFile(join(dir, "a-file"), "keep");
        return runCli([
          ...["world", "render", "--prompt", "red ball"],
          ...["-o", join(dir, "a-file", "x.mp4"), ...tiny],
        ]);
      })(),
    ]);
    assertUserError(folder, /cannot write .*: it is a folder/);
    assertUserError(device, /cannot write \/dev\/zero\/x\.mp4/);
    assertUserError(throughFile, /a-file is a file, not a folder/);
    assert.equal(await readFile(join(dir, "a-file"), "utf8"), "keep");
  });

  it("makes exactly the odd size asked for", async () => {
    const out = join(dir, "odd.mp4");
    const r = await runCli([
      ...["world", "render", "--prompt", "red ball", "-o", out],
      ...["--width", "127", "--height", "33", "--seconds", "1", "--fps", "8"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /127×33/);
    const info = await probeVideo(out);
    assert.deepEqual([info.storedWidth, info.storedHeight], [127, 33], "the file itself is 127×33");
    const video = await readVideo(out);
    assert.deepEqual([video.width, video.height], [127, 33]);
  });
});

describe("prompts the world cannot honour", { concurrency: 3 }, () => {
  for (const [prompt, message] of [
    ["flurble zorp", /none of its words are known.*flurble, zorp/],
    ["no balls", /says what not to show \("no"\)/],
    ["a ball without boxes", /says what not to show \("without"\)/],
    ["a red ball that isn't bouncing", /says what not to show \("isn't"\)/],
  ] as const) {
    it(`refuses "${prompt}" and names the words`, async () => {
      const out = join(dir, `prompt-${prompt.length}.mp4`);
      const r = await runCli(["world", "render", "--prompt", prompt, "-o", out, ...tiny]);
      assertUserError(r, message);
      await assert.rejects(stat(out), /ENOENT/);
    });
  }

  it("refuses them in eval too", async () => {
    const clip = join(dir, "for-eval.mp4");
    const made = await runCli(["world", "render", "--prompt", "red ball", "-o", clip, ...tiny]);
    assert.equal(made.code, 0, made.stderr);
    assertUserError(await runCli(["eval", clip, "--prompt", "no balls"]), /what not to show/);
  });
});

describe("--help", () => {
  it("marks required options, defaults and ranges", async () => {
    const render = await runCli(["world", "render", "--help"]);
    assert.equal(render.code, 0);
    assert.match(render.stdout, /--prompt <text>\s+\(required\)/);
    assert.match(render.stdout, /-o, --output <file\.mp4>\s+\(required\)/);
    assert.match(render.stdout, /--width <px>\s+frame width in pixels, 8 to 2048 \(default: 128\)/);
    assert.match(render.stdout, /--fps <n>\s+frames per second, 1 to 120 \(default: 24\)/);
    const dataset = await runCli(["world", "dataset", "--help"]);
    assert.match(dataset.stdout, /--count <n>\s+\(required unless --resume\)/);
    const evalHelp = await runCli(["eval", "--help"]);
    assert.match(evalHelp.stdout, /2048 px a side and 134 million pixels/);
  });
});
