import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readVideo } from "../media/read-video.ts";
import { type CliResult, runCli } from "./run-cli.ts";

let dir = "";
let clip = "";
let truth = "";
const prompt = "red ball bouncing at night";

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-cli-eval-"));
  clip = join(dir, "clip.mp4");
  truth = join(dir, "clip.json");
  const r = await runCli([
    ...["world", "render", "--prompt", prompt, "-o", clip, "--truth", truth, "--lossless"],
    ...["--seed", "3", "--width", "96", "--height", "64", "--seconds", "2", "--fps", "12"],
  ]);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function assertUserError(r: CliResult, message: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got success: ${r.stdout}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
}

describe("zoetrope eval", { concurrency: 2 }, () => {
  it("prints the summary and writes the JSON report for a rendered clip", async () => {
    const json = join(dir, "report.json");
    const r = await runCli(["eval", clip, "--prompt", prompt, "--json", json]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /96×64, 12 fps, 24 frames/);
    assert.match(r.stdout, /adherence/);
    const report = JSON.parse(await readFile(json, "utf8"));
    assert.equal(report.video.frames, 24);
    assert.equal(report.prompt.text, prompt);
    // A bit-exact clip of the simulator, judged against its own prompt: the red ball is found.
    assert.ok(report.objects.some((o: { color: string }) => o.color === "red"));
    assert.equal(report.scores.continuation, null);
  });

  it("scores the continuation against a reference state", async () => {
    const r = await runCli(["eval", clip, "--reference", truth, "--context-frames", "6"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /continuation\s+\d\.\d\d/);
  });

  it("names missing, unreadable and wrongly combined inputs", async () => {
    const text = join(dir, "notes.txt");
    await writeFile(text, "not a video\n");
    const [missing, notVideo, noArg, halfRef, tooMany, contradiction, badJson] = await Promise.all([
      runCli(["eval", join(dir, "nope.mp4")]),
      runCli(["eval", text]),
      runCli(["eval"]),
      runCli(["eval", clip, "--reference", truth]),
      runCli(["eval", clip, "--reference", truth, "--context-frames", "500"]),
      runCli(["eval", clip, "--prompt", "a red blue ball"]),
      runCli(["eval", clip, "--json", join(dir, "clip.mp4")]),
    ]);
    assertUserError(missing, /error: eval: file not found: .*nope\.mp4/);
    assertUserError(notVideo, /notes\.txt is a text file, not a video/);
    assertUserError(noArg, /missing required argument 'video'/);
    assertUserError(halfRef, /--reference and --context-frames go together/);
    assertUserError(tooMany, /--context-frames 500 is more than the 24 frames/);
    assertUserError(contradiction, /contradiction/);
    assertUserError(badJson, /--json .*clip\.mp4 would overwrite the video .*clip\.mp4/);
    assert.equal((await readVideo(clip)).frames.length, 24, "the video is untouched");
  });
});
