/**
 * Test support: runs `zoetrope serve` / `zoetrope worker` from src/cli/serve.ts in a process of
 * its own, as the CLI would (the crash tests kill it with SIGKILL).
 */
import { Command } from "commander";
import { addServeCommands } from "../src/cli/serve.ts";

const program = new Command().name("zoetrope").exitOverride();
addServeCommands(program);
await program.parseAsync(process.argv);
