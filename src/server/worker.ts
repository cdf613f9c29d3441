/**
 * Runs queued jobs: takes one with a lease, renews the lease while the kind's runner works, and
 * finishes it only while the lease is still held. The output goes to a file named after the job
 * and attempt, so an attempt that lost its lease (and whose job someone else redoes) can never
 * overwrite or be mistaken for the output that was recorded.
 */
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Claim, JobQueue } from "../queue/types.ts";
import type { KindRegistry } from "./kinds.ts";
import { eta, type ProgressBus } from "./progress-bus.ts";
import type { Uploads } from "./uploads.ts";

export interface WorkerOptions {
  queue: JobQueue;
  kinds: KindRegistry;
  bus: ProgressBus;
  uploads: Uploads;
  /** Folder for outputs (inside the data directory). */
  outputDir: string;
  owner: string;
  /** Jobs run at once by this worker. */
  concurrency?: number;
  leaseMs?: number;
  /** How often to look for work when idle. */
  pollMs?: number;
  /** Called before each look for work (e.g. to release jobs of dead processes). */
  beforeClaim?: () => unknown;
  log?: (line: string) => void;
}

class LeaseLost extends Error {}

/**
 * Deletes what earlier attempts of a job left in the outputs folder (a temporary file of a worker
 * killed mid-write). Taking the job proves those attempts' leases are gone, so their files are
 * never the recorded output.
 */
async function removeEarlierAttempts(dir: string, id: string, attempt: number): Promise<void> {
  const mine = new RegExp(`^\\.?${id}\\.(\\d+)\\.`);
  for (const name of await readdir(dir)) {
    const m = mine.exec(name);
    if (m && Number(m[1]) < attempt) await rm(join(dir, name), { force: true });
  }
}
class Canceled extends Error {}

/** How often running jobs' progress is written to the queue (events go out on every step). */
const PERSIST_PROGRESS_MS = 250;

export class Worker {
  private readonly opts: Required<Omit<WorkerOptions, "beforeClaim" | "log">> &
    Pick<WorkerOptions, "beforeClaim" | "log">;
  private running = new Set<Promise<void>>();
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly controllers = new Map<string, AbortController>();

  constructor(opts: WorkerOptions) {
    this.opts = {
      ...opts,
      concurrency: opts.concurrency ?? 1,
      leaseMs: opts.leaseMs ?? 15_000,
      pollMs: opts.pollMs ?? 250,
    };
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Looks for work now instead of at the next poll (after a submit). */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.running.size < this.opts.concurrency) {
        let claim: Claim | null = null;
        try {
          await this.opts.beforeClaim?.();
          claim = await this.opts.queue.claim(this.opts.owner, this.opts.leaseMs);
        } catch (err) {
          // A busy or briefly unreadable queue file: try again at the next poll.
          this.opts.log?.(`cannot take a job from the queue: ${(err as Error).message}`);
        }
        if (claim) {
          const p: Promise<void> = this.execute(claim)
            // The queue refused a write (e.g. unreachable): the lease runs out and the job is
            // taken up again; this worker carries on.
            .catch((err) => this.opts.log?.(`job ${claim?.job.id}: ${(err as Error).message}`))
            .finally(() => {
              this.running.delete(p);
              this.poke();
            });
          this.running.add(p);
          continue;
        }
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.pollMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async execute(claim: Claim): Promise<void> {
    const { queue, kinds, bus, leaseMs } = this.opts;
    const job = claim.job;
    const kind = kinds.get(job.kind);
    const end = async () => {
      const rec = await queue.get(job.id);
      if (rec) bus.publish({ type: "end", job: rec });
    };
    if (!kind) {
      await queue.fail(claim, `no job kind ${JSON.stringify(job.kind)} on this worker`);
      return await end();
    }
    const parsed = kind.settings.safeParse(job.settings);
    if (!parsed.success) {
      await queue.fail(claim, `settings no longer valid: ${parsed.error.issues[0]?.message}`);
      return await end();
    }
    const controller = new AbortController();
    this.controllers.set(job.id, controller);
    let renewing = false;
    const renew = setInterval(
      () => {
        if (renewing) return;
        renewing = true;
        queue
          .renew(claim, leaseMs)
          .then((state) => {
            if (!state.held) controller.abort(new LeaseLost("the job's lease was lost"));
            else if (state.cancelRequested) controller.abort(new Canceled("canceled"));
          })
          // The store may be briefly unreachable; the next renewal tries again, and if the lease
          // runs out meanwhile, finishing is refused and the job is redone elsewhere.
          .catch((err) => this.opts.log?.(`job ${job.id}: cannot renew its lease: ${err.message}`))
          .finally(() => {
            renewing = false;
          });
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    const outputPath = join(
      this.opts.outputDir,
      `${job.id}.${job.attempts}.${kind.output.extension}`,
    );
    const started = Date.now();
    let lastPersist = 0;
    try {
      await mkdir(this.opts.outputDir, { recursive: true });
      await removeEarlierAttempts(this.opts.outputDir, job.id, job.attempts);
      const metadata = await kind.run({
        settings: parsed.data,
        outputPath,
        inputPath: (id) => this.opts.uploads.path(id),
        signal: controller.signal,
        progress: ({ step, total, preview }) => {
          const now = Date.now();
          bus.publish({
            type: "progress",
            jobId: job.id,
            attempt: job.attempts,
            step,
            total,
            etaSeconds: eta(started, now, step, total),
            ...(preview
              ? { preview: `data:image/png;base64,${Buffer.from(preview).toString("base64")}` }
              : {}),
          });
          if (now - lastPersist >= PERSIST_PROGRESS_MS || step === total) {
            lastPersist = now;
            queue
              .progress(claim, { step, total })
              .catch((err) => this.opts.log?.(`job ${job.id}: progress not saved: ${err.message}`));
          }
        },
      });
      if (controller.signal.aborted) throw controller.signal.reason;
      const info = await stat(outputPath).catch(() => null);
      if (!info?.isFile()) throw new Error(`the ${kind.name} runner finished without an output`);
      const done = await queue.complete(claim, {
        file: `${job.id}.${job.attempts}.${kind.output.extension}`,
        contentType: kind.output.contentType,
        bytes: info.size,
        metadata,
      });
      if (!done) {
        await rm(outputPath, { force: true });
        this.opts.log?.(`job ${job.id}: lease lost before it finished; its output was dropped`);
      }
    } catch (err) {
      await rm(outputPath, { force: true });
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      if (reason instanceof Canceled) await queue.finishCanceled(claim);
      else if (reason instanceof LeaseLost) {
        this.opts.log?.(`job ${job.id}: lease lost mid-run; left to whoever holds it now`);
      } else if (this.stopped && controller.signal.aborted) {
        // Shutting down: the job stays 'running' under our lease, which runs out, and it is
        // taken up again by the next worker or restart.
      } else await queue.fail(claim, (err as Error)?.message ?? String(err));
    } finally {
      clearInterval(renew);
      this.controllers.delete(job.id);
    }
    await end();
  }

  /**
   * Stops a job this worker is running now, after the queue recorded the request (jobs run by
   * other processes see it at their next lease renewal).
   */
  cancelLocal(jobId: string): void {
    this.controllers.get(jobId)?.abort(new Canceled("canceled"));
  }

  /** Stops taking jobs; running ones are aborted and left to be taken up again. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    for (const c of this.controllers.values()) c.abort(new Error("the worker is shutting down"));
    await this.loop;
    await Promise.allSettled([...this.running]);
  }
}
