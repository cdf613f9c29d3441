/** Test support: `zoetrope serve` and `zoetrope worker` child processes, run by the real CLI. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<NodeJS.Signals | number | null>;
}

/** Starts `serve` with `args` and resolves once it prints the address it listens on. */
export function spawnServer(args: string[]): Promise<ServerProcess> {
  return spawnCommand(["serve", "--port", "0", ...args], /listening on (http:\/\/\S+)/);
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
        resolve({ child, url: m[1], stderr: () => err, exited });
      }
    });
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`it exited before it was ready: ${err}`));
    });
  });
}
