/**
 * Sums up an ONNX Runtime profile (run any command with ZOETROPE_ORT_PROFILE=<prefix>; each
 * compiled program writes <prefix>_<date>.json at exit): where a program's run time goes, by op
 * type and by the costliest nodes, counting only the node executions of the runs (not session
 * set-up).
 *
 *   npx tsx tools/ort-profile.ts <profile.json> [--top 15]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; output_type_shape?: unknown[] };
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "15" } },
});
if (positionals.length !== 1)
  throw new Error("usage: tools/ort-profile.ts <profile.json> [--top N]");
const top = Number(values.top);
if (!Number.isInteger(top) || top < 1)
  throw new Error(`--top must be a positive integer, got ${values.top}`);
const events = JSON.parse(readFileSync(positionals[0], "utf8")) as ProfileEvent[];
if (!Array.isArray(events))
  throw new Error(`${positionals[0]}: not an ONNX Runtime profile (no event list)`);

const nodes = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"));
const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
const total = nodes.reduce((s, e) => s + e.dur, 0);
const runTotal = runs.reduce((s, e) => s + e.dur, 0);
const perRun = (us: number) => (runs.length ? us / runs.length / 1000 : 0);
console.log(
  `${runs.length} runs, ${perRun(runTotal).toFixed(1)} ms per run, ${perRun(total).toFixed(1)} ms of it in node kernels`,
);

const byOp = new Map<string, { us: number; n: number }>();
const byNode = new Map<string, { us: number; op: string; shape: string }>();
for (const e of nodes) {
  const op = e.args?.op_name ?? "?";
  const o = byOp.get(op) ?? { us: 0, n: 0 };
  o.us += e.dur;
  o.n++;
  byOp.set(op, o);
  const name = e.name.replace(/_kernel_time$/, "");
  const k = byNode.get(name) ?? {
    us: 0,
    op,
    shape: JSON.stringify(e.args?.output_type_shape ?? []),
  };
  k.us += e.dur;
  byNode.set(name, k);
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`.padStart(6);
console.log("\nby op type (ms per run, share):");
for (const [op, o] of [...byOp].sort((a, b) => b[1].us - a[1].us).slice(0, top))
  console.log(
    `  ${perRun(o.us).toFixed(2).padStart(8)} ${pct(o.us)}  ${op} ×${o.n / Math.max(1, runs.length)}`,
  );
console.log("\ncostliest nodes (ms per run, share, output shape):");
for (const [name, k] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, top))
  console.log(
    `  ${perRun(k.us).toFixed(2).padStart(8)} ${pct(k.us)}  ${k.op} ${name} ${k.shape.slice(0, 80)}`,
  );
