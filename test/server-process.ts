/** Test support: `zoetrope serve` and `zoetrope worker` child processes, run by the real CLI. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** The API token the server printed (or, on a later start, read from the file it named). */
  token: string | null;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<NodeJS.Signals | number | null>;
}

/**
 * Starts `serve` with `args` and resolves once it prints the address it listens on. The rate
 * limit is lifted (tests poll every few milliseconds); a `--rate` in `args` comes later and wins.
 */
export function spawnServer(args: string[]): Promise<ServerProcess> {
  return spawnCommand(
    ["serve", "--port", "0", "--rate", "100000", ...args],
    /listening on (http:\/\/\S+)/,
  );
}

/** The `authorization` header for `token` (none for a server started with --no-auth). */
export function bearer(token: string | null): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** The token a server's stdout shows: printed at the first start, in the file it names later. */
function tokenFrom(stdout: string): string | null {
  const shown = /^API token \(shown once, stored in .*\): (\S+)$/m.exec(stdout);
  if (shown) return shown[1];
  const stored = /^API token in (.*) \(send /m.exec(stdout);
  return stored ? readFileSync(stored[1], "utf8").trim() : null;
}

/** Starts `worker` with `args` and resolves once it says it is running. */
export function spawnWorker(args: string[]): Promise<ServerProcess> {
  return spawnCommand(["worker", ...args], /worker (running) jobs/);
}

/** Starts a command and resolves once its stdout matches `ready` (group 1 becomes `url`). */
function spawnCommand(args: string[], ready: RegExp): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", ENTRY, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code)),
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`it did not start in 30 s: ${err}`));
    }, 30_000);
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1],
          token: tokenFrom(out),
          stdout: () => out,
          stderr: () => err,
          exited,
        });
      }
    });
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`it exited before it was ready: ${err}`));
    });
  });
}
