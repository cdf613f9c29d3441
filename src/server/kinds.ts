/**
 * The job kinds a server can run. A kind is a zod schema for its settings and a runner; the HTTP
 * API, the queue and the OpenAPI description are built from this table, so a new mode of the model
 * (generate, image, animate, extend, loop, edit, connect) is served by registering one more kind.
 */
import type { z } from "zod";

export interface ProgressReport {
  step: number;
  total: number;
  /** A small PNG of the current state, when the kind has one to show. */
  preview?: Uint8Array;
}

export interface RunContext<S> {
  /** Settings, already validated by the kind's schema. */
  settings: S;
  /**
   * Where the output goes. The runner must write it atomically (complete, or not at all), e.g.
   * with src/media/safe-output.ts; the file's presence is what says the run produced something.
   */
  outputPath: string;
  /** Resolves an uploaded input's id to its file (inside the data directory), or throws. */
  inputPath(uploadId: string): Promise<string>;
  progress(report: ProgressReport): void;
  /** Aborted when the job is canceled or its lease is lost: stop soon, leave no output. */
  signal: AbortSignal;
}

/** An uploaded input a job's settings name: checked at submission against the server's uploads. */
export interface UploadInput {
  /** The settings field that names it ("video"). */
  field: string;
  /** The id POST /uploads returned. */
  id: string;
  /** Content types the field takes. */
  accepts: readonly string[];
}

export interface JobKind<S = unknown> {
  name: string;
  description: string;
  settings: z.ZodType<S>;
  /**
   * The uploads valid settings name. The server refuses a submission (400, naming the field)
   * whose upload is missing or of a type the field does not take; the run resolves them again
   * with ctx.inputPath.
   */
  inputs?(settings: S): UploadInput[];
  /** The output file's extension and the content type it is served with. */
  output: { extension: string; contentType: string };
  /** Runs the job; returns metadata stored and served with the output. */
  run(ctx: RunContext<S>): Promise<Record<string, unknown>>;
}

export class KindRegistry {
  private readonly kinds = new Map<string, JobKind<unknown>>();

  register<S>(kind: JobKind<S>): this {
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(kind.name)) {
      throw new Error(`job kind name ${JSON.stringify(kind.name)} must be lower-case words with -`);
    }
    if (this.kinds.has(kind.name)) throw new Error(`job kind ${kind.name} is registered twice`);
    this.kinds.set(kind.name, kind as JobKind<unknown>);
    return this;
  }

  get(name: string): JobKind<unknown> | undefined {
    return this.kinds.get(name);
  }

  names(): string[] {
    return [...this.kinds.keys()];
  }

  all(): JobKind<unknown>[] {
    return [...this.kinds.values()];
  }
}
