/**
 * Issue 14: scale-out over Redis. A local redis-server (Debian's package, on a free loopback
 * port, nothing saved to disk) holds the queue; an API-only `serve --redis` and two
 * `worker --redis` processes share a data directory for uploads and outputs. Jobs spread over
 * both workers; one is killed with SIGKILL in the middle of a job, and the other takes that job
 * up again. Every job succeeds exactly once (the queue's own log says so) with a complete MP4.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { checkMp4 } from "../src/media/mp4-boxes.ts";
import { RedisQueue } from "../src/queue/redis-queue.ts";
import type { JobRecord } from "../src/queue/types.ts";
import { type ServerProcess, spawnServer, spawnWorker } from "./server-process.ts";

const redisMissing = spawnSync("redis-server", ["--version"]).error
  ? "redis-server is not installed (Debian: apt-get install redis-server)"
  : false;

let dir = "";
let redis: ChildProcess | null = null;
let queue: RedisQueue | null = null;
let direct: RedisQueue | null = null;
const children: ServerProcess[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Starts redis-server on loopback and resolves with its URL once it accepts connections. */
async function startRedis(): Promise<string> {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  redis = child;
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}): ${out}`));
    });
  });
  return `redis://127.0.0.1:${port}`;
}

/** The API token header, for a server that prints one (none when it serves without). */
function headers(p: ServerProcess): Record<string, string> {
  const token = (p as { token?: string | null }).token;
  return token ? { authorization: `Bearer ${token}` } : {};
}

let url = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-server-redis-"));
  if (!redisMissing) url = await startRedis();
});
after(async () => {
  for (const c of children) c.child.kill("SIGKILL");
  await Promise.all(children.map((c) => c.exited));
  await queue?.close();
  await direct?.close();
  if (redis && redis.exitCode === null) {
    const exited = new Promise((resolve) => redis!.once("exit", resolve));
    redis.kill("SIGKILL");
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

const pidOf = (owner: string | null) => Number(owner?.split("/")[1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const output = { file: "x.1.mp4", contentType: "video/mp4", bytes: 1, metadata: {} };

it("the Redis queue: order, cancel, leases, dead owners, attempts", {
  skip: redisMissing,
}, async () => {
  // Database 1, apart from the processes' queue below; stalled jobs looked for 5 times a second.
  const q = await RedisQueue.open(`${url}/1`, { stalledIntervalMs: 200 });
  direct = q;
  const live = `${hostname()}/${process.pid}/test`;
  // A process of this machine that has exited: its locks may be released at once.
  const deadPid = spawnSync(process.execPath, ["-e", ""]).pid!;
  const dead = `${hostname()}/${deadPid}/gone`;
  const submit = (seed: number) => q.submit("world-render", { seed });

  const [a, b, c] = [await submit(1), await submit(2), await submit(3)];
  assert.equal(a.status, "queued");
  assert.equal(a.attempts, 0);
  assert.deepEqual(
    (await q.list({ limit: 10 })).map((j) => j.id),
    [c.id, b.id, a.id],
  );
  assert.deepEqual(
    (await q.list({ limit: 10, before: b.id })).map((j) => j.id),
    [a.id],
  );
  assert.deepEqual(
    (await q.list({ limit: 1 })).map((j) => j.id),
    [c.id],
  );

  // Canceled while queued: at once, and never handed to a worker.
  const canceled = await q.cancel(c.id);
  assert.equal(canceled?.status, "canceled");
  assert.equal((await q.get(c.id))?.status, "canceled");
  assert.deepEqual(
    (await q.list({ limit: 10, status: "canceled" })).map((j) => j.id),
    [c.id],
  );

  // Taken oldest first; progress and cancel requests reach the holder; canceled when it stops.
  const ca = await q.claim(live, 5000);
  assert.equal(ca?.job.id, a.id);
  assert.equal(ca.job.status, "running");
  assert.equal(ca.job.attempts, 1);
  await q.progress(ca, { step: 3, total: 10 });
  assert.deepEqual((await q.get(a.id))?.progress, { step: 3, total: 10 });
  assert.equal((await q.cancel(a.id))?.cancelRequested, true);
  assert.deepEqual(await q.renew(ca, 5000), { held: true, cancelRequested: true });
  assert.equal(await q.finishCanceled(ca), true);
  assert.equal(await q.complete(ca, output), false, "finished once only");
  const a2 = await q.get(a.id);
  assert.equal(a2?.status, "canceled");
  assert.equal(a2.output, null);

  // A job held by a process that died is released by a worker of the same machine and taken
  // again; the dead holder's lease no longer finishes it.
  const cb = await q.claim(dead, 60_000);
  assert.equal(cb?.job.id, b.id);
  assert.equal(await q.claim(live, 5000), null, "nothing else is queued");
  assert.equal(await q.releaseDeadOwners(), 1);
  const cb2 = await q.claim(live, 5000);
  assert.equal(cb2?.job.id, b.id);
  assert.equal(cb2.job.attempts, 2);
  assert.equal(cb2.job.progress, null);
  assert.equal(await q.complete(cb, output), false);
  assert.deepEqual(await q.renew(cb, 5000), { held: false, cancelRequested: false });
  assert.equal(await q.complete(cb2, output), true);
  const b2 = await q.get(b.id);
  assert.equal(b2?.status, "succeeded");
  assert.deepEqual(b2.output, output);
  assert.deepEqual(
    (await q.history(b.id)).map((e) => [e.event, e.attempt]),
    [
      ["claimed", 1],
      ["owner-died", 1],
      ["claimed", 2],
      ["succeeded", 2],
    ],
  );

  // A lease that runs out (a worker on another machine gone quiet): BullMQ's stalled check puts
  // the job back, and the old holder can neither renew nor finish it.
  const d = await submit(4);
  const cd = await q.claim(live, 150);
  assert.equal(cd?.job.id, d.id);
  let cd2: Awaited<ReturnType<typeof q.claim>> = null;
  for (let i = 0; i < 100 && !cd2; i++) {
    await sleep(20);
    cd2 = await q.claim(live, 5000);
  }
  assert.equal(cd2?.job.id, d.id, "taken again after its lease ran out");
  assert.equal(cd2.job.attempts, 2);
  assert.equal((await q.renew(cd, 5000)).held, false);
  assert.equal(await q.fail(cd, "late"), false);
  assert.equal(await q.fail(cd2, "the kind failed"), true);
  const d2 = await q.get(d.id);
  assert.equal(d2?.status, "failed");
  assert.equal(d2.error, "the kind failed");

  // A job whose worker died every time it ran it is failed, not run a fourth time.
  const e = await submit(5);
  for (let attempt = 1; attempt <= 3; attempt++) {
    assert.equal((await q.claim(dead, 60_000))?.job.id, e.id);
    assert.equal(await q.releaseDeadOwners(), 1);
  }
  assert.equal(await q.claim(live, 5000), null);
  const e2 = await q.get(e.id);
  assert.equal(e2?.status, "failed");
  assert.match(e2.error ?? "", /stopped 3 times/);
});

it("two workers on one Redis queue; one killed mid-job, its job is retried by the other", {
  skip: redisMissing,
  timeout: 90_000,
}, async () => {
  const data = join(dir, "data");
  const [api, ...workers] = await Promise.all([
    spawnServer(["--data-dir", data, "--concurrency", "0", "--redis", url]),
    spawnWorker(["--data-dir", data, "--redis", url]),
    spawnWorker(["--data-dir", data, "--redis", url]),
  ]);
  children.push(api, ...workers);
  const pids = workers.map((w) => w.child.pid!);
  // The test reads the queue's log (who took and finished what) straight from Redis.
  queue = await RedisQueue.open(url);
  const q = queue;

  const ids: string[] = [];
  for (let seed = 0; seed < 8; seed++) {
    const res = await fetch(`${api.url}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers(api) },
      // 480 lossless 32×32 frames: a few hundred milliseconds each, long enough for both
      // workers to take some and for one to be killed part-way through.
      body: JSON.stringify({
        kind: "world-render",
        settings: {
          prompt: "a yellow box sliding",
          seed,
          width: 32,
          height: 32,
          seconds: 20,
          lossless: true,
        },
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    ids.push(((await res.json()) as JobRecord).id);
  }
  const getJob = async (id: string) =>
    (await (await fetch(`${api.url}/jobs/${id}`, { headers: headers(api) })).json()) as JobRecord;

  // Once each worker has finished a job, kill one that is part-way through its next.
  let victim: { id: string; pid: number } | null = null;
  for (let i = 0; i < 4000 && !victim; i++) {
    const logs = await Promise.all(ids.map((id) => q.history(id)));
    const finishedBy = new Set(
      logs
        .flat()
        .filter((e) => e.event === "succeeded")
        .map((e) => pidOf(e.owner)),
    );
    if (pids.every((p) => finishedBy.has(p))) {
      for (const [n, id] of ids.entries()) {
        const last = logs[n].at(-1);
        if (last?.event !== "claimed") continue;
        const j = await q.get(id);
        const p = j?.progress;
        if (j?.status === "running" && p && p.step > 0 && p.step < p.total / 2) {
          const w = workers[pids.indexOf(pidOf(last.owner))];
          if (!w) continue;
          w.child.kill("SIGKILL");
          victim = { id, pid: pidOf(last.owner) };
          break;
        }
      }
    }
    if (!victim) await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(victim, "a worker was killed in the middle of a job after both had finished one");

  const done: JobRecord[] = [];
  for (const id of ids) {
    for (let i = 0; i < 1500; i++) {
      const j = await getJob(id);
      if (j.status !== "queued" && j.status !== "running") {
        done.push(j);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  assert.deepEqual(
    done.map((j) => j.status),
    ids.map(() => "succeeded"),
    JSON.stringify(done.map((j) => j.error)),
  );

  const survivor = pids.find((p) => p !== victim.pid);
  const finishers = new Map<number, number>();
  for (const id of ids) {
    const mine = await q.history(id);
    const succeeded = mine.filter((e) => e.event === "succeeded");
    assert.equal(succeeded.length, 1, JSON.stringify(mine));
    const pid = pidOf(succeeded[0].owner);
    finishers.set(pid, (finishers.get(pid) ?? 0) + 1);
  }
  // Both workers ran jobs (the spread), and no job was finished by anyone else.
  assert.deepEqual([...finishers.keys()].sort(), [...pids].sort(), JSON.stringify(finishers));

  const retried = await q.history(victim.id);
  assert.deepEqual(
    retried.map((e) => e.event),
    ["claimed", "owner-died", "claimed", "succeeded"],
  );
  assert.equal(pidOf(retried[0].owner), victim.pid);
  assert.equal(pidOf(retried[2].owner), survivor, "the other worker took it up again");
  assert.equal(pidOf(retried[3].owner), survivor, "and finished it");
  const again = done[ids.indexOf(victim.id)];
  assert.equal(again.attempts, 2, "the killed job was taken twice");
  for (const j of done) if (j.id !== victim.id) assert.equal(j.attempts, 1, j.id);
  // The API lists them from Redis, newest first.
  const listed = (await (
    await fetch(`${api.url}/jobs?limit=20`, { headers: headers(api) })
  ).json()) as {
    jobs: JobRecord[];
  };
  assert.deepEqual(
    listed.jobs.map((j) => j.id),
    [...ids].reverse(),
  );

  // Only the recorded outputs are left (the killed attempt's partial file is gone), all whole.
  const outputs = (await readdir(join(data, "outputs"))).sort();
  assert.deepEqual(outputs, done.map((j) => j.output!.file).sort());
  assert.ok(again.output!.file.startsWith(`${victim.id}.2.`));
  for (const j of done) {
    assert.equal((await checkMp4(join(data, "outputs", j.output!.file))).complete, true);
  }
});
