/**
 * Issue 12: the quick fuzz. Random and hostile command lines (src/cli/fuzz.ts) for every command
 * (the model commands on a tiny model) through the real launcher, in sandboxes: none may crash,
 * hang, clobber a file, leave a half-written one, or fail without an "error:" line. The long run
 * is bench/cli-fuzz.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { fuzz } from "../src/cli/fuzz.ts";

let root = "";
before(async () => {
  root = await mkdtemp(join(tmpdir(), "zoetrope-cli-fuzz-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

it("random hostile command lines: no crash, hang, clobbered or half-written file, unclear failure", async () => {
  const counts = await fuzz({ root, seed: 2026, budgetMs: 10 * 60_000, maxRuns: 64, workers: 2 });
  assert.equal(counts.runs, 64);
  assert.ok(counts.failed > 0 && counts.succeeded > 0, "both failures and successes were driven");
  // The model commands ran to the end too (outcomes are keyed "<command>: ok" or the error).
  const ran = new Set(
    Object.keys(counts.outcomes)
      .filter((k) => k.endsWith(": ok"))
      .map((k) => k.split(":")[0]),
  );
  for (const command of ["generate", "train", "export"])
    assert.ok(ran.has(command), `a ${command} run succeeded: ${[...ran].join(", ")}`);
  const bad = {
    crashes: counts.crashes,
    hangs: counts.hangs,
    clobbered: counts.clobbered,
    halfWritten: counts.halfWritten,
    unclear: counts.unclear,
  };
  assert.deepEqual(
    bad,
    { crashes: 0, hangs: 0, clobbered: 0, halfWritten: 0, unclear: 0 },
    counts.problems.join("\n"),
  );
});
