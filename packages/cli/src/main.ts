// The `llm` command: generate text through a running gateway (`npm start` in another terminal).
import { parseArgs } from "node:util";
import { readConfig } from "@llm/config";
import { isLlmError } from "@llm/errors";
import { readEndpoints } from "@llm/launcher";
import { GENERATE_OPTIONS, runGenerate, USAGE } from "./commands.js";

const HELP = `usage: llm generate "<prompt>" [options]
${USAGE}
The gateway is --gateway, else LLM_GATEWAY_URL, else the one a running \`npm start\` announced.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "generate") {
    process.stderr.write(`${HELP}\n`);
    return command === undefined || command === "--help" || command === "-h" ? 0 : 2;
  }
  const parsed = parseFlags(rest);
  if (typeof parsed === "string") {
    process.stderr.write(`llm: ${parsed}\nrun \`llm --help\` for the options\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const gateway =
    values.gateway ?? readConfig(process.env, ["LLM_GATEWAY_URL"]).LLM_GATEWAY_URL ?? (await readEndpoints())?.gateway;
  if (!gateway) {
    process.stderr.write("no gateway to talk to: start the pipeline with `npm start`, or pass --gateway host:port\n");
    return 2;
  }
  return runGenerate(positionals.join(" "), values, gateway);
}

/** The flags, or node:util's message for a mistake in them (an unknown or misused option), without its error class. */
function parseFlags(args: string[]) {
  try {
    return parseArgs({ args, allowPositionals: true, options: GENERATE_OPTIONS });
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS_")) return (err as Error).message;
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`llm: ${isLlmError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
    if (isLlmError(err) && err.code === "unavailable") {
      process.stderr.write("is the gateway running? `npm start` starts the pipeline; --gateway names another\n");
    }
    process.exit(1);
  },
);
