/**
 * Issue 14 load check: many concurrent clients drive the HTTP API on loopback for a bounded time
 * — submit, poll, stream events, cancel — and every request's latency is recorded. Two phases in
 * one run: the API alone (no worker: the baseline) and the API while its worker runs the jobs.
 * At the end every submitted job must exist and reach an end state: errors and lost jobs are
 * counted and printed. Run: node --import tsx bench/server-load.ts [clients] [seconds]
 */
import { execSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobRecord } from "../src/queue/types.ts";
import { startServer } from "../src/server/server.ts";

const clients = Number(process.argv[2] ?? 16);
const seconds = Number(process.argv[3] ?? 8);
const settings = { prompt: "a red ball bouncing", width: 32, height: 32, seconds: 1, fps: 8 };

interface PhaseResult {
  latencies: Map<string, number[]>;
  errors: string[];
  submitted: string[];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The bearer token of the server under test (auth stays on, as users run it). */
let token = "";
/** fetch with the token. */
function api(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` };
  return fetch(url, { ...init, headers });
}

async function timed<T>(r: PhaseResult, op: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const v = await f();
  const ms = performance.now() - t0;
  const list = r.latencies.get(op) ?? [];
  list.push(ms);
  r.latencies.set(op, list);
  return v;
}

async function client(url: string, r: PhaseResult, until: number, n: number): Promise<void> {
  for (let round = 0; performance.now() < until; round++) {
    try {
      const res = await timed(r, "submit", () =>
        api(`${url}/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ kind: "world-render", settings: { ...settings, seed: round } }),
        }),
      );
      if (res.status !== 201) throw new Error(`submit: ${res.status}`);
      const job = (await res.json()) as JobRecord;
      r.submitted.push(job.id);
      const mode = (n + round) % 3;
      if (mode === 0) {
        // Poll a few times.
        for (let i = 0; i < 5; i++) {
          const g = await timed(r, "get", () => api(`${url}/jobs/${job.id}`));
          if (g.status !== 200) throw new Error(`get: ${g.status}`);
          await g.json();
        }
      } else if (mode === 1) {
        // Open the event stream: time to its first event, then let go.
        const ac = new AbortController();
        const s = await timed(r, "events (first byte)", async () => {
          const res = await api(`${url}/jobs/${job.id}/events`, { signal: ac.signal });
          await res.body!.getReader().read();
          return res;
        });
        if (s.status !== 200) throw new Error(`events: ${s.status}`);
        ac.abort();
      } else {
        const c = await timed(r, "cancel", () =>
          api(`${url}/jobs/${job.id}/cancel`, { method: "POST" }),
        );
        // 409: it had already finished, which is a right answer too.
        if (c.status !== 200 && c.status !== 409) throw new Error(`cancel: ${c.status}`);
        await c.arrayBuffer();
      }
      const l = await timed(r, "list", () => api(`${url}/jobs?limit=20`));
      if (l.status !== 200) throw new Error(`list: ${l.status}`);
      await l.json();
    } catch (err) {
      r.errors.push((err as Error).message);
    }
  }
}

async function phase(name: string, concurrency: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "zoetrope-server-load-"));
  // Rate limits off: the clients are many and one token, and their load is what is measured.
  const server = await startServer({
    dataDir: dir,
    port: 0,
    host: "127.0.0.1",
    concurrency,
    rateLimit: { perSecond: 0, burst: 0 },
  });
  token = server.auth?.token ?? "";
  const r: PhaseResult = { latencies: new Map(), errors: [], submitted: [] };
  const until = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, (_, i) => client(server.url, r, until, i)));
  // Drain: with a worker, every job must reach an end state; without, every job must still exist.
  let lost = 0;
  let unfinished = 0;
  const drainUntil = performance.now() + 120_000;
  for (const id of r.submitted) {
    for (;;) {
      const res = await api(`${server.url}/jobs/${id}`);
      if (res.status !== 200) {
        lost++;
        break;
      }
      const j = (await res.json()) as JobRecord;
      const ended = j.status !== "queued" && j.status !== "running";
      if (concurrency === 0 || ended) break;
      if (performance.now() > drainUntil) {
        unfinished++;
        break;
      }
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }
  const byStatus = new Map<string, number>();
  for (const j of (
    (await (await api(`${server.url}/jobs?limit=500`)).json()) as { jobs: JobRecord[] }
  ).jobs) {
    byStatus.set(j.status, (byStatus.get(j.status) ?? 0) + 1);
  }
  await server.close();
  await rm(dir, { recursive: true, force: true });
  console.log(`\n## ${name}: ${clients} clients, ${seconds} s`);
  console.log(
    `jobs submitted ${r.submitted.length}, errors ${r.errors.length}, lost ${lost}, unfinished ${unfinished}; last 500 by status: ${JSON.stringify(Object.fromEntries(byStatus))}`,
  );
  if (r.errors.length) console.log(`first errors: ${r.errors.slice(0, 3).join("; ")}`);
  console.log("| request | count | p50 ms | p95 ms |");
  console.log("| --- | --- | --- | --- |");
  for (const [op, list] of r.latencies) {
    const s = [...list].sort((a, b) => a - b);
    console.log(
      `| ${op} | ${s.length} | ${quantile(s, 0.5).toFixed(1)} | ${quantile(s, 0.95).toFixed(1)} |`,
    );
  }
}

console.log(execSync("lscpu | grep 'Model name'").toString().trim());
console.log(`node ${process.version}`);
// Warm-up (JIT, SQLite, ffmpeg in the page cache), not reported.
const warm = await startServer({
  dataDir: await mkdtemp(join(tmpdir(), "zoetrope-server-warm-")),
  port: 0,
  host: "127.0.0.1",
  rateLimit: { perSecond: 0, burst: 0 },
});
token = warm.auth?.token ?? "";
await api(`${warm.url}/jobs`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ kind: "world-render", settings }),
});
await new Promise((ok) => setTimeout(ok, 1000));
await warm.close();
await phase("baseline: API only, no worker", 0);
await phase("API while one worker runs the jobs", 1);
