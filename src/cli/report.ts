/**
 * How the CLI talks to people: results on stdout, warnings and errors on stderr, each error as
 * readable lines without a stack trace (set ZOETROPE_DEBUG=1 to see stacks while debugging).
 * Errors that escaped without a message meant for people (a raw errno error, an allocation
 * failure) are put into words here, and internal temporary names are never shown.
 */
import { fstatSync, statSync } from "node:fs";
import { errnoCode, plainReason } from "../media/fs-errors.ts";

let resultsToStderr = false;

export function say(line: string): void {
  (resultsToStderr ? process.stderr : process.stdout).write(`${line}\n`);
}

/**
 * When an output file is this process's stdout (`-o /dev/stdout`), the messages meant for stdout
 * go to stderr instead, so the file's bytes are not mixed with text.
 */
export function noteOutputPath(path: string): void {
  try {
    const out = fstatSync(1);
    const target = statSync(path);
    if (out.dev === target.dev && out.ino === target.ino) resultsToStderr = true;
  } catch {
    // Not a path that exists, or no stdout: nothing to move.
  }
}

export function warn(line: string): void {
  process.stderr.write(`warning: ${line}\n`);
}

/** Hidden temporary names of safe-output.ts and export-dataset.ts, as they may appear in text. */
const TEMP_NAME = /\/?\.[^\s/]+\.\d+\.\d+\.tmp|\/?\.clip-\d+\.partial-\d+/g;

/** The one-paragraph message a user sees for `err`. */
export function userMessage(err: unknown): string {
  let message: string;
  const code = errnoCode(err);
  const e = err as NodeJS.ErrnoException;
  if (code && typeof e.syscall === "string") {
    // A raw Node error ("ENOSPC: no space left on device, write"): reason in words, path if any.
    message = `${e.path ? `${e.path}: ` : ""}${plainReason(err)}`;
  } else if (
    err instanceof RangeError &&
    /allocation|invalid .*length|array length/i.test(err.message)
  ) {
    message = `out of memory (${err.message}); try a smaller clip`;
  } else {
    message = err instanceof Error ? err.message : String(err);
  }
  return message.replace(TEMP_NAME, "");
}

export function printError(err: unknown): void {
  process.stderr.write(`error: ${userMessage(err)}\n`);
  if (process.env.ZOETROPE_DEBUG && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
}
