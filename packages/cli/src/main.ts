// The `llm` command: generate text through a running gateway (`npm start` in another terminal), and show a
// finished request's per-token latency from the model runner's timings.
import { parseArgs } from "node:util";
import { readConfig } from "@llm/config";
import { isLlmError } from "@llm/errors";
import { readEndpoints } from "@llm/launcher";
import { GENERATE_OPTIONS, runGenerate, USAGE } from "./commands.js";
import { runTrace, TRACE_OPTIONS, TRACE_USAGE } from "./trace.js";

const HELP = `usage: llm generate "<prompt>" [options]
${USAGE}
The gateway is --gateway, else LLM_GATEWAY_URL, else the one a running \`npm start\` announced.

usage: llm trace <request-id> [options]   per-token latency of a recent request, from the model runner
${TRACE_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "generate") return generateCommand(rest);
  if (command === "trace") return traceCommand(rest);
  process.stderr.write(`${HELP}\n`);
  return command === undefined || command === "--help" || command === "-h" ? 0 : 2;
}

async function generateCommand(args: string[]): Promise<number> {
  const parsed = parseFlags(() => parseArgs({ args, allowPositionals: true, options: GENERATE_OPTIONS }));
  if (typeof parsed === "string") return usageError(parsed);
  const { values, positionals } = parsed;
  const gateway =
    values.gateway ?? readConfig(process.env, ["LLM_GATEWAY_URL"]).LLM_GATEWAY_URL ?? (await readEndpoints())?.gateway;
  if (!gateway) {
    process.stderr.write("no gateway to talk to: start the pipeline with `npm start`, or pass --gateway host:port\n");
    return 2;
  }
  return runGenerate(positionals.join(" "), values, gateway);
}

async function traceCommand(args: string[]): Promise<number> {
  const parsed = parseFlags(() => parseArgs({ args, allowPositionals: true, options: TRACE_OPTIONS }));
  if (typeof parsed === "string") return usageError(parsed);
  const { values, positionals } = parsed;
  const runner = values.runner ?? (await readEndpoints())?.["model-runner-metrics"];
  if (!runner) {
    process.stderr.write("no model runner to ask: start the pipeline with `npm start`, or pass --runner host:port\n");
    return 2;
  }
  return runTrace(positionals.join(" "), values, runner);
}

/** The flags, or node:util's message for a mistake in them (an unknown or misused option), without its error class. */
function parseFlags<T>(parse: () => T): T | string {
  try {
    return parse();
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS_")) return (err as Error).message;
    throw err;
  }
}

function usageError(message: string): number {
  process.stderr.write(`llm: ${message}\nrun \`llm --help\` for the options\n`);
  return 2;
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`llm: ${isLlmError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
    if (argv[0] === "generate" && isLlmError(err) && err.code === "unavailable") {
      process.stderr.write("is the gateway running? `npm start` starts the pipeline; --gateway names another\n");
    }
    process.exit(1);
  },
);
