// `llm trace <request-id>`: a finished (or running) request's per-token latency, from the timings the runner keeps
// for its recent requests (GET /requests/<id> on its metrics port), drawn with --timings' chart.
import { LlmError } from "@llm/errors";
import { REQUEST_TIMINGS_PATH, type RequestTimings } from "@llm/telemetry";
import { renderTimings, summarize } from "./timings.js";

export const TRACE_OPTIONS = {
  runner: { type: "string" },
  json: { type: "boolean" },
} as const;

export const TRACE_USAGE = `options:
  --runner HOST:PORT   the model runner's metrics port (default: the one a running \`npm start\` announced)
  --json               print the runner's timings as JSON instead of the chart`;

export async function runTrace(requestId: string, flags: { json?: boolean }, runner: string): Promise<number> {
  if (!requestId) throw new LlmError("invalid_argument", "no request id: llm trace <request-id>");
  const timings = await fetchTimings(runner, requestId);
  if (flags.json) process.stdout.write(`${JSON.stringify(timings, null, 2)}\n`);
  else process.stdout.write(`${renderTrace(timings)}\n`);
  return 0;
}

async function fetchTimings(runner: string, requestId: string): Promise<RequestTimings> {
  const base = /^https?:\/\//.test(runner) ? runner : `http://${runner}`;
  const url = new URL(`${REQUEST_TIMINGS_PATH}${encodeURIComponent(requestId)}`, base);
  const response = await fetch(url).catch((err: Error) => {
    const why = err.cause instanceof Error ? err.cause.message : err.message; // fetch's own message is just "fetch failed"
    throw new LlmError(
      "unavailable",
      `cannot reach the model runner's metrics port at ${url.host} (${why}); ` +
        "is `npm start` running? --runner names another runner (its LLM_METRICS_PORT)",
    );
  });
  if (response.status === 404) {
    throw new LlmError(
      "not_found",
      `the runner at ${url.host} has no request "${requestId}": it keeps the last 512 it served ` +
        "(the id is in `llm generate`'s summary line; in cluster mode ask the runner that served it with --runner)",
    );
  }
  if (!response.ok) throw new LlmError("unavailable", `the runner at ${url.host} answered HTTP ${response.status}`);
  return (await response.json()) as RequestTimings;
}

/** A header naming the request, then the --timings chart with each token's engine step beside its bar. */
export function renderTrace(timings: RequestTimings): string {
  const { tokens } = timings;
  const cached = timings.cachedPromptTokens ? ` (${timings.cachedPromptTokens} cached)` : "";
  const ms = (value: number | undefined) => (value === undefined ? "?" : `${value.toFixed(1)} ms`);
  const header =
    `request ${timings.requestId} · model ${timings.model} · prompt ${timings.promptTokens} tokens${cached} · ` +
    `${tokens.length} generated · ${timings.finishReason ?? "still running"}\n` +
    `at the runner: queued ${ms(timings.queueMs)} · prefill ${ms(timings.prefillMs)} · started ` +
    new Date(timings.startedAt).toISOString();
  if (tokens.length === 0) return `${header}\nno token generated yet`;
  const summary = summarize(tokens.map((token) => ({ atMs: token.sinceStartMs, tokens: 1 })));
  // Tokens one step produced together are a speculative run: its accepted proposals and the token after them.
  const perStep = new Map<number, number>();
  for (const { step } of tokens) perStep.set(step, (perStep.get(step) ?? 0) + 1);
  const runOf = (step: number) => ((perStep.get(step) ?? 1) > 1 ? ` · run of ${perStep.get(step)}` : "");
  const steps = tokens
    .slice(1)
    .map((t) => `step ${t.step} · batch ${t.batchSize} · ${t.stepMs.toFixed(2)} ms${runOf(t.step)}`);
  return `${header}${speculationLine(timings, perStep)}\n${renderTimings(summary, steps)}`;
}

/** Proposed and accepted tokens, and the runs verification accepted, for a request that speculated. */
function speculationLine(timings: RequestTimings, perStep: ReadonlyMap<number, number>): string {
  const { proposedTokens = 0, acceptedTokens = 0 } = timings;
  if (proposedTokens === 0) return "";
  const runs = [...perStep.values()].filter((count) => count > 1);
  const share = Math.round((100 * acceptedTokens) / proposedTokens);
  return (
    `\nspeculative: ${acceptedTokens} of ${proposedTokens} proposed tokens accepted (${share}%) · ` +
    `${runs.length} multi-token steps, longest ${Math.max(1, ...runs)} tokens`
  );
}
