import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import {
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { checkMp4 } from "./mp4-boxes.ts";
import { assertSeparate, prepareOutput, writeFileSafely, writeOutput } from "./safe-output.ts";
import { writeMp4 } from "./write-mp4.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-safe-out-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tiny = {
  width: 16,
  height: 16,
  fps: 4,
  frames: [new Uint8Array(16 * 16 * 3).fill(90), new Uint8Array(16 * 16 * 3).fill(200)],
};

describe("writeFileSafely / writeOutput", () => {
  it("creates missing folders and leaves only the file", async () => {
    const path = join(dir, "a", "b", "c.txt");
    await writeFileSafely(path, "hello");
    assert.equal(await readFile(path, "utf8"), "hello");
    assert.deepEqual(await readdir(join(dir, "a", "b")), ["c.txt"]);
  });

  it("on failure keeps the old file, removes the temporary file and the folders it made", async () => {
    const keep = join(dir, "keep.txt");
    await writeFile(keep, "old");
    const failing = async (tmp: string) => {
      await writeFile(tmp, "partial");
      throw new Error(`broke while writing ${tmp}`);
    };
    await assert.rejects(writeOutput(keep, failing), (err: Error) => {
      assert.doesNotMatch(err.message, /\.tmp/, "the temporary name is never shown");
      assert.match(err.message, /keep\.txt/);
      return true;
    });
    assert.equal(await readFile(keep, "utf8"), "old");
    await assert.rejects(writeOutput(join(dir, "fresh", "deep", "x.txt"), failing));
    await assert.rejects(stat(join(dir, "fresh")), /ENOENT/, "made folders are removed");
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith(".tmp")),
      [],
    );
  });

  it("refuses a folder and a path through a file, with the reason", async () => {
    await mkdir(join(dir, "folder.mp4"));
    await assert.rejects(prepareOutput(join(dir, "folder.mp4")), /folder\.mp4: it is a folder/);
    await writeFile(join(dir, "plain"), "x");
    await assert.rejects(
      prepareOutput(join(dir, "plain", "sub", "x.mp4")),
      /plain is a file, not a folder/,
    );
    await assert.rejects(prepareOutput(""), /output path is empty/);
  });

  it("fails at once, without spinning, where the file system allows no folders", async () => {
    const started = Date.now();
    await assert.rejects(prepareOutput("/proc/zoetrope-no/x.json"), /cannot create folder \/proc/);
    assert.ok(Date.now() - started < 2000);
  });

  it("writes through a character device and never replaces it", async () => {
    await writeFileSafely("/dev/null", "discarded");
    await writeMp4(tiny, "/dev/null");
    assert.ok((await lstat("/dev/null")).isCharacterDevice());
  });

  it("writes into a FIFO that has a reader, and refuses one without a reader instead of hanging", async () => {
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    await assert.rejects(writeFileSafely(fifo, "nobody"), /no program is reading from the pipe/);
    const reader = spawn("cat", [fifo]);
    const chunks: Buffer[] = [];
    reader.stdout.on("data", (b: Buffer) => chunks.push(b));
    const closed = new Promise((resolve) => reader.on("close", resolve));
    // Give cat a moment to open its end.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await writeFileSafely(fifo, "through the pipe");
    await closed;
    assert.equal(Buffer.concat(chunks).toString(), "through the pipe");
    assert.ok((await lstat(fifo)).isFIFO(), "still a FIFO");
  });

  it("replaces the file a symbolic link points to, keeping the link", async () => {
    const real = join(dir, "real.txt");
    const alias = join(dir, "alias.txt");
    await writeFile(real, "before");
    await symlink(real, alias);
    await writeFileSafely(alias, "after");
    assert.ok((await lstat(alias)).isSymbolicLink());
    assert.equal(await readFile(real, "utf8"), "after");
    await symlink(join(dir, "missing-target"), join(dir, "dangling"));
    await assert.rejects(
      prepareOutput(join(dir, "dangling")),
      /symbolic link to something that does not exist/,
    );
  });
});

describe("assertSeparate", () => {
  it("refuses two outputs with one name, and an output that is an input under another name", async () => {
    await assert.rejects(
      assertSeparate([
        { flag: "-o", path: join(dir, "same.mp4") },
        { flag: "--truth", path: join(dir, ".", "same.mp4") },
      ]),
      /--truth and -o both name .*same\.mp4/,
    );
    const input = join(dir, "input.mp4");
    await writeFile(input, "video");
    await link(input, join(dir, "hardlink.json"));
    await assert.rejects(
      assertSeparate(
        [{ flag: "--json", path: join(dir, "hardlink.json") }],
        [{ flag: "the video", path: input }],
      ),
      /--json .*hardlink\.json would overwrite the video .*input\.mp4/,
    );
    await assertSeparate(
      [{ flag: "--json", path: join(dir, "report.json") }],
      [{ flag: "the video", path: input }],
    );
  });
});

describe("checkMp4", () => {
  it("passes a whole MP4 and finds every cut in it", async () => {
    const path = join(dir, "whole.mp4");
    await writeMp4(tiny, path);
    const whole = await checkMp4(path);
    assert.equal(whole.complete, true, whole.problem);
    assert.ok(whole.boxes.includes("moov") && whole.boxes.includes("mdat"));
    const bytes = await readFile(path);
    for (const keep of [10, 100, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const cut = join(dir, `cut-${keep}.mp4`);
      await writeFile(cut, bytes.subarray(0, keep));
      const check = await checkMp4(cut);
      assert.equal(check.complete, false, `cut at ${keep} of ${bytes.length}`);
      assert.match(check.problem ?? "", /ends inside|stray bytes|no moov/);
    }
    const garbage = join(dir, "garbage.mp4");
    await writeFile(garbage, Buffer.concat([bytes, Buffer.from([0, 0, 0, 9, 1, 2, 3, 4, 5])]));
    assert.match((await checkMp4(garbage)).problem ?? "", /damaged data/);
    await truncate(garbage, 0);
    assert.equal((await checkMp4(garbage)).complete, false);
  });
});
