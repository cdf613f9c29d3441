/**
 * Issue 12: the long fuzz of the `zoetrope` command (src/cli/fuzz.ts; the quick one is
 * test/cli-fuzz.test.ts). Runs random and hostile command lines for a time budget and prints
 * the counts that must all be 0 (crashes, hangs, clobbered files, half-written files, failures
 * without an "error:" line), how the runs ended, and every problem with its arguments.
 *
 *   npx tsx bench/cli-fuzz.ts [--minutes 10] [--seed 1] [--workers 2]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fuzz } from "../src/cli/fuzz.ts";
import { cpuModel } from "./cpu-info.ts";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
}

const minutes = option("--minutes", 10);
const seed = option("--seed", 1);
const workers = option("--workers", 2);
const root = await mkdtemp(join(tmpdir(), "zoetrope-fuzz-bench-"));
const cpu = cpuModel();
console.log(`CPU: ${cpu.model}; seed ${seed}, ${workers} workers, ${minutes} min`);
const started = Date.now();
let lastReport = started;
try {
  const counts = await fuzz({
    root,
    seed,
    workers,
    budgetMs: minutes * 60_000,
    onRun: (c) => {
      if (Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        process.stderr.write(`${c.runs} runs, ${c.problems.length} problems\n`);
      }
    },
  });
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `${counts.runs} runs in ${seconds.toFixed(0)} s (${counts.succeeded} succeeded, ${counts.failed} failed)`,
  );
  console.log(
    `crashes ${counts.crashes}, hangs ${counts.hangs}, clobbered ${counts.clobbered}, half-written ${counts.halfWritten}, unclear ${counts.unclear}`,
  );
  // Outcomes are keyed "<command>: ok" or "<command>: <error line>".
  const byCommand = new Map<string, [number, number]>();
  for (const [what, n] of Object.entries(counts.outcomes)) {
    const command = what.slice(0, what.indexOf(":"));
    const [ok, all] = byCommand.get(command) ?? [0, 0];
    byCommand.set(command, [ok + (what.endsWith(": ok") ? n : 0), all + n]);
  }
  const commands = [...byCommand].sort((a, b) => b[1][1] - a[1][1]);
  console.log(
    `by command (ok/runs): ${commands.map(([c, [ok, all]]) => `${c || "(none)"} ${ok}/${all}`).join(", ")}`,
  );
  console.log("outcomes:");
  const outcomes = Object.entries(counts.outcomes).sort((a, b) => b[1] - a[1]);
  for (const [what, n] of outcomes.slice(0, 25)) console.log(`  ${String(n).padStart(5)}  ${what}`);
  if (counts.problems.length > 0) {
    console.log("problems:");
    for (const p of counts.problems) console.log(`  ${p}`);
  }
  process.exitCode = counts.problems.length > 0 ? 1 : 0;
} finally {
  await rm(root, { recursive: true, force: true });
}
