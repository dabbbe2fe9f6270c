// 1,000 HTTP streams opened at once on one gateway in local mode, past its admission limit: each one completes or
// is turned away with 429 and Retry-After at admission; none hangs; afterwards the gateway's live memory
// (heap + external after a full GC, --expose-gc) is back near its idle level.
import type { MemoryReport } from "@llm/telemetry";
import { MEMORY_REPORT_PATH } from "@llm/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGateway, startLocalGateway } from "./gateway-kit.js";

const STREAMS = 1000;
const MAX_INFLIGHT = 64;
/** Live memory the gateway may keep over its idle level once every stream has ended. */
const MAX_RETAINED_BYTES = 8 * 1024 ** 2;

let local: LocalGateway;
let memoryUrl: string;

beforeAll(async () => {
  local = await startLocalGateway({
    LLM_MAX_INFLIGHT: String(MAX_INFLIGHT),
    NODE_OPTIONS: "--expose-gc",
    LLM_METRICS_PORT: "0",
  });
  memoryUrl = `http://${await local.gateway.listening("gateway-metrics")}${MEMORY_REPORT_PATH}`;
}, 120_000);

afterAll(async () => {
  await local?.services.stopAll();
});

async function liveMemory(): Promise<number> {
  const { heapUsed, external } = (await (await fetch(memoryUrl)).json()) as MemoryReport;
  return heapUsed + external;
}

interface Outcome {
  status: number;
  retryAfter: string | null;
  /** Until the status line for a 429; until [DONE] for a 200. */
  ms: number;
  done: boolean;
}

async function openStream(i: number): Promise<Outcome> {
  const started = performance.now();
  const response = await fetch(`${local.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: `Story number ${i}:`, max_tokens: 4, stream: true, seed: i }),
    signal: AbortSignal.timeout(120_000), // a hang fails the test rather than stalling it
  });
  const retryAfter = response.headers.get("retry-after");
  if (response.status !== 200) {
    const ms = performance.now() - started;
    await response.text();
    return { status: response.status, retryAfter, ms, done: false };
  }
  const body = await response.text();
  return { status: 200, retryAfter, ms: performance.now() - started, done: body.trimEnd().endsWith("data: [DONE]") };
}

describe(`${STREAMS} concurrent HTTP streams on one gateway (local mode)`, () => {
  it("completes or refuses each at admission with Retry-After, and returns to its idle memory", async () => {
    await openStream(-1); // warm-up: connections to the back ends open, code compiled
    const idle = await liveMemory();
    const outcomes = await Promise.all(Array.from({ length: STREAMS }, (_, i) => openStream(i)));
    const served = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status === 429);
    expect(served.length + refused.length, "only 200 or 429").toBe(STREAMS);
    expect(
      served.every((o) => o.done),
      "every served stream ends with [DONE]",
    ).toBe(true);
    expect(served.length).toBeGreaterThanOrEqual(MAX_INFLIGHT);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((o) => o.retryAfter === "1")).toBe(true);
    // Refused at admission, not after waiting for a slot: a refusal is answered sooner than a served stream ends.
    // (The README's "within a second" holds on an idle machine; on a shared 2-core box the burst alone can take
    // tens of seconds to pass through the event loops, so this compares within the run instead.)
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1];
    const refusedMs = refused.map((o) => o.ms);
    console.log(
      JSON.stringify({
        served: served.length,
        refused: refused.length,
        refusedMsP50: median(refusedMs),
        refusedMsMax: Math.max(...refusedMs),
      }),
    );
    expect(median(refusedMs)).toBeLessThan(median(served.map((o) => o.ms)));
    const retained = (await liveMemory()) - idle;
    expect(retained, `${retained} bytes retained`).toBeLessThan(MAX_RETAINED_BYTES);
  }, 180_000);
});
