// `llm generate`: flags → a GenerateRequest, streamed text to stdout, optional JSON and latency chart.
import { LlmError } from "@llm/errors";
import { SpeculativeMode } from "@llm/proto";
import { type GenerateInput, generate } from "./generate.js";
import { renderTimings, summarize } from "./timings.js";

export const GENERATE_OPTIONS = {
  gateway: { type: "string" },
  model: { type: "string" },
  "max-tokens": { type: "string" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  "top-k": { type: "string" },
  "min-p": { type: "string" },
  seed: { type: "string" },
  stop: { type: "string", multiple: true },
  strategy: { type: "string" },
  speculative: { type: "string" },
  "deadline-ms": { type: "string" },
  json: { type: "boolean" },
  timings: { type: "boolean" },
} as const;

export const USAGE = `options:
  --max-tokens N       tokens to generate (default 64)
  --temperature T      0 (greedy) to 2 (default 1)
  --top-p P            nucleus mass in (0, 1]
  --top-k K            keep the K most likely tokens (0 = off)
  --min-p P            drop tokens below P × the top probability
  --seed S             same seed + same parameters = same text
  --stop S             stop sequence (repeatable)
  --strategy NAME      sampler plugin (default: standard)
  --speculative MODE   off, ngram or draft: speculative decoding (the same text, sooner; default: the runner's)
  --model ID           model to use (default: the gateway's default)
  --deadline-ms MS     give up after MS milliseconds
  --json               print one JSON object instead of streaming text
  --timings            print time to first token and a per-token latency chart (stderr)
  --gateway HOST:PORT  the gateway's gRPC address`;

export type GenerateFlags = {
  [K in keyof typeof GENERATE_OPTIONS]?: (typeof GENERATE_OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof GENERATE_OPTIONS)[K]["type"] extends "boolean"
      ? boolean
      : string;
};

export async function runGenerate(prompt: string, flags: GenerateFlags, gateway: string): Promise<number> {
  if (!prompt) throw new LlmError("invalid_argument", 'no prompt: llm generate "Once upon a time"');
  const request: GenerateInput = {
    model: flags.model ?? "",
    prompt: { case: "text", value: prompt },
    maxTokens: int(flags, "max-tokens") ?? 64,
    stop: flags.stop ?? [],
    sampling: {
      temperature: num(flags, "temperature"),
      topP: num(flags, "top-p"),
      topK: int(flags, "top-k") ?? 0,
      minP: num(flags, "min-p") ?? 0,
      seed: flags.seed === undefined ? undefined : BigInt(int(flags, "seed") ?? 0),
      strategy: flags.strategy ?? "",
    },
    speculative: speculativeMode(flags.speculative),
  };

  // Ctrl-C cancels the request at the runner instead of leaving it generating for nobody.
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const result = await generate(request, {
    gateway,
    signal: controller.signal,
    deadlineMs: int(flags, "deadline-ms"),
    onText: flags.json ? undefined : (text) => process.stdout.write(text),
  });

  const summary = summarize(result.arrivals);
  if (flags.json) {
    const { arrivals: _, ...rest } = result;
    process.stdout.write(`${JSON.stringify({ ...rest, latency: { ...summary, interTokenMs: undefined } }, null, 2)}\n`);
  } else {
    process.stdout.write("\n");
    process.stderr.write(
      `[${result.finishReason}${result.matchedStop ? ` on ${JSON.stringify(result.matchedStop)}` : ""}; ` +
        `${result.usage.promptTokens} prompt + ${result.usage.completionTokens} generated tokens; ` +
        `request ${result.requestId}]\n`,
    );
  }
  if (flags.timings) process.stderr.write(`${renderTimings(summary)}\n`);
  return 0;
}

const SPECULATIVE_MODES = new Map([
  ["off", SpeculativeMode.OFF],
  ["ngram", SpeculativeMode.NGRAM],
  ["draft", SpeculativeMode.DRAFT],
]);

function speculativeMode(raw: string | undefined): SpeculativeMode {
  if (raw === undefined) return SpeculativeMode.UNSPECIFIED;
  const mode = SPECULATIVE_MODES.get(raw);
  if (mode === undefined)
    throw new LlmError("invalid_argument", `--speculative must be off, ngram or draft, got "${raw}"`);
  return mode;
}

function num(flags: GenerateFlags, name: "temperature" | "top-p" | "min-p"): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new LlmError("invalid_argument", `--${name} must be a number, got "${raw}"`);
  return value;
}

function int(flags: GenerateFlags, name: "max-tokens" | "top-k" | "seed" | "deadline-ms"): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LlmError("invalid_argument", `--${name} must be a whole number ≥ 0, got "${raw}"`);
  }
  return value;
}
