/**
 * Entry point of the `zoetrope` command (bin/zoetrope.mjs imports this under tsx). Runs the
 * program on process.argv and sets the exit code: 0 on success, 1 on any error, after printing
 * the error on stderr. Whatever happens — an error, an error nobody caught, SIGINT/SIGTERM — the
 * unfinished temporary files are removed first (src/media/cleanup.ts).
 */
import { CommanderError } from "commander";
import { cleanupNow, installSignalCleanup } from "../media/cleanup.ts";
import { buildProgram } from "./program.ts";
import { printError } from "./report.ts";

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    cleanupNow();
    // Commander has already printed its own usage errors; only the exit code is left to set.
    if (err instanceof CommanderError) {
      // A command group given no command (`zoetrope`, `zoetrope world`) gets its help on stderr
      // and exit 1; say why, as every other failure does.
      if (err.code === "commander.help" && err.exitCode !== 0) {
        process.stderr.write("error: no command given; choose one of the commands listed above\n");
      }
      return err.exitCode;
    }
    printError(err);
    return 1;
  }
}

function fatal(err: unknown): void {
  cleanupNow();
  printError(err);
  process.exit(1);
}

installSignalCleanup();
process.on("uncaughtException", fatal);
process.on("unhandledRejection", fatal);
// A reader that goes away (`zoetrope ... | head -1`) is not an error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    fatal(err);
  });
}
process.exitCode = await main(process.argv);
