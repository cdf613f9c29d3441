/**
 * Entry point of the `zoetrope` command (bin/zoetrope.mjs imports this under tsx). Runs the
 * program on process.argv and sets the exit code: 0 on success, 1 on any error, after printing
 * the error as one line on stderr.
 */
import { CommanderError } from "commander";
import { buildProgram } from "./program.ts";
import { printError } from "./report.ts";

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    // Commander has already printed its own usage errors; only the exit code is left to set.
    if (err instanceof CommanderError) return err.exitCode;
    printError(err);
    return 1;
  }
}

process.exitCode = await main(process.argv);
