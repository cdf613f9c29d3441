/**
 * How the CLI talks to people: results on stdout, warnings and errors on stderr, each error as
 * one readable line without a stack trace (set ZOETROPE_DEBUG=1 to see stacks while debugging).
 */

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function warn(line: string): void {
  process.stderr.write(`warning: ${line}\n`);
}

export function printError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  if (process.env.ZOETROPE_DEBUG && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
}
