#!/usr/bin/env node
// Launcher for the `zoetrope` command: Zoetrope is written in TypeScript and run from source, so
// tsx's ESM loader is registered in this process before the CLI's entry module is imported.
import { register } from "tsx/esm/api";

register();
await import(new URL("../src/cli/main.ts", import.meta.url).href);
