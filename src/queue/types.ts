/**
 * The job queue every server and worker talks to, whatever stores it (SQLite today). A job is
 * taken with a lease: the worker holding it renews the lease while it runs, and only the holder
 * of a live lease can finish it. A worker that dies simply stops renewing; the job is then taken
 * up again by another worker (or the same server after a restart) — never lost, and never
 * finished twice, because finishing checks the lease. Every call is asynchronous so that a
 * networked store (Redis through BullMQ, whose manual job API has the same take / extend lock /
 * move to completed shape) can stand behind the same interface.
 */

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "canceled";

export const TERMINAL: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "canceled"]);

export interface JobProgress {
  step: number;
  total: number;
}

export interface JobOutput {
  /** File name under the data directory's outputs folder (never a user-given path). */
  file: string;
  contentType: string;
  bytes: number;
  /** What the kind says about its output (e.g. caption, size, frame count). */
  metadata: Record<string, unknown>;
}

export interface JobRecord {
  id: string;
  kind: string;
  settings: Record<string, unknown>;
  status: JobStatus;
  /** How many times a worker has taken the job (more than 1 after a worker died mid-job). */
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: JobProgress | null;
  cancelRequested: boolean;
  output: JobOutput | null;
  error: string | null;
}

/** A job a worker holds: the record plus the lease it must present to renew or finish it. */
export interface Claim {
  job: JobRecord;
  owner: string;
}

export interface LeaseState {
  /** False once the lease expired and someone else may have the job: stop and drop the work. */
  held: boolean;
  cancelRequested: boolean;
}

export interface ListOptions {
  status?: JobStatus;
  limit: number;
  /** Only jobs submitted before this one (paging, newest first). */
  before?: string;
}

export interface JobQueue {
  submit(kind: string, settings: Record<string, unknown>): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | null>;
  list(opts: ListOptions): Promise<JobRecord[]>;
  /** Queued jobs are canceled at once; running ones are asked to stop (see LeaseState). */
  cancel(id: string): Promise<JobRecord | null>;
  /** Takes the oldest job that is queued or whose lease has run out, or returns null. */
  claim(owner: string, leaseMs: number): Promise<Claim | null>;
  renew(claim: Claim, leaseMs: number): Promise<LeaseState>;
  progress(claim: Claim, progress: JobProgress): Promise<void>;
  /** True when this claim finished the job; false when the lease was lost (drop the output). */
  complete(claim: Claim, output: JobOutput): Promise<boolean>;
  fail(claim: Claim, error: string): Promise<boolean>;
  finishCanceled(claim: Claim): Promise<boolean>;
  close(): Promise<void>;
}
