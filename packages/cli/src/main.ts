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
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: GENERATE_OPTIONS });
  const gateway =
    values.gateway ?? readConfig(process.env, ["LLM_GATEWAY_URL"]).LLM_GATEWAY_URL ?? (await readEndpoints())?.gateway;
  if (!gateway) {
    process.stderr.write("no gateway to talk to: start the pipeline with `npm start`, or pass --gateway host:port\n");
    return 2;
  }
  return runGenerate(positionals.join(" "), values, gateway);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`llm: ${isLlmError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
    process.exit(1);
  },
);
