import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runFfmpeg } from "./ffmpeg.ts";
import { probeVideo } from "./probe.ts";
import { readVideo } from "./read-video.ts";
import type { Video } from "./video.ts";
import { writeMp4 } from "./write-mp4.ts";

/** A smooth gradient background with a red square moving right: like the world's clips. */
function synthetic(width: number, height: number, count: number, fps: number): Video {
  const frames: Uint8Array[] = [];
  for (let t = 0; t < count; t++) {
    const f = new Uint8Array(width * height * 3);
    const cx = Math.round(((t + 1) / (count + 1)) * width);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        const inside = Math.abs(x - cx) < width / 8 && Math.abs(y - height / 2) < height / 8;
        f[i] = inside ? 220 : Math.round((x / width) * 200);
        f[i + 1] = inside ? 38 : Math.round((y / height) * 200);
        f[i + 2] = inside ? 38 : 120;
      }
    }
    frames.push(f);
  }
  return { width, height, fps, frames };
}

function meanAbsError(a: Video, b: Video): number {
  let sum = 0;
  let n = 0;
  for (let f = 0; f < a.frames.length; f++) {
    for (let i = 0; i < a.frames[f].length; i++) sum += Math.abs(a.frames[f][i] - b.frames[f][i]);
    n += a.frames[f].length;
  }
  return sum / n;
}

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-media-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeMp4 + readVideo round trip", () => {
  for (const [width, height, fps] of [
    [64, 96, 24],
    [96, 64, 30],
    [127, 73, 12.5],
  ]) {
    it(`keeps size, frame count and fps at ${width}×${height} @ ${fps} fps`, async () => {
      const video = synthetic(width, height, 9, fps);
      const path = join(dir, `rt-${width}x${height}.mp4`);
      await writeMp4(video, path);
      const back = await readVideo(path);
      assert.equal(back.width, width);
      assert.equal(back.height, height);
      assert.equal(back.frames.length, video.frames.length);
      assert.ok(Math.abs(back.fps - fps) < 1e-6, `fps ${back.fps} vs ${fps}`);
      const err = meanAbsError(video, back);
      assert.ok(err < 4, `mean abs error ${err.toFixed(2)} too high`);
      const info = await probeVideo(path);
      assert.equal(info.width, width);
      assert.equal(info.height, height);
      // The file itself is the size asked for (odd sizes in 4:4:4), not padded.
      assert.equal(info.storedWidth, width);
      assert.equal(info.storedHeight, height);
      assert.match(info.codec, width % 2 === 0 && height % 2 === 0 ? /High\)/ : /High 4:4:4/);
    });
  }

  it("brings a flat colour back exactly, even at a tiny odd size", async () => {
    const frame = new Uint8Array(3 * 5 * 3);
    for (let i = 0; i < frame.length; i += 3) frame.set([220, 38, 38], i);
    const path = join(dir, "flat.mp4");
    await writeMp4({ width: 3, height: 5, fps: 8, frames: [frame, frame.slice()] }, path);
    const back = await readVideo(path);
    assert.equal(back.width, 3);
    assert.equal(back.height, 5);
    assert.equal(back.frames.length, 2);
    assert.deepEqual(back.frames[1], frame);
  });

  it("lossless mode brings every pixel back exactly at an odd size", async () => {
    const video = synthetic(127, 73, 5, 24);
    // Noise is the hardest case for a codec: every bit must survive.
    for (const f of video.frames) for (let i = 0; i < f.length; i += 7) f[i] = (i * 31) & 255;
    const path = join(dir, "lossless.mp4");
    await writeMp4(video, path, { lossless: true });
    const back = await readVideo(path);
    assert.equal(back.width, 127);
    assert.equal(back.height, 73);
    assert.deepEqual(back.frames, video.frames);
  });

  it("handles a relative file name that starts with a dash", async () => {
    const sub = await mkdtemp(join(dir, "dash-"));
    const cwd = process.cwd();
    process.chdir(sub);
    try {
      await writeMp4(synthetic(16, 16, 3, 6), "-clip.mp4");
      const back = await readVideo("-clip.mp4");
      assert.equal(back.frames.length, 3);
      assert.deepEqual(await readdir("."), ["-clip.mp4"]);
    } finally {
      process.chdir(cwd);
    }
  });

  it("leaves no temporary file in the folder", async () => {
    const sub = await mkdtemp(join(dir, "clean-"));
    await writeMp4(synthetic(16, 16, 2, 4), join(sub, "a.mp4"));
    assert.deepEqual(await readdir(sub), ["a.mp4"]);
  });
});

describe("readVideo options", () => {
  it("resizes by cover-crop, resamples fps and stops at maxFrames", async () => {
    const path = join(dir, "opts.mp4");
    await writeMp4(synthetic(127, 73, 12, 24), path);
    const crop = await readVideo(path, { resize: { width: 32, height: 32 }, maxFrames: 5 });
    assert.equal(crop.width, 32);
    assert.equal(crop.height, 32);
    assert.equal(crop.frames.length, 5);
    // Cover-crop keeps the centre: the middle row's green ramp stays near its source value (~100).
    const mid = (16 * 32 + 16) * 3;
    assert.ok(Math.abs(crop.frames[0][mid + 1] - 100) < 20, `green ${crop.frames[0][mid + 1]}`);
    const halfRate = await readVideo(path, { fps: 12 });
    assert.equal(halfRate.fps, 12);
    assert.equal(halfRate.frames.length, 6);
    const stretch = await readVideo(path, { resize: { width: 20, height: 40, fit: "stretch" } });
    assert.equal(stretch.frames[0].length, 20 * 40 * 3);
  });

  it("rejects bad options with a clear message", async () => {
    const path = join(dir, "opts.mp4");
    await assert.rejects(readVideo(path, { maxFrames: 0 }), /maxFrames must be a positive integer/);
    await assert.rejects(readVideo(path, { fps: -1 }), /fps must be a positive number/);
    await assert.rejects(
      readVideo(path, { resize: { width: 0, height: 3 } }),
      /resize width and height must be positive integers/,
    );
  });
});

describe("readVideo errors name the file and the reason", () => {
  it("missing file", async () => {
    const path = join(dir, "nope.mp4");
    await assert.rejects(readVideo(path), { message: `readVideo: file not found: ${path}` });
  });

  it("a folder", async () => {
    await assert.rejects(readVideo(dir), /is not a file/);
  });

  it("empty file", async () => {
    const path = join(dir, "empty.mp4");
    await writeFile(path, "");
    await assert.rejects(readVideo(path), /empty\.mp4 is empty \(0 bytes\)/);
  });

  it("text file", async () => {
    const path = join(dir, "notes.txt");
    await writeFile(path, "a red ball bouncing\n");
    await assert.rejects(readVideo(path), /notes\.txt is a text file, not a video/);
  });

  it("MP4 cut off after its header", async () => {
    const good = join(dir, "whole.mp4");
    await writeMp4(synthetic(32, 32, 4, 8), good);
    const bytes = await readFile(good);
    const path = join(dir, "cut.mp4");
    await writeFile(path, bytes.subarray(0, 40));
    await assert.rejects(readVideo(path), /cut\.mp4 has no video frames .*is the file complete/);
  });

  it("bytes that are no known format quote ffmpeg's reason", async () => {
    const path = join(dir, "noise.mp4");
    await writeFile(
      path,
      Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251),
    );
    await assert.rejects(
      readVideo(path),
      /readVideo: cannot read .*noise\.mp4 as a video: Invalid data found when processing input/,
    );
  });

  it("audio-only file", async () => {
    const path = join(dir, "tone.m4a");
    const made = await runFfmpeg(["-f", "lavfi", "-i", "sine=d=0.2", "-y", path]);
    assert.equal(made.code, 0, made.stderr);
    await assert.rejects(readVideo(path), /tone\.m4a has no video stream/);
  });

  it("video track without frames", async () => {
    const path = join(dir, "zero.mp4");
    const made = await runFfmpeg([
      ...["-f", "lavfi", "-i", "color=c=red:s=32x32:d=1"],
      ...["-frames:v", "0", "-c:v", "libx264", "-y", path],
    ]);
    assert.equal(made.code, 0, made.stderr);
    await assert.rejects(readVideo(path), /zero\.mp4 has no video frames/);
  });
});

describe("writeMp4 failures leave the target untouched", () => {
  it("keeps an existing file when ffmpeg fails and removes its temp file", async () => {
    const sub = await mkdtemp(join(dir, "fail-"));
    const path = join(sub, "keep.mp4");
    await writeFile(path, "previous contents");
    const bad = { preset: "no-such-preset" } as unknown as Parameters<typeof writeMp4>[2];
    await assert.rejects(writeMp4(synthetic(16, 16, 2, 4), path, bad), /cannot write .*keep\.mp4/);
    assert.equal(await readFile(path, "utf8"), "previous contents");
    assert.deepEqual(await readdir(sub), ["keep.mp4"]);
  });

  it("creates missing output folders, and removes them again when the encode fails", async () => {
    const path = join(dir, "new-a", "new-b", "x.mp4");
    await writeMp4(synthetic(16, 16, 2, 4), path);
    assert.equal((await readVideo(path)).frames.length, 2);
    const bad = { preset: "no-such-preset" } as unknown as Parameters<typeof writeMp4>[2];
    await assert.rejects(writeMp4(synthetic(16, 16, 2, 4), join(dir, "new-c", "d", "y.mp4"), bad));
    await assert.rejects(readdir(join(dir, "new-c")), /ENOENT/);
  });

  it("rejects an inconsistent video and a bad crf", async () => {
    const path = join(dir, "bad.mp4");
    const video = synthetic(16, 16, 2, 4);
    await assert.rejects(writeMp4({ ...video, width: 17 }, path), /frame 0 has 768 bytes/);
    await assert.rejects(writeMp4(video, path, { crf: 60 }), /crf must be between 0 and 51/);
  });
});
