#!/usr/bin/env node
// The `llm` command: TypeScript sources run through tsx, so no build step stands between a change and the CLI.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
