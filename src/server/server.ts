/**
 * One `zoetrope serve` process: the HTTP API and a worker over the embedded SQLite queue in the
 * data directory (queue.sqlite, outputs/, uploads/). Any number of `zoetrope worker` processes
 * may share the same data directory to run more jobs at once. With a Redis URL the queue is in
 * Redis instead (BullMQ), and workers on other machines that mount the same data directory join.
 */
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { RedisQueue } from "../queue/redis-queue.ts";
import { newOwnerId, SqliteQueue } from "../queue/sqlite-queue.ts";
import { createApp } from "./app.ts";
import {
  type ApiToken,
  checkNoAuthHost,
  DEFAULT_RATE_LIMIT,
  loadOrCreateToken,
  type RateLimit,
} from "./auth.ts";
import { defaultKinds } from "./default-kinds.ts";
import type { KindRegistry } from "./kinds.ts";
import { ProgressBus } from "./progress-bus.ts";
import { DEFAULT_MAX_UPLOAD_BYTES } from "./schemas.ts";
import { Uploads } from "./uploads.ts";
import { Worker } from "./worker.ts";

export interface ServeOptions {
  dataDir: string;
  port: number;
  host: string;
  /** Jobs this process runs at once; 0 runs none (an API in front of separate workers). */
  concurrency?: number;
  leaseMs?: number;
  maxUploadBytes?: number;
  /** The model folder of the generate and image kinds (the bundled model by default). */
  model?: string;
  /** The job kinds served; defaultKinds({ model }) when absent. */
  kinds?: KindRegistry;
  version?: string;
  log?: (line: string) => void;
  /** Keep the queue in Redis at this URL (BullMQ) instead of SQLite in the data directory. */
  redis?: string;
  /** Serve without a token (refused unless `host` is a loopback address). */
  noAuth?: boolean;
  /** Requests per token (per address without auth); DEFAULT_RATE_LIMIT when absent. */
  rateLimit?: RateLimit;
}

export interface RunningServer {
  url: string;
  /** The token requests must send (read from or made in the data directory); null with noAuth. */
  auth: ApiToken | null;
  close(): Promise<void>;
}

/** The queue, folders and worker of a data directory (shared by `serve` and `worker`). */
export async function openDataDir(dataDir: string, redis?: string) {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const queue = redis
    ? await RedisQueue.open(redis)
    : new SqliteQueue(join(dataDir, "queue.sqlite"));
  return {
    queue,
    outputDir: join(dataDir, "outputs"),
    uploads: new Uploads(join(dataDir, "uploads")),
  };
}

export function startWorker(
  d: Awaited<ReturnType<typeof openDataDir>>,
  kinds: KindRegistry,
  bus: ProgressBus,
  opts: { concurrency: number; leaseMs?: number; log?: (line: string) => void },
): Worker {
  // Jobs left running by a process of this machine that died are taken up now, not after
  // their leases run out; checked before each claim, so a worker that dies beside us is too.
  const worker = new Worker({
    queue: d.queue,
    kinds,
    bus,
    uploads: d.uploads,
    outputDir: d.outputDir,
    owner: newOwnerId(),
    concurrency: opts.concurrency,
    leaseMs: opts.leaseMs,
    beforeClaim: () => d.queue.releaseDeadOwners(),
    log: opts.log,
  });
  worker.start();
  return worker;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const kinds = opts.kinds ?? defaultKinds({ model: opts.model });
  if (opts.noAuth) checkNoAuthHost(opts.host);
  // Before the queue is opened, so that an unsafe token file stops the start with nothing open.
  const auth = opts.noAuth ? null : await loadOrCreateToken(opts.dataDir);
  const d = await openDataDir(opts.dataDir, opts.redis);
  const bus = new ProgressBus();
  const concurrency = opts.concurrency ?? 1;
  const worker = concurrency > 0 ? startWorker(d, kinds, bus, { ...opts, concurrency }) : null;
  const app = createApp({
    queue: d.queue,
    kinds,
    bus,
    uploads: d.uploads,
    outputDir: d.outputDir,
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    version: opts.version ?? "0",
    token: auth?.token ?? null,
    rateLimit: opts.rateLimit ?? DEFAULT_RATE_LIMIT,
    onSubmit: () => worker?.poke(),
    onCancel: (id) => worker?.cancelLocal(id),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port, hostname: opts.host }, () => resolve(s));
    s.once("error", reject);
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    auth,
    close: async () => {
      await worker?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open event streams would otherwise hold the server open.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await d.queue.close();
    },
  };
}
