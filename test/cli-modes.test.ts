/**
 * The sampling-mode commands through the real launcher, on an untrained tiny model (the plumbing,
 * not the quality): animate, extend both ways, loop, edit, connect, and generate past one window.
 * Outputs are lossy H.264, so "begins with the source" is checked as a high PSNR against the
 * source (the byte-exact version is in src/models/modes.test.ts) beside a low one against
 * another clip.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type CliResult, runCli } from "../src/cli/run-cli.ts";
import { readMp4Metadata } from "../src/media/mp4-metadata.ts";
import { readVideo } from "../src/media/read-video.ts";
import type { Video } from "../src/media/video.ts";
import { writeMp4 } from "../src/media/write-mp4.ts";
import { psnr } from "../src/models/video-tensor.ts";
import { encodePng } from "../src/server/png.ts";
import { writeTinyModel } from "../src/testing/tiny-model.ts";

let dir = "";
let model = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-cli-modes-"));
  model = await writeTinyModel(join(dir, "tiny-model"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A smooth moving w×h clip of `n` frames (smooth, so that H.264 keeps it well). */
function clip(n: number, w = 32, h = 16, phase = 0): Video {
  const frames = Array.from({ length: n }, (_, f) => {
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 3;
        rgb[p] = Math.round(128 + 90 * Math.sin(x / 6 + f / 3 + phase));
        rgb[p + 1] = Math.round(128 + 90 * Math.cos(y / 5 + phase));
        rgb[p + 2] = Math.round(128 + 60 * Math.sin((x + y) / 9 - f / 4));
      }
    return rgb;
  });
  return { width: w, height: h, fps: 8, frames };
}

async function writeClip(name: string, video: Video): Promise<string> {
  const path = join(dir, name);
  await writeMp4(video, path, { lossless: true });
  return path;
}

function slice(v: Video, from: number, to?: number): Video {
  return { ...v, frames: v.frames.slice(from, to) };
}

/** The output's frames from `from` on are the source's (up to H.264), not another clip's (as long). */
function assertHolds(out: Video, from: number, source: Video, other: Video): void {
  const part = slice(out, from, from + source.frames.length);
  const same = psnr(part, source);
  assert.ok(same > 30, `PSNR to the source ${same.toFixed(1)} dB`);
  const unlike = psnr(part, slice(other, 0, source.frames.length));
  assert.ok(unlike < same - 10, `much closer to the source than to another clip (${unlike} dB)`);
}

function assertUserError(r: CliResult, message: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got success: ${r.stdout}`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /^error: /m);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
}

const fast = () => ["--steps", "2", "--guidance", "2", "--model", model];

describe("zoetrope animate / extend / loop / edit / connect", () => {
  it("extends forward and backward, keeping the clip and tagging what made the output", async () => {
    const source = clip(5);
    const other = clip(5, 32, 16, 2);
    const src = await writeClip("src.mp4", source);
    const fwd = join(dir, "fwd.mp4");
    const prompt = "a red ball bounces";
    const args = ["extend", src, prompt, "--seconds", "2", "-o", fwd, "--seed", "7", ...fast()];
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /red|scarlet|crimson/i, "the caption is printed");
    assert.match(
      r.stdout,
      /wrote .*fwd\.mp4: 32×16, 21 frames at 8 fps \(extend forward, 2 windows/,
    );
    // 8 new latents: a window of 2 known and 6 new (tiny's windows are 9 latents), then 2 more.
    assert.match(r.stderr, /window 2\/2 denoising .* 2\/2/);
    const out = await readVideo(fwd);
    assert.deepEqual([out.width, out.height, out.frames.length, out.fps], [32, 16, 21, 8]);
    assertHolds(out, 0, source, other);
    const tags = await readMp4Metadata(fwd);
    assert.equal(tags.mode, "extend forward");
    assert.deepEqual(JSON.parse(tags.source), ["src.mp4"]);
    assert.equal(tags.prompt, prompt);
    assert.ok(r.stdout.includes(tags.caption));
    assert.equal(tags.seed, "7");
    assert.equal(tags.model, "tiny");
    assert.match(tags.model_sha256, /^[0-9a-f]{64}$/);
    const settings = JSON.parse(tags.settings);
    assert.deepEqual(
      [settings.mode, settings.direction, settings.seconds, settings.steps],
      ["extend forward", "forward", 2, 2],
    );

    // Backward, without a prompt: the clip made above says its own prompt, which is used.
    const back = join(dir, "back.mp4");
    const b = await runCli([
      "extend",
      fwd,
      "--backward",
      "--seconds",
      "0.5",
      "-o",
      back,
      ...fast(),
    ]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /no prompt given: using .*fwd\.mp4's own prompt "a red ball bounces"/);
    const bv = await readVideo(back);
    assert.equal(bv.frames.length, 21 + 4);
    assertHolds(bv, 4 + 0, source, other); // fwd began with the source
    assert.equal((await readMp4Metadata(back)).mode, "extend backward");
  });

  it("animates a PNG, loops, edits and connects clips", async () => {
    const still = clip(1, 16, 32);
    const png = join(dir, "still.png");
    await writeFile(png, encodePng(still.frames[0], 16, 32));
    const anim = join(dir, "anim.mp4");
    const a = await runCli([
      ...["animate", png, "a green ball rolls", "-o", anim, "--seconds", "1.5", "--fps", "8"],
      ...fast(),
    ]);
    assert.equal(a.code, 0, a.stderr);
    const av = await readVideo(anim);
    // 1.5 s at 8 fps, rounded to 1 + 2k frames: 13.
    assert.deepEqual([av.width, av.height, av.frames.length, av.fps], [16, 32, 13, 8]);
    const atags = await readMp4Metadata(anim);
    assert.equal(atags.mode, "animate");
    assert.deepEqual(JSON.parse(atags.source), ["still.png"]);

    const source = clip(5);
    const src = await writeClip("loop-src.mp4", source);
    const looped = join(dir, "loop.mp4");
    const l = await runCli(["loop", src, "a ball", "-o", looped, ...fast()]);
    assert.equal(l.code, 0, l.stderr);
    const lv = await readVideo(looped);
    assert.equal(lv.frames.length, 5 + 14, "the clip and a one-window transition of 7 latents");
    assertHolds(lv, 0, source, clip(5, 32, 16, 2));

    const edited = join(dir, "edit.mp4");
    const e = await runCli(["edit", src, "at night", "--strength", "0.6", "-o", edited, ...fast()]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal((await readVideo(edited)).frames.length, 5);
    const etags = await readMp4Metadata(edited);
    assert.equal(etags.mode, "edit");
    assert.equal(JSON.parse(etags.settings).strength, 0.6);

    const first = clip(5);
    const second = clip(4, 32, 16, 3);
    const [pa, pb] = [await writeClip("a.mp4", first), await writeClip("b.mp4", second)];
    const joined = join(dir, "joined.mp4");
    const c = await runCli(["connect", pa, pb, "--seconds", "0.5", "-o", joined, ...fast()]);
    assert.equal(c.code, 0, c.stderr);
    const cv = await readVideo(joined);
    assert.equal(cv.frames.length, 5 + 4 + 4);
    assertHolds(cv, 0, first, clip(5, 32, 16, 3));
    assertHolds(cv, 9, second, first);
    assert.deepEqual(JSON.parse((await readMp4Metadata(joined)).source), ["a.mp4", "b.mp4"]);
  });

  it("generates past one window through sliding windows, with progress per window", async () => {
    const out = join(dir, "long.mp4");
    const r = await runCli([
      ...["generate", "a red ball bounces", "-o", out, "--width", "32", "--height", "16"],
      ...["--fps", "8", "--seconds", "3", ...fast()],
    ]);
    assert.equal(r.code, 0, r.stderr);
    // 25 frames = 13 latents: a window of 9 (the training clip), then 4 new latents after 2 known.
    assert.equal((await readVideo(out)).frames.length, 25);
    assert.match(r.stderr, /window 1\/2 denoising/);
    assert.match(r.stderr, /window 2\/2 denoising .* 2\/2/);
  });

  it("refuses short, wrong-size and unreadable inputs clearly, leaving the output untouched", async () => {
    const out = join(dir, "keep.mp4");
    await writeFile(out, "precious");
    const short = await writeClip("short.mp4", clip(2));
    assertUserError(
      await runCli(["extend", short, "-o", out, ...fast()]),
      /short\.mp4 is too short: 2 frames, needs at least 3 to extend forward/,
    );
    const wrong = await writeClip("wrong.mp4", clip(5, 24, 16));
    assertUserError(
      await runCli(["loop", wrong, "-o", out, ...fast()]),
      /wrong\.mp4 is 24×16; this model works on widths that are multiples of 16 and heights that are multiples of 16/,
    );
    const png = join(dir, "odd.png");
    await writeFile(png, encodePng(clip(1, 32, 20).frames[0], 32, 20));
    assertUserError(
      await runCli(["animate", png, "a ball", "-o", out, ...fast()]),
      /odd\.png is 32×20/,
    );
    const garbage = join(dir, "garbage.mp4");
    await writeFile(garbage, "not a video");
    assertUserError(
      await runCli(["edit", garbage, "at night", "-o", out, ...fast()]),
      /garbage\.mp4/,
    );
    assertUserError(
      await runCli(["connect", short, join(dir, "missing.mp4"), "-o", out, ...fast()]),
      /missing\.mp4/,
    );
    assertUserError(
      await runCli(["extend", short, "--forward", "--backward", "-o", out, ...fast()]),
      /cannot be used with/,
    );
    assert.equal(await readFile(out, "utf8"), "precious");
  });
});
