/**
 * The job queue on Redis through BullMQ, for one API in front of workers on many machines
 * (`zoetrope serve --redis URL`, `zoetrope worker --redis URL`). BullMQ's manual job API already
 * has the lease shape of JobQueue, so this is a thin layer over it:
 *
 * - claim: Worker.getNextJob(token) moves the oldest waiting job to active and locks it for the
 *   lease (the lock is a Redis key with an expiry; its value is the claim's token, which starts
 *   with the owner id, so a worker of this machine can tell that its holder died).
 * - renew: Job.extendLock(token), refused once the lock ran out or another token holds it.
 * - complete / fail / finishCanceled: Job.moveToCompleted / moveToFailed, which check the token
 *   and move the job in one Lua script, so only the live lease holder finishes a job, once.
 *   A canceled job is a completed one whose return value says so; a failed job is never retried
 *   by BullMQ (attempts 1): retries are only for workers that died.
 * - a dead worker: its lock runs out, and BullMQ's stalled-job check (run by every process that
 *   opens this queue) puts the job back at the head of the wait list for the next claim. A worker
 *   of the same machine releases the job of a dead process at once (releaseDeadOwners). A job
 *   started MAX_ATTEMPTS times without finishing is failed rather than run again.
 *
 * What BullMQ has no place for lives under our own keys beside it: the submission order (a
 * sorted set, for list's newest-first paging), cancel requests, the records of jobs canceled
 * while queued (BullMQ cannot cancel a waiting job in place: a small script takes it out of the
 * wait list and keeps its record in one step, then the job is removed from BullMQ), and a log of
 * takes and finishes like SQLite's job_log (what the tests read). Progress is written only by the lock holder (a
 * small script checks the lock first). The files stay where they are without Redis: uploads
 * and outputs are in the data directory, written atomically by the worker as before, so every
 * machine running workers must mount the same data directory.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Job, Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { MAX_ATTEMPTS, processAlive } from "./sqlite-queue.ts";
import {
  type Claim,
  type JobOutput,
  type JobProgress,
  type JobQueue,
  type JobRecord,
  type JobStatus,
  type LeaseState,
  type ListOptions,
  TERMINAL,
} from "./types.ts";

const QUEUE_NAME = "zoetrope-jobs";

/** What a job carries in BullMQ (its name is the kind). */
interface JobData {
  settings: Record<string, unknown>;
  createdAt: string;
}

/** The return value of a finished job: its output, or that it was canceled while running. */
type Finished = { status: "succeeded"; output: JobOutput } | { status: "canceled" };

type BullJob = Job<JobData, Finished, string>;

export interface HistoryEntry {
  at: string;
  event: string;
  owner: string | null;
  attempt: number;
}

export interface RedisQueueOptions {
  /** How often stalled jobs (lock run out) are looked for; a dead worker's job waits up to twice this. */
  stalledIntervalMs?: number;
  /** How long to wait for Redis at start before giving up. */
  connectTimeoutMs?: number;
}

/** BullMQ's codes for a finish refused because the lease is gone (missing job, lock, or not active). */
const LEASE_LOST = new Set([-1, -2, -3, -6]);

/** Sets a job's progress only while `token` holds its lock. */
const PROGRESS_IF_HELD = `
if redis.call("GET", KEYS[2]) == ARGV[1] then
  redis.call("HSET", KEYS[1], "progress", ARGV[2])
  return 1
end
return 0`;

/**
 * Takes a job out of the wait list and keeps its canceled record, in one step: a worker's take
 * (which pops the same list) either happened before, and then this does nothing, or never will.
 */
const CANCEL_IF_WAITING = `
if redis.call("LREM", KEYS[1], 1, ARGV[1]) == 1 then
  redis.call("HSET", KEYS[2], ARGV[1], ARGV[2])
  return 1
end
return 0`;

function iso(ms: number | undefined): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

function isProgress(p: unknown): p is JobProgress {
  return (
    typeof p === "object" &&
    p !== null &&
    typeof (p as JobProgress).step === "number" &&
    typeof (p as JobProgress).total === "number"
  );
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

export class RedisQueue implements JobQueue {
  private readonly ns = `zoetrope:${QUEUE_NAME}`;
  /** Jobs this process holds, by id (the objects BullMQ finishes them through). */
  private readonly held = new Map<string, BullJob>();

  private constructor(
    private readonly client: Redis,
    private readonly queue: Queue<JobData, Finished, string>,
    private readonly worker: Worker<JobData, Finished, string>,
  ) {}

  /** Connects to Redis at `url` (redis://[:password@]host:port[/db]) and starts the stalled-job check. */
  static async open(url: string, opts: RedisQueueOptions = {}): Promise<RedisQueue> {
    const client = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
    let lastError: Error | null = null;
    // ioredis reconnects by itself; until then its errors are only worth remembering.
    client.on("error", (err: Error) => {
      lastError = err;
    });
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect().then(() => client.ping()),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(lastError?.message ?? `no answer in ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      client.disconnect();
      // The socket's own error (e.g. ECONNREFUSED) says more than "Connection is closed".
      const why = (lastError as Error | null)?.message ?? (err as Error).message;
      throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${why}`);
    } finally {
      clearTimeout(timer);
    }
    const queue = new Queue<JobData, Finished, string>(QUEUE_NAME, { connection: client });
    const worker = new Worker<JobData, Finished, string>(QUEUE_NAME, null, {
      connection: client,
      autorun: false,
      stalledInterval: opts.stalledIntervalMs ?? 5000,
      // claim fails a job started MAX_ATTEMPTS times first; this is BullMQ's own backstop.
      maxStalledCount: MAX_ATTEMPTS,
    });
    const logError = (err: Error) => {
      if (err.message !== lastError?.message) process.stderr.write(`redis: ${err.message}\n`);
      lastError = err;
    };
    queue.on("error", logError);
    worker.on("error", logError);
    await worker.startStalledCheckTimer();
    return new RedisQueue(client, queue, worker);
  }

  private key(name: string): string {
    return `${this.ns}:${name}`;
  }

  private async log(id: string, event: string, owner: string | null, attempt: number) {
    const entry = { id, at: new Date().toISOString(), event, owner, attempt };
    await this.client.rpush(this.key("log"), JSON.stringify(entry));
  }

  /** The job's history (claimed, owner-died, succeeded, …), oldest first. */
  async history(id: string): Promise<HistoryEntry[]> {
    const all = await this.client.lrange(this.key("log"), 0, -1);
    return all
      .map((s) => JSON.parse(s) as HistoryEntry & { id: string })
      .filter((e) => e.id === id)
      .map(({ at, event, owner, attempt }) => ({ at, event, owner, attempt }));
  }

  private async toRecord(job: BullJob, state: string): Promise<JobRecord> {
    const cancelRequested = (await this.client.sismember(this.key("cancel"), job.id!)) === 1;
    let status: JobStatus;
    if (state === "active") status = "running";
    else if (state === "completed") status = job.returnvalue?.status ?? "succeeded";
    else if (state === "failed") status = "failed";
    else status = "queued";
    const rv = job.returnvalue;
    return {
      id: job.id!,
      kind: job.name,
      settings: job.data.settings,
      status,
      attempts: job.attemptsStarted,
      createdAt: job.data.createdAt,
      startedAt: iso(job.processedOn),
      finishedAt: TERMINAL.has(status) ? iso(job.finishedOn) : null,
      progress: isProgress(job.progress) ? job.progress : null,
      cancelRequested,
      output: status === "succeeded" && rv?.status === "succeeded" ? rv.output : null,
      error: status === "failed" ? (job.failedReason ?? null) : null,
    };
  }

  async submit(kind: string, settings: Record<string, unknown>): Promise<JobRecord> {
    const id = randomUUID();
    const seq = await this.client.incr(this.key("seq"));
    // Listed before it exists (list skips ids without a job), so no job is ever missing from list.
    await this.client.zadd(this.key("index"), seq, id);
    const job = await this.queue.add(
      kind,
      { settings, createdAt: new Date().toISOString() },
      { jobId: id, attempts: 1 },
    );
    return this.toRecord(job, "waiting");
  }

  async get(id: string): Promise<JobRecord | null> {
    // Canceled while queued: out of every BullMQ list for good, whatever is left of its job.
    const canceled = await this.client.hget(this.key("canceled"), id);
    if (canceled) return JSON.parse(canceled) as JobRecord;
    // The state first: a job that has finished already holds its return value when read after.
    const state = await this.queue.getJobState(id);
    const job = (await Job.fromId(this.queue, id)) as BullJob | undefined;
    return job ? this.toRecord(job, state) : null;
  }

  async list(opts: ListOptions): Promise<JobRecord[]> {
    let max = "+inf";
    if (opts.before) {
      const score = await this.client.zscore(this.key("index"), opts.before);
      if (score === null) return [];
      max = `(${score}`;
    }
    const out: JobRecord[] = [];
    const batch = Math.max(opts.limit, 50);
    for (let offset = 0; out.length < opts.limit; offset += batch) {
      const ids = await this.client.zrevrangebyscore(
        this.key("index"),
        max,
        "-inf",
        "LIMIT",
        offset,
        batch,
      );
      const records = await Promise.all(ids.map((id) => this.get(id)));
      for (const r of records) {
        if (r && (!opts.status || r.status === opts.status) && out.length < opts.limit) out.push(r);
      }
      if (ids.length < batch) break;
    }
    return out;
  }

  async cancel(id: string): Promise<JobRecord | null> {
    const rec = await this.get(id);
    if (!rec || TERMINAL.has(rec.status)) return rec;
    if (rec.status === "queued") {
      const canceled: JobRecord = {
        ...rec,
        status: "canceled",
        progress: null,
        finishedAt: new Date().toISOString(),
      };
      const taken = await this.client.eval(
        CANCEL_IF_WAITING,
        2,
        this.queue.keys.wait,
        this.key("canceled"),
        id,
        JSON.stringify(canceled),
      );
      if (taken === 1) {
        await this.log(id, "canceled", null, rec.attempts);
        // Its BullMQ keys are no longer needed (if this fails they are only clutter).
        await this.queue.remove(id).catch(() => 0);
        return canceled;
      }
      // A worker took it meanwhile: it is asked to stop like any running job.
      const now = await this.get(id);
      if (now?.status !== "running") return now;
    }
    await this.client.sadd(this.key("cancel"), id);
    return this.get(id);
  }

  /**
   * Lets go of jobs locked by processes of this machine that no longer exist (a worker killed
   * with kill -9), so they need not wait for their locks to run out. Only the dead holder's own
   * lock is removed (BullMQ checks the token), and the job goes back to the head of the queue.
   */
  async releaseDeadOwners(): Promise<number> {
    const prefix = `${hostname()}/`;
    let released = 0;
    for (const id of await this.client.lrange(this.queue.keys.active, 0, -1)) {
      const token = await this.client.get(`${this.queue.toKey(id)}:lock`);
      if (!token?.startsWith(prefix)) continue;
      const pid = Number(token.slice(prefix.length).split("/")[0]);
      if (!Number.isInteger(pid) || processAlive(pid)) continue;
      const job = (await Job.fromId(this.queue, id)) as BullJob | undefined;
      if (!job) continue;
      try {
        await job.moveToWait(token);
      } catch (err) {
        if (LEASE_LOST.has((err as { code?: number }).code ?? 0)) continue;
        throw err;
      }
      await this.log(id, "owner-died", token, job.attemptsStarted);
      released++;
    }
    return released;
  }

  async claim(owner: string, leaseMs: number): Promise<Claim | null> {
    // BullMQ reads the lock duration from the worker's options when it takes a job.
    this.worker.opts.lockDuration = leaseMs;
    for (;;) {
      // One token per claim: a late finish of an earlier attempt by the same owner is refused.
      const token = `${owner}/${randomUUID().slice(0, 8)}`;
      const job = (await this.worker.getNextJob(token, { block: false })) as BullJob | undefined;
      if (!job) return null;
      const started = job.attemptsStarted;
      if (job.deferredFailure || started > MAX_ATTEMPTS) {
        // Its worker died every time it ran it: stop before it takes down another.
        const why = `the worker running it stopped ${started - 1} times without finishing; not retried again`;
        await this.finish(job, () => job.moveToFailed(new Error(why), token, false));
        await this.log(job.id!, "failed", token, started);
        continue;
      }
      // Progress belongs to an attempt: an earlier one's is cleared.
      await this.setProgress(job.id!, token, null);
      job.progress = 0;
      this.held.set(job.id!, job);
      await this.log(job.id!, "claimed", token, started);
      return { job: await this.toRecord(job, "active"), owner: token };
    }
  }

  private async setProgress(id: string, token: string, progress: JobProgress | null) {
    const jobKey = this.queue.toKey(id);
    const done = await this.client.eval(
      PROGRESS_IF_HELD,
      2,
      jobKey,
      `${jobKey}:lock`,
      token,
      JSON.stringify(progress),
    );
    return done === 1;
  }

  private async jobOf(claim: Claim): Promise<BullJob | undefined> {
    return (
      this.held.get(claim.job.id) ??
      ((await Job.fromId(this.worker, claim.job.id)) as BullJob | undefined)
    );
  }

  async renew(claim: Claim, leaseMs: number): Promise<LeaseState> {
    const job = await this.jobOf(claim);
    const held = job ? (await job.extendLock(claim.owner, leaseMs)) === 1 : false;
    const cancelRequested = (await this.client.sismember(this.key("cancel"), claim.job.id)) === 1;
    return { held, cancelRequested };
  }

  async progress(claim: Claim, progress: JobProgress): Promise<void> {
    await this.setProgress(claim.job.id, claim.owner, progress);
  }

  /** Runs a finishing move; false when BullMQ refused it because the lease was gone. */
  private async finish(job: BullJob, move: () => Promise<unknown>) {
    try {
      await move();
      return true;
    } catch (err) {
      if (LEASE_LOST.has((err as { code?: number }).code ?? 0)) return false;
      throw err;
    } finally {
      if (this.held.get(job.id!) === job) this.held.delete(job.id!);
    }
  }

  private async finishAs(claim: Claim, event: JobStatus, move: (job: BullJob) => Promise<unknown>) {
    const job = await this.jobOf(claim);
    if (!job) return false;
    const done = await this.finish(job, () => move(job));
    if (done) await this.log(claim.job.id, event, claim.owner, claim.job.attempts);
    return done;
  }

  async complete(claim: Claim, output: JobOutput): Promise<boolean> {
    return this.finishAs(claim, "succeeded", (job) =>
      job.moveToCompleted({ status: "succeeded", output }, claim.owner, false),
    );
  }

  async fail(claim: Claim, error: string): Promise<boolean> {
    return this.finishAs(claim, "failed", (job) =>
      job.moveToFailed(new Error(error), claim.owner, false),
    );
  }

  async finishCanceled(claim: Claim): Promise<boolean> {
    return this.finishAs(claim, "canceled", (job) =>
      job.moveToCompleted({ status: "canceled" }, claim.owner, false),
    );
  }

  async close(): Promise<void> {
    await this.worker.close(true);
    await this.queue.close();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
