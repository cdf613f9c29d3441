/**
 * Issue 14: a server killed with SIGKILL in the middle of a job loses nothing. Three world-render
 * jobs are submitted, the server is killed while one of them is being encoded, and a new server
 * on the same data directory finishes all three: each exactly once (the queue's own log says
 * so), each with a complete MP4, and no half-written file left behind.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import Database from "better-sqlite3";
import { checkMp4 } from "../src/media/mp4-boxes.ts";
import { readVideo } from "../src/media/read-video.ts";
import type { JobRecord } from "../src/queue/types.ts";
import { bearer, type ServerProcess, spawnServer } from "./server-process.ts";

let dir = "";
const running: ServerProcess[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-server-crash-"));
});
after(async () => {
  for (const s of running) s.child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

async function getJob(s: ServerProcess, id: string): Promise<JobRecord> {
  return (await (
    await fetch(`${s.url}/jobs/${id}`, { headers: bearer(s.token) })
  ).json()) as JobRecord;
}

it("a job running when the server is killed with SIGKILL is finished once after a restart", async () => {
  const data = join(dir, "data");
  const first = await spawnServer(["--data-dir", data]);
  running.push(first);
  const ids: string[] = [];
  for (const seed of [1, 2, 3]) {
    const res = await fetch(`${first.url}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(first.token) },
      // 480 lossless 256×256 frames: long enough (~0.5 s) to be killed in the middle.
      body: JSON.stringify({
        kind: "world-render",
        settings: {
          prompt: "a red ball bouncing",
          seed,
          width: 256,
          height: 256,
          seconds: 20,
          lossless: true,
        },
      }),
    });
    assert.equal(res.status, 201);
    ids.push(((await res.json()) as JobRecord).id);
  }
  // Kill it while the second job is part-way through (the first has finished by then).
  let killedMidJob: JobRecord | null = null;
  for (let i = 0; i < 3000 && !killedMidJob; i++) {
    const j = await getJob(first, ids[1]);
    const step = j.progress?.step ?? 0;
    if (j.status === "running" && step > 0 && step < (j.progress?.total ?? 0) / 2) {
      first.child.kill("SIGKILL");
      killedMidJob = j;
    } else if (j.status !== "queued" && j.status !== "running") break;
    else await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(killedMidJob, "the server was killed in the middle of a job");
  assert.equal(await first.exited, "SIGKILL");

  const second = await spawnServer(["--data-dir", data]);
  running.push(second);
  assert.ok(first.token, "the first start printed the token");
  assert.equal(second.token, first.token, "the restart kept the token");
  const done: JobRecord[] = [];
  for (const id of ids) {
    for (let i = 0; i < 3000; i++) {
      const j = await getJob(second, id);
      if (j.status !== "queued" && j.status !== "running") {
        done.push(j);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  second.child.kill("SIGTERM");
  await second.exited;

  assert.deepEqual(
    done.map((j) => j.status),
    ["succeeded", "succeeded", "succeeded"],
    JSON.stringify(done.map((j) => j.error)),
  );
  assert.equal(done[1].attempts, 2, "the killed job was taken up again");
  assert.equal(done[0].attempts, 1);

  const outputs = (await readdir(join(data, "outputs"))).sort();
  assert.deepEqual(outputs, done.map((j) => j.output!.file).sort(), "only the recorded outputs");
  for (const j of done) {
    assert.equal((await checkMp4(join(data, "outputs", j.output!.file))).complete, true);
  }
  const video = await readVideo(join(data, "outputs", done[1].output!.file));
  assert.equal(video.frames.length, 480);
  assert.equal(video.width, 256);

  const db = new Database(join(data, "queue.sqlite"));
  const log = db
    .prepare<{ job_id: string; event: string; owner: string | null }>(
      "SELECT job_id, event, owner FROM job_log ORDER BY seq",
    )
    .all();
  db.close();
  for (const id of ids) {
    const events = log.filter((e) => e.job_id === id);
    assert.equal(
      events.filter((e) => e.event === "succeeded").length,
      1,
      `${id}: ${JSON.stringify(events)}`,
    );
  }
  const killed = log.filter((e) => e.job_id === ids[1]).map((e) => e.event);
  assert.deepEqual(killed, ["claimed", "owner-died", "claimed", "succeeded"]);
  const owners = new Set(
    log.filter((e) => e.job_id === ids[1] && e.event === "claimed").map((e) => e.owner),
  );
  assert.equal(owners.size, 2, "taken by a different process the second time");
});
