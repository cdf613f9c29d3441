/**
 * Test helper: runs the real `zoetrope` launcher (bin/zoetrope.mjs) as a child process, the way
 * a user would, and collects its exit code and output.
 */
import { execFile } from "node:child_process";
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
