/**
 * GET /jobs/:id/events — Server-Sent Events for one job: `status` (the job as it is when the
 * stream opens), `progress` (step, total, ETA in seconds, and a preview PNG as a data: URL on
 * the steps that have one) and a final `end` with the job and its output's address.
 * Progress without a preview is coalesced (a slow client gets the latest, not a backlog);
 * previews are never dropped. The queue itself is checked every half second too, so a job run by
 * another process on the same queue still ends its stream.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { type JobQueue, type JobRecord, TERMINAL } from "../queue/types.ts";
import type { JobEvent, ProgressBus, ProgressEvent } from "./progress-bus.ts";

const CHECK_MS = 500;

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
    const progress = (ev: ProgressEvent) =>
      stream.writeSSE({
        event: "progress",
        data: JSON.stringify({
          step: ev.step,
          total: ev.total,
          etaSeconds: ev.etaSeconds,
          attempt: ev.attempt,
          ...(ev.preview ? { preview: ev.preview } : {}),
        }),
      });
    try {
      await stream.writeSSE({ event: "status", data: JSON.stringify(job) });
      const last = bus.last(job.id);
      if (last) await progress(last);
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
        if (pending.length === 0) current = queue.get(job.id) ?? current;
      }
      if (!closed) await stream.writeSSE({ event: "end", data: endPayload(current) });
    } finally {
      unsubscribe();
    }
  });
}
