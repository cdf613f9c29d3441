/**
 * GET /jobs/:id/events — Server-Sent Events for one job: `status` (the job as it is when the
 * stream opens), `progress` (step, total, ETA in seconds, and a preview PNG as a data: URL on
 * the steps that have one) and a final `end` with the job and its output's address.
 * Progress without a preview is coalesced (a slow client gets the latest, not a backlog);
 * previews are never dropped. The queue itself is checked every quarter second too, so a job run by
 * another process on the same queue still ends its stream.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { type JobQueue, type JobRecord, TERMINAL } from "../queue/types.ts";
import { eta, type JobEvent, type ProgressBus, type ProgressEvent } from "./progress-bus.ts";

const CHECK_MS = 250;

export function outputUrl(job: JobRecord): string | null {
  return job.status === "succeeded" && job.output ? `/jobs/${job.id}/output` : null;
}

export function endPayload(job: JobRecord): string {
  return JSON.stringify({ status: job.status, output: outputUrl(job), job });
}

export function jobEvents(c: Context, job: JobRecord, queue: JobQueue, bus: ProgressBus) {
  return streamSSE(c, async (stream) => {
    let closed = false;
    let notify: (() => void) | null = null;
    const pending: JobEvent[] = [];
    const unsubscribe = bus.subscribe(job.id, (ev) => {
      const last = pending[pending.length - 1];
      if (ev.type === "progress" && !ev.preview && last?.type === "progress" && !last.preview) {
        pending[pending.length - 1] = ev;
      } else pending.push(ev);
      notify?.();
    });
    stream.onAbort(() => {
      closed = true;
      notify?.();
    });
    let last = { attempt: 0, step: 0 };
    const progress = (ev: ProgressEvent) => {
      last = { attempt: ev.attempt, step: ev.step };
      return stream.writeSSE({
        event: "progress",
        data: JSON.stringify({
          step: ev.step,
          total: ev.total,
          etaSeconds: ev.etaSeconds,
          attempt: ev.attempt,
          ...(ev.preview ? { preview: ev.preview } : {}),
        }),
      });
    };
    try {
      await stream.writeSSE({ event: "status", data: JSON.stringify(job) });
      const latest = bus.last(job.id);
      if (latest) await progress(latest);
      let current = job;
      while (!closed && !TERMINAL.has(current.status)) {
        while (pending.length > 0 && !closed) {
          const ev = pending.shift()!;
          if (ev.type === "end") {
            current = ev.job;
            break;
          }
          await progress(ev);
        }
        if (TERMINAL.has(current.status) || closed) break;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, CHECK_MS);
          notify = () => {
            clearTimeout(t);
            resolve();
          };
        });
        notify = null;
        if (pending.length > 0) continue;
        current = (await queue.get(job.id)) ?? current;
        // A job run by a worker in another process: its progress is known from the queue only
        // (no previews), every few hundred milliseconds.
        const p = current.progress;
        const newer =
          p &&
          (current.attempts > last.attempt ||
            (current.attempts === last.attempt && p.step > last.step));
        if (current.status === "running" && p && newer && current.startedAt) {
          const started = Date.parse(current.startedAt);
          await progress({
            type: "progress",
            jobId: job.id,
            attempt: current.attempts,
            step: p.step,
            total: p.total,
            etaSeconds: eta(started, Date.now(), p.step, p.total),
          });
        }
      }
      if (!closed) await stream.writeSSE({ event: "end", data: endPayload(current) });
    } finally {
      unsubscribe();
    }
  });
}
