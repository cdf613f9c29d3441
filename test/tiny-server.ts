/** Test support: an in-process server on loopback with a tiny random model, in a temporary folder. */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningServer, startServer } from "../src/server/server.ts";
import { writeTinyModel } from "../src/testing/tiny-model.ts";

export interface TinyServer {
  /** The temporary folder (model in tiny/, data directory in data/); the caller removes it. */
  dir: string;
  model: string;
  server: RunningServer;
}

/**
 * Writes a tiny random model (sizes and steps, not what pictures show) and serves it on a free
 * loopback port with a token. The rate limit is lifted: the tests poll every few milliseconds,
 * and server-auth.test.ts checks the limits themselves.
 */
export async function startTinyServer(name: string): Promise<TinyServer> {
  const dir = await mkdtemp(join(tmpdir(), `zoetrope-${name}-`));
  const model = await writeTinyModel(join(dir, "tiny"));
  const server = await startServer({
    dataDir: join(dir, "data"),
    port: 0,
    host: "127.0.0.1",
    model,
    rateLimit: { perSecond: 100_000, burst: 100_000 },
  });
  return { dir, model, server };
}
