/**
 * Issue 14: scale-out on one machine. An API-only server and two `zoetrope worker` processes
 * share a data directory; jobs spread over both workers; one worker is killed with SIGKILL in the
 * middle of a job, and the other takes that job up again. Nothing is lost or done twice.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import Database from "better-sqlite3";
import { checkMp4 } from "../src/media/mp4-boxes.ts";
import type { JobRecord } from "../src/queue/types.ts";
import { bearer, type ServerProcess, spawnServer, spawnWorker } from "./server-process.ts";
import { readEvents } from "./server-sse.ts";

let dir = "";
const children: ServerProcess[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-server-workers-"));
});
after(async () => {
  for (const c of children) c.child.kill("SIGKILL");
  await Promise.all(children.map((c) => c.exited));
  await rm(dir, { recursive: true, force: true });
});

interface LogRow {
  job_id: string;
  event: string;
  owner: string | null;
}

const pidOf = (owner: string | null) => Number(owner?.split("/")[1]);

it("two workers share the queue; one killed mid-job, its job is retried by the other", async () => {
  const data = join(dir, "data");
  const api = await spawnServer(["--data-dir", data, "--concurrency", "0"]);
  children.push(api);
  const workers = [
    await spawnWorker(["--data-dir", data]),
    await spawnWorker(["--data-dir", data]),
  ];
  children.push(...workers);
  const pids = workers.map((w) => w.child.pid!);

  const ids: string[] = [];
  for (let seed = 0; seed < 8; seed++) {
    // The last job is larger (384×384, ~1 s here), so that its event stream sees it running.
    const side = seed === 7 ? 384 : 256;
    const res = await fetch(`${api.url}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(api.token) },
      body: JSON.stringify({
        kind: "world-render",
        settings: {
          prompt: "a yellow box sliding",
          seed,
          width: side,
          height: side,
          seconds: 20,
          lossless: true,
        },
      }),
    });
    assert.equal(res.status, 201);
    ids.push(((await res.json()) as JobRecord).id);
  }

  // The API's event stream for a job a worker process runs: progress from the queue, then the end.
  const streamed = readEvents(`${api.url}/jobs/${ids[7]}/events`, undefined, bearer(api.token));
  const db = new Database(join(data, "queue.sqlite"));
  const log = () =>
    db.prepare<LogRow>("SELECT job_id, event, owner FROM job_log ORDER BY seq").all();
  const running = () =>
    db
      .prepare<{ id: string; owner: string; progress: string | null }>(
        "SELECT id, owner, progress FROM jobs WHERE status = 'running'",
      )
      .all();

  // Once each worker has finished a job, kill one that is part-way through its next.
  let victim: { id: string; pid: number } | null = null;
  for (let i = 0; i < 6000 && !victim; i++) {
    const finishedBy = new Set(
      log()
        .filter((e) => e.event === "succeeded")
        .map((e) => pidOf(e.owner)),
    );
    if (pids.every((p) => finishedBy.has(p))) {
      for (const r of running()) {
        const p = r.progress ? (JSON.parse(r.progress) as { step: number; total: number }) : null;
        if (p && p.step > 0 && p.step < p.total / 2 && pids.includes(pidOf(r.owner))) {
          const w = workers[pids.indexOf(pidOf(r.owner))];
          w.child.kill("SIGKILL");
          victim = { id: r.id, pid: pidOf(r.owner) };
          break;
        }
      }
    }
    if (!victim) await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(victim, "a worker was killed in the middle of a job after both had finished one");

  const done: JobRecord[] = [];
  for (const id of ids) {
    for (let i = 0; i < 3000; i++) {
      const j = (await (
        await fetch(`${api.url}/jobs/${id}`, { headers: bearer(api.token) })
      ).json()) as JobRecord;
      if (j.status !== "queued" && j.status !== "running") {
        done.push(j);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const events = log();
  db.close();
  const sse = await streamed;
  // Attempt by attempt, steps only go forward (the job may be the one whose worker was killed).
  const steps = sse
    .filter((e) => e.event === "progress")
    .map((e) => e.data as { attempt: number; step: number })
    .map((d) => d.attempt * 1e6 + d.step);
  assert.ok(steps.length >= 1, "progress arrived through the queue");
  assert.deepEqual(
    steps,
    [...steps].sort((a, b) => a - b),
  );
  assert.equal(sse.at(-1)?.event, "end");
  assert.equal((sse.at(-1)!.data as { status: string }).status, "succeeded");

  assert.deepEqual(
    done.map((j) => j.status),
    ids.map(() => "succeeded"),
  );
  for (const id of ids) {
    const mine = events.filter((e) => e.job_id === id);
    assert.equal(mine.filter((e) => e.event === "succeeded").length, 1, JSON.stringify(mine));
  }
  const retried = events.filter((e) => e.job_id === victim.id);
  assert.deepEqual(
    retried.map((e) => e.event),
    ["claimed", "owner-died", "claimed", "succeeded"],
  );
  const survivor = pids.find((p) => p !== victim.pid);
  assert.equal(pidOf(retried[3].owner), survivor, "the other worker finished it");
  const outputs = (await readdir(join(data, "outputs"))).sort();
  assert.deepEqual(outputs, done.map((j) => j.output!.file).sort());
  for (const j of done) {
    assert.equal((await checkMp4(join(data, "outputs", j.output!.file))).complete, true);
  }
});
