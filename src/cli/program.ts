/**
 * The `zoetrope` command tree (commander). Usage errors — a missing option, a number that does
 * not parse or is out of range, an unknown command — are printed by commander as one "error:"
 * line plus a hint, and surface as a CommanderError instead of exiting, so main() sets the code.
 */
import { createRequire } from "node:module";
import { Command } from "commander";
import { addEvalCommand } from "./eval-command.ts";
import { addModeCommands } from "./mode-commands.ts";
import { addModelCommands } from "./model-commands.ts";
import { addServeCommands } from "./serve.ts";
import { addWorldCommands } from "./world-commands.ts";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

export function buildProgram(): Command {
  const program = new Command()
    .name("zoetrope")
    .description(
      "Text-to-video in TypeScript: a simulated physics world, a video model, an evaluator",
    )
    .version(version)
    // Set before adding commands: sub-commands copy these settings when created.
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .allowExcessArguments(false);
  addWorldCommands(program);
  addEvalCommand(program);
  addServeCommands(program);
  addModelCommands(program);
  addModeCommands(program);
  return program;
}
