/**
 * `zoetrope serve` (the HTTP API with a worker, over the job queue in a data directory) and
 * `zoetrope worker` (more workers on the same data directory, without HTTP). Stopping either
 * (Ctrl-C, SIGTERM, even kill -9) loses no job: a job it was running is taken up again by the
 * next worker or restart.
 */
import { isIP } from "node:net";
import type { Command } from "commander";
import { checkNoAuthHost, DEFAULT_RATE_LIMIT } from "../server/auth.ts";
import { DEFAULT_MODEL_DIR } from "./model-files.ts";
import { intIn } from "./parse-args.ts";

export interface ServeCommandOptions {
  port: number;
  host: string;
  dataDir: string;
  concurrency: number;
  maxUploadMib: number;
  /** Commander's name for --no-auth: false when it is given. */
  auth: boolean;
  rate: number;
  burst?: number;
  model: string;
  redis?: string;
}

/**
 * --model of serve and worker. The folder is read by the first generate or image job, so a
 * missing model fails those jobs with the reason and leaves world-render served.
 */
const MODEL_HELP =
  "model folder for generate and image jobs (autoencoder.safetensors and text-to-video.safetensors)";

/** --redis of serve and worker: one queue for workers on many machines (sharing --data-dir). */
const REDIS_HELP =
  "keep the job queue in Redis at this URL (redis://[:password@]host:port[/db]) instead of the data directory, for workers on several machines; uploads and outputs stay in --data-dir, which they must all share";

export function addServeCommands(program: Command): void {
  program
    .command("serve")
    .description(
      "serve the HTTP API (jobs, uploads, live progress, outputs; /openapi.json describes it) and run jobs",
    )
    .option("--port <n>", "TCP port, 0 for any free one", intIn(0, 65535), 8420)
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "where the job queue, uploads and outputs live", "zoetrope-data")
    .option("--concurrency <n>", "jobs this process runs at once (0: API only)", intIn(0, 64), 1)
    .option("--max-upload-mib <n>", "largest upload accepted, in MiB", intIn(1, 4096), 64)
    .option(
      "--no-auth",
      "serve without the API token (only on a loopback address: any local user can then use it)",
    )
    .option(
      "--rate <n>",
      "requests per second allowed per token (per client address with --no-auth); 0: no limit",
      intIn(0, 1_000_000),
      DEFAULT_RATE_LIMIT.perSecond,
    )
    .option(
      "--burst <n>",
      "requests allowed at once above --rate (default: twice --rate)",
      intIn(1, 10_000_000),
    )
    .option("--model <dir>", MODEL_HELP, DEFAULT_MODEL_DIR)
    .option("--redis <url>", REDIS_HELP)
    .action(async (opts: ServeCommandOptions) => {
      const host = opts.host.trim();
      if (host !== "localhost" && isIP(host) === 0) {
        throw new Error(`--host ${JSON.stringify(host)} is not an IP address`);
      }
      if (!opts.auth) checkNoAuthHost(host);
      const { startServer } = await import("../server/server.ts");
      const server = await startServer({
        port: opts.port,
        host,
        dataDir: opts.dataDir,
        concurrency: opts.concurrency,
        maxUploadBytes: opts.maxUploadMib * 2 ** 20,
        model: opts.model,
        redis: opts.redis,
        version: program.version() ?? "0",
        log: (line) => process.stderr.write(`${line}\n`),
        noAuth: !opts.auth,
        rateLimit: { perSecond: opts.rate, burst: opts.burst ?? Math.max(1, 2 * opts.rate) },
      });
      // Printed before "listening on", so whoever waits for that line has the token already.
      if (server.auth?.created) {
        process.stdout.write(
          `API token (shown once, stored in ${server.auth.path}): ${server.auth.token}\n`,
        );
      } else if (server.auth) {
        process.stdout.write(
          `API token in ${server.auth.path} (send Authorization: Bearer <token>)\n`,
        );
      } else {
        process.stdout.write("no API token (--no-auth): anyone on this machine can use the API\n");
      }
      process.stdout.write(`listening on ${server.url} (data in ${opts.dataDir})\n`);
    });

  program
    .command("worker")
    .description("run jobs from the queue in a data directory that a `zoetrope serve` also uses")
    .option("--data-dir <dir>", "the data directory of the server", "zoetrope-data")
    .option("--concurrency <n>", "jobs run at once", intIn(1, 64), 1)
    .option("--model <dir>", MODEL_HELP, DEFAULT_MODEL_DIR)
    .option("--redis <url>", REDIS_HELP)
    .action(
      async (opts: { dataDir: string; concurrency: number; model: string; redis?: string }) => {
        const { openDataDir, startWorker } = await import("../server/server.ts");
        const { defaultKinds } = await import("../server/default-kinds.ts");
        const { ProgressBus } = await import("../server/progress-bus.ts");
        const d = await openDataDir(opts.dataDir, opts.redis);
        startWorker(d, defaultKinds({ model: opts.model }), new ProgressBus(), {
          concurrency: opts.concurrency,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(`worker running jobs from ${opts.dataDir}\n`);
      },
    );
}
