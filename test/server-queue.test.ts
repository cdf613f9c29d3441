/**
 * Issue 14: the SQLite queue's lease rules, directly — one claim per job, a lost lease cannot
 * finish a job, an expired lease is taken up again, a job whose worker keeps dying is failed,
 * cancel of queued and running jobs, listing and paging.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { MAX_ATTEMPTS, SqliteQueue } from "../src/queue/sqlite-queue.ts";

let dir = "";
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-server-queue-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
const open = () => new SqliteQueue(join(dir, `q${n++}.sqlite`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const output = { file: "x.mp4", contentType: "video/mp4", bytes: 1, metadata: {} };

it("gives each job to one claimant, oldest first, and only the holder finishes it", async () => {
  const q = open();
  const a = await q.submit("k", { i: 1 });
  const b = await q.submit("k", { i: 2 });
  const c1 = await q.claim("w1", 10_000);
  const c2 = await q.claim("w2", 10_000);
  assert.equal(c1?.job.id, a.id);
  assert.equal(c2?.job.id, b.id);
  assert.equal(await q.claim("w3", 10_000), null, "nothing left");
  assert.equal(await q.complete({ job: c1!.job, owner: "w2" }, output), false, "not the holder");
  assert.equal(await q.complete(c1!, output), true);
  assert.equal(await q.complete(c1!, output), false, "never twice");
  assert.equal((await q.get(a.id))?.status, "succeeded");
  assert.equal((await q.get(a.id))?.output?.file, "x.mp4");
  await q.close();
});

it("takes a job up again once its lease runs out, and the old holder can no longer finish it", async () => {
  const q = open();
  const job = await q.submit("k", {});
  const first = (await q.claim("w1", 40))!;
  await sleep(60);
  assert.equal((await q.renew(first, 40)).held, false, "an expired lease is not renewed");
  const second = (await q.claim("w2", 10_000))!;
  assert.equal(second.job.id, job.id);
  assert.equal(second.job.attempts, 2);
  assert.equal(await q.complete(first, output), false);
  assert.equal(await q.complete(second, output), true);
  assert.deepEqual(
    q.history(job.id).map((e) => e.event),
    ["claimed", "lease-expired", "claimed", "succeeded"],
  );
  await q.close();
});

it("fails a job whose worker stopped without finishing it too many times", async () => {
  const q = open();
  const job = await q.submit("k", {});
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    assert.ok(await q.claim(`w${i}`, 1));
    await sleep(5);
  }
  assert.equal(await q.claim("w", 1), null);
  const rec = (await q.get(job.id))!;
  assert.equal(rec.status, "failed");
  assert.match(rec.error!, /stopped 3 times/);
  await q.close();
});

it("cancels queued jobs at once and flags running ones for their worker", async () => {
  const q = open();
  const running = await q.submit("k", {});
  const queued = await q.submit("k", {});
  const claim = (await q.claim("w", 10_000))!;
  assert.equal((await q.cancel(queued.id))?.status, "canceled");
  assert.equal(await q.claim("w", 10_000), null, "a canceled job is never taken");
  const flagged = (await q.cancel(running.id))!;
  assert.equal(flagged.status, "running");
  assert.equal(flagged.cancelRequested, true);
  assert.deepEqual(await q.renew(claim, 10_000), { held: true, cancelRequested: true });
  assert.equal(await q.finishCanceled(claim), true);
  assert.equal((await q.get(running.id))?.status, "canceled");
  await q.close();
});

it("lists newest first, by status, in pages", async () => {
  const q = open();
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await q.submit("k", { i })).id);
  await q.cancel(ids[1]);
  assert.deepEqual(
    (await q.list({ limit: 2 })).map((j) => j.id),
    [ids[4], ids[3]],
  );
  assert.deepEqual(
    (await q.list({ limit: 10, before: ids[3] })).map((j) => j.id),
    [ids[2], ids[1], ids[0]],
  );
  assert.deepEqual(
    (await q.list({ limit: 10, status: "canceled" })).map((j) => j.id),
    [ids[1]],
  );
  await q.close();
});

it("keeps its jobs across closing and reopening the file", async () => {
  const file = join(dir, "persist.sqlite");
  const q1 = new SqliteQueue(file);
  const job = await q1.submit("k", { prompt: "a" });
  await q1.close();
  const q2 = new SqliteQueue(file);
  assert.deepEqual((await q2.get(job.id))?.settings, { prompt: "a" });
  assert.equal((await q2.claim("w", 1000))?.job.id, job.id);
  await q2.close();
});
