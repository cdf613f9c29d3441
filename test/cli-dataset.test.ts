/**
 * Issue 12: `world dataset` is always consistent — interrupted, it leaves whole clips and an
 * index listing exactly them, and a rerun (or --resume) finishes the same dataset an
 * uninterrupted run makes.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli, runCliUntil } from "../src/cli/run-cli.ts";
import { verifyDataset } from "../src/data/dataset-index.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-cli-dataset-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const shape = ["--width", "32", "--height", "32", "--seconds", "1", "--fps", "8", "--seed", "6"];

/** Every name under `root`, recursively, relative to it. */
async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.map(String).sort();
}

describe("zoetrope world dataset", () => {
  it("stopped by SIGINT leaves a consistent folder that --resume finishes", async () => {
    const out = join(dir, "interrupted");
    const stopped = await runCliUntil(
      ["world", "dataset", "--count", "12", "-o", out, ...shape],
      // The progress line says clips are landing; stop in the middle of the run.
      (stderr) => /[2-9]\/12 clips written|1[01]\/12 clips written/.test(stderr),
      "SIGINT",
    );
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /stopped by SIGINT; unfinished files were removed/);
    const left = await tree(out);
    assert.deepEqual(
      left.filter((n) => /\.tmp$|partial/.test(n)),
      [],
      "no temporary files or staging folders",
    );
    const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
    assert.equal(index.complete, false);
    assert.ok(index.clips.length >= 1 && index.clips.length < 12, `${index.clips.length} clips`);
    // Exactly the indexed clips are on disk.
    const folders = (await readdir(out)).filter((n) => n.startsWith("clip-"));
    assert.deepEqual(
      folders.sort(),
      index.clips.map((c: { name: string }) => c.name),
    );

    const resumed = await runCli(["world", "dataset", "--resume", "-o", out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /kept from an earlier run/);
    const done = await verifyDataset(out);
    assert.equal(done.clips.length, 12);

    // The same clips as an uninterrupted run.
    const whole = join(dir, "whole");
    const r = await runCli(["world", "dataset", "--count", "12", "-o", whole, ...shape]);
    assert.equal(r.code, 0, r.stderr);
    const wholeIndex = await verifyDataset(whole);
    assert.deepEqual(done.clips, wholeIndex.clips);

    const again = await runCli(["world", "dataset", "--count", "12", "-o", out, ...shape]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already holds all 12 clips/);
  });

  it("fails at once on a folder it cannot create, and refuses other settings on a dataset", async () => {
    const started = Date.now();
    const proc = await runCli(["world", "dataset", "--count", "1", "-o", "/proc/ds", ...shape]);
    assert.notEqual(proc.code, 0);
    assert.match(proc.stderr, /error: cannot create folder \/proc\/ds/);
    assert.ok(Date.now() - started < 10_000, "no spinning");

    const out = join(dir, "settings");
    const first = await runCli(["world", "dataset", "--count", "1", "-o", out, ...shape]);
    assert.equal(first.code, 0, first.stderr);
    const other = await runCli([
      ...["world", "dataset", "--count", "2", "-o", out],
      ...shape.slice(0, -1),
      "7",
    ]);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /made with other settings \(seed 6, not 7\)/);
    const noIndex = await runCli(["world", "dataset", "--resume", "-o", join(dir, "nothing")]);
    assert.match(noIndex.stderr, /cannot resume .*nothing: it holds no dataset index/);
  });
});
