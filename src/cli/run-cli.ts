/**
 * Test helper: runs the real `zoetrope` launcher (bin/zoetrope.mjs) as a child process, the way
 * a user would, and collects its exit code and output.
 */
import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const LAUNCHER = fileURLToPath(new URL("../../bin/zoetrope.mjs", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], cwd?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [LAUNCHER, ...args],
      { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ZOETROPE_DEBUG: "" } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs the launcher with a signal sent once `ready(stderrSoFar)` is true; resolves on exit. */
export function runCliUntil(
  args: string[],
  ready: (stderr: string) => boolean,
  signal: NodeJS.Signals,
): Promise<CliResult & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], {
      env: { ...process.env, ZOETROPE_DEBUG: "" },
    });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (!sent && ready(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on("close", (code, sig) => resolve({ code: code ?? -1, stdout, stderr, signal: sig }));
  });
}
