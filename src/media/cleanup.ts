/**
 * What to undo if the process is stopped half-way: temporary files and staging folders that are
 * not yet renamed into place, folders made for an output that never arrived, and ffmpeg children
 * still writing. Writers register each item while it exists; on SIGINT/SIGTERM/SIGHUP (or an
 * uncaught error) the CLI calls `cleanupNow`, which removes them synchronously before exiting, so
 * an interrupted command leaves the disk as it found it (apart from outputs already complete).
 */
import type { ChildProcess } from "node:child_process";
import { rmdirSync, rmSync } from "node:fs";

const temps = new Set<string>();
const folders = new Set<string>();
const children = new Set<ChildProcess>();

/** A temporary file or staging folder to delete if the process stops before it is renamed. */
export function trackTemp(path: string): void {
  temps.add(path);
}

export function untrackTemp(path: string): void {
  temps.delete(path);
}

/** A folder created for an output: removed on interruption if it is still empty. */
export function trackCreatedFolder(path: string): void {
  folders.add(path);
}

export function untrackCreatedFolder(path: string): void {
  folders.delete(path);
}

/** A child process (ffmpeg) to kill on interruption, so it stops writing. */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once("close", () => children.delete(child));
}

/** Kills tracked children and deletes tracked temporaries, then empty created folders. Synchronous. */
export function cleanupNow(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
  for (const path of temps) rmSync(path, { recursive: true, force: true });
  temps.clear();
  // Deepest first, so a chain of new folders a/b/c goes entirely.
  for (const path of [...folders].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(path);
    } catch {
      // Not empty (something else landed there) or already gone: leave it.
    }
  }
  folders.clear();
}

let installed = false;

/**
 * On SIGINT, SIGTERM or SIGHUP: clean up, say so on stderr, and exit with 128 + the signal's
 * number, as shells expect of a process stopped by a signal.
 */
export function installSignalCleanup(): void {
  if (installed) return;
  installed = true;
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
  for (const signal of Object.keys(numbers) as NodeJS.Signals[]) {
    process.once(signal, () => {
      cleanupNow();
      process.stderr.write(`stopped by ${signal}; unfinished files were removed\n`);
      process.exit(128 + numbers[signal]);
    });
  }
}
