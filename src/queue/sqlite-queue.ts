/**
 * The embedded job queue: one SQLite file (WAL, so readers never wait on the writer) that any
 * number of processes on this machine may share. Every state change is one UPDATE guarded by
 * the current state and lease owner, so two workers can never both take or both finish a job.
 * Every take, finish and release is also appended to job_log: the record of what happened, which
 * the crash test reads to prove that no job ever completed twice.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import Database from "better-sqlite3";
import type {
  Claim,
  JobOutput,
  JobProgress,
  JobQueue,
  JobRecord,
  JobStatus,
  LeaseState,
  ListOptions,
} from "./types.ts";

/** A job whose worker died this many times is failed rather than taken again (it may be the cause). */
export const MAX_ATTEMPTS = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  settings TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  owner TEXT,
  lease_until INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  progress TEXT,
  output TEXT,
  error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);
CREATE TABLE IF NOT EXISTS job_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  at TEXT NOT NULL,
  event TEXT NOT NULL,
  owner TEXT,
  attempt INTEGER NOT NULL
);
`;

interface Row {
  seq: number;
  id: string;
  kind: string;
  settings: string;
  status: JobStatus;
  attempts: number;
  owner: string | null;
  lease_until: number;
  cancel_requested: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: string | null;
  output: string | null;
  error: string | null;
}

function toRecord(r: Row): JobRecord {
  return {
    id: r.id,
    kind: r.kind,
    settings: JSON.parse(r.settings),
    status: r.status,
    attempts: r.attempts,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    progress: r.progress ? JSON.parse(r.progress) : null,
    cancelRequested: r.cancel_requested === 1,
    output: r.output ? JSON.parse(r.output) : null,
    error: r.error,
  };
}

/** A lease owner names its machine and process, so a restarted server sees its dead predecessor. */
export function newOwnerId(): string {
  return `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
}

/** Whether a process with this id exists on this machine (a lease owner that died does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class SqliteQueue implements JobQueue {
  private readonly db: Database;

  constructor(file: string) {
    this.db = new Database(file, { timeout: 5000 });
    this.db.pragma("journal_mode = WAL");
    // FULL: a finished job survives a power cut, not only a killed process.
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
  }

  private now(): string {
    return new Date().toISOString();
  }

  private log(id: string, event: string, owner: string | null, attempt: number): void {
    this.db
      .prepare("INSERT INTO job_log (job_id, at, event, owner, attempt) VALUES (?, ?, ?, ?, ?)")
      .run(id, this.now(), event, owner, attempt);
  }

  private row(id: string): Row | undefined {
    return this.db.prepare<Row>("SELECT * FROM jobs WHERE id = ?").get(id);
  }

  async submit(kind: string, settings: Record<string, unknown>): Promise<JobRecord> {
    const id = randomUUID();
    this.db
      .prepare(
        "INSERT INTO jobs (id, kind, settings, status, created_at) VALUES (?, ?, ?, 'queued', ?)",
      )
      .run(id, kind, JSON.stringify(settings), this.now());
    return toRecord(this.row(id)!);
  }

  async get(id: string): Promise<JobRecord | null> {
    const r = this.row(id);
    return r ? toRecord(r) : null;
  }

  async list(opts: ListOptions): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.status) {
      where.push("status = ?");
      params.push(opts.status);
    }
    if (opts.before) {
      where.push("seq < (SELECT seq FROM jobs WHERE id = ?)");
      params.push(opts.before);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
    return this.db
      .prepare<Row>(sql)
      .all(...params, opts.limit)
      .map(toRecord);
  }

  async cancel(id: string): Promise<JobRecord | null> {
    const now = this.now();
    this.db.transaction(() => {
      const done = this.db
        .prepare(
          "UPDATE jobs SET status = 'canceled', finished_at = ? WHERE id = ? AND status = 'queued'",
        )
        .run(now, id);
      if (done.changes === 1) this.log(id, "canceled", null, this.row(id)!.attempts);
      else {
        this.db
          .prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = 'running'")
          .run(id);
      }
    })();
    const r = this.row(id);
    return r ? toRecord(r) : null;
  }

  /**
   * Lets go of jobs held by processes of this machine that no longer exist (a server killed with
   * kill -9 and restarted), so they need not wait for their leases to run out.
   */
  releaseDeadOwners(): number {
    const prefix = `${hostname()}/`;
    const running = this.db
      .prepare<Pick<Row, "id" | "owner" | "attempts">>(
        "SELECT id, owner, attempts FROM jobs WHERE status = 'running'",
      )
      .all();
    let released = 0;
    for (const r of running) {
      if (!r.owner?.startsWith(prefix)) continue;
      const pid = Number(r.owner.slice(prefix.length).split("/")[0]);
      if (!Number.isInteger(pid) || processAlive(pid)) continue;
      const res = this.db
        .prepare(
          "UPDATE jobs SET lease_until = 0 WHERE id = ? AND owner = ? AND status = 'running'",
        )
        .run(r.id, r.owner);
      if (res.changes === 1) {
        this.log(r.id, "owner-died", r.owner, r.attempts);
        released++;
      }
    }
    return released;
  }

  async claim(owner: string, leaseMs: number): Promise<Claim | null> {
    return this.db.transaction((): Claim | null => {
      const now = Date.now();
      for (;;) {
        const r = this.db
          .prepare<Row>(
            "SELECT * FROM jobs WHERE status = 'queued' OR (status = 'running' AND lease_until < ?) ORDER BY seq LIMIT 1",
          )
          .get(now);
        if (!r) return null;
        if (r.status === "running" && r.attempts >= MAX_ATTEMPTS) {
          // Its worker died every time it ran it: stop before it takes down another.
          this.db
            .prepare(
              "UPDATE jobs SET status = 'failed', finished_at = ?, owner = NULL, error = ? WHERE id = ?",
            )
            .run(
              this.now(),
              `the worker running it stopped ${r.attempts} times without finishing; not retried again`,
              r.id,
            );
          this.log(r.id, "failed", r.owner, r.attempts);
          continue;
        }
        // (A lease of 0 was released by releaseDeadOwners, which logged why.)
        if (r.status === "running" && r.lease_until > 0) {
          this.log(r.id, "lease-expired", r.owner, r.attempts);
        }
        this.db
          .prepare(
            "UPDATE jobs SET status = 'running', owner = ?, lease_until = ?, attempts = attempts + 1, started_at = ?, progress = NULL WHERE id = ?",
          )
          .run(owner, now + leaseMs, this.now(), r.id);
        this.log(r.id, "claimed", owner, r.attempts + 1);
        return { job: toRecord(this.row(r.id)!), owner };
      }
    })();
  }

  async renew(claim: Claim, leaseMs: number): Promise<LeaseState> {
    const res = this.db
      .prepare(
        "UPDATE jobs SET lease_until = ? WHERE id = ? AND owner = ? AND status = 'running' AND lease_until >= ?",
      )
      .run(Date.now() + leaseMs, claim.job.id, claim.owner, Date.now());
    const r = this.row(claim.job.id);
    return { held: res.changes === 1, cancelRequested: r?.cancel_requested === 1 };
  }

  async progress(claim: Claim, progress: JobProgress): Promise<void> {
    this.db
      .prepare("UPDATE jobs SET progress = ? WHERE id = ? AND owner = ? AND status = 'running'")
      .run(JSON.stringify(progress), claim.job.id, claim.owner);
  }

  private finish(claim: Claim, status: JobStatus, fields: { output?: JobOutput; error?: string }) {
    return this.db.transaction((): boolean => {
      // A lease that ran out no longer counts even if nobody has taken the job yet: whoever
      // takes it next would run it again, so this attempt must not also finish it.
      const res = this.db
        .prepare(
          "UPDATE jobs SET status = ?, finished_at = ?, output = ?, error = ?, owner = NULL WHERE id = ? AND owner = ? AND status = 'running' AND lease_until >= ?",
        )
        .run(
          status,
          this.now(),
          fields.output ? JSON.stringify(fields.output) : null,
          fields.error ?? null,
          claim.job.id,
          claim.owner,
          Date.now(),
        );
      if (res.changes !== 1) return false;
      this.log(claim.job.id, status, claim.owner, claim.job.attempts);
      return true;
    })();
  }

  async complete(claim: Claim, output: JobOutput): Promise<boolean> {
    return this.finish(claim, "succeeded", { output });
  }

  async fail(claim: Claim, error: string): Promise<boolean> {
    return this.finish(claim, "failed", { error });
  }

  async finishCanceled(claim: Claim): Promise<boolean> {
    return this.finish(claim, "canceled", {});
  }

  /** The job's history (claimed, lease-expired, owner-died, succeeded, …), oldest first. */
  history(id: string): { at: string; event: string; owner: string | null; attempt: number }[] {
    return this.db
      .prepare<{ at: string; event: string; owner: string | null; attempt: number }>(
        "SELECT at, event, owner, attempt FROM job_log WHERE job_id = ? ORDER BY seq",
      )
      .all(id);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
