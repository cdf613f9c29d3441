/**
 * Live job events inside one process: the worker publishes progress (with previews) and the end
 * of each job; Server-Sent Event streams subscribe. The last progress event of each running job
 * is kept so that a stream opened mid-job starts with where the job is.
 */
import { EventEmitter } from "node:events";
import type { JobRecord } from "../queue/types.ts";

export interface ProgressEvent {
  type: "progress";
  jobId: string;
  attempt: number;
  step: number;
  total: number;
  /** Seconds left, from the pace so far in this attempt; null before the first step. */
  etaSeconds: number | null;
  /** data: URL of a small PNG, on the steps where the kind made one. */
  preview?: string;
}

export interface EndEvent {
  type: "end";
  job: JobRecord;
}

export type JobEvent = ProgressEvent | EndEvent;

export class ProgressBus {
  private readonly emitter = new EventEmitter();
  private readonly latest = new Map<string, ProgressEvent>();

  constructor() {
    // One listener per open event stream; many clients may watch.
    this.emitter.setMaxListeners(0);
  }

  publish(event: JobEvent): void {
    const id = event.type === "end" ? event.job.id : event.jobId;
    if (event.type === "progress") this.latest.set(id, event);
    else this.latest.delete(id);
    this.emitter.emit(id, event);
  }

  last(jobId: string): ProgressEvent | undefined {
    return this.latest.get(jobId);
  }

  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    this.emitter.on(jobId, listener);
    return () => this.emitter.off(jobId, listener);
  }
}

/** Seconds left at `step` of `total`, given when the attempt started. */
export function eta(startedMs: number, nowMs: number, step: number, total: number): number | null {
  if (step <= 0) return null;
  const perStep = (nowMs - startedMs) / 1000 / step;
  return Math.max(0, perStep * (total - step));
}
