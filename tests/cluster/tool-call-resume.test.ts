// Tool calls across a resumed stream (cluster mode, real processes): a client whose gateway is SIGKILLed in the
// middle of a call's arguments resumes on a new gateway from the last index it saw. The resumed gateway replays
// the tokens through the tool-call parser, so the pieces the client holds plus the ones it gets after the resume
// reassemble into the final's calls, with the ids the first gateway gave (they derive from the request id), and
// into the calls of an uninterrupted run.
import { isLlmError } from "@llm/errors";
import { FinishReason, type GenerateFinal, ToolChoiceMode } from "@llm/proto";
import { startRedisServer } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectValidCalls, TOOLS } from "../../services/gateway/test/tool-kit.js";
import { Cluster, MODEL, type Request } from "./cluster-kit.js";

let cluster: Cluster;
let redis: Awaited<ReturnType<typeof startRedisServer>>;

// Its own redis-server: runners of other test files on a shared Redis would work the same model's queue.
beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await new Cluster(redis.url).start(1);
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

const request = (requestId: string): Request => ({
  model: MODEL,
  requestId,
  prompt: {
    case: "chat",
    value: {
      messages: [{ role: "user", content: "Weather and time, please." }],
      toolsJson: JSON.stringify(TOOLS),
      toolChoice: { case: "toolChoiceMode", value: ToolChoiceMode.REQUIRED },
      parallelToolCalls: true,
    },
  },
  maxTokens: 300,
  includeTokenIds: true, // a delta per token: the client's last index is exact
  sampling: { temperature: 1, seed: 31n },
});

interface Received {
  calls: { id: string; name: string; arguments: string }[];
  fragments: number;
  lastIndex: number;
  final?: GenerateFinal;
}

/** Streams `req` into `into`, piece by piece; `onDelta` may act mid-stream. */
async function streamCalls(req: Request, into: Received, onDelta: () => void = () => {}): Promise<Received> {
  for await (const { event } of cluster.client.generate(req)) {
    if (event.case === "final") into.final = event.value;
    if (event.case !== "delta") continue;
    into.lastIndex = event.value.index;
    for (const piece of event.value.toolCalls) {
      if (piece.id !== "") into.calls.push({ id: piece.id, name: piece.name, arguments: "" });
      else {
        into.calls[piece.index].arguments += piece.arguments;
        into.fragments += 1;
      }
    }
    onDelta();
  }
  return into;
}

const plain = (calls: readonly { id: string; name: string; arguments: string }[]) =>
  calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args }));

describe("tool calls in a resumed stream", () => {
  it("the pieces before and after a gateway SIGKILL reassemble into the final's calls and an uninterrupted run's", async () => {
    const reference = await streamCalls(request("tools-uninterrupted"), { calls: [], fragments: 0, lastIndex: -1 });
    expect(reference.final?.finishReason).toBe(FinishReason.TOOL_CALLS);
    const first = cluster.gateway;
    const held: Received = { calls: [], fragments: 0, lastIndex: -1 };
    let killed = false;
    await expect(
      streamCalls(request("tools-resumable"), held, () => {
        if (!killed && held.fragments >= 2) {
          killed = true; // mid-arguments of the first call
          first.process.kill("SIGKILL");
        }
      }),
    ).rejects.toSatisfy((err) => isLlmError(err) && ["unavailable", "cancelled"].includes(err.code));
    expect(killed).toBe(true);
    expect(held.calls.length).toBeGreaterThan(0);

    await cluster.startGateway();
    const resumed = await streamCalls(
      { model: MODEL, requestId: "tools-resumable", resumeFromIndex: held.lastIndex + 1 },
      held,
    );
    expect(resumed.final?.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(resumed.calls).toEqual(plain(resumed.final?.toolCalls ?? []));
    const withoutIds = (calls: Received["calls"]) =>
      calls.map(({ name, arguments: args }) => ({ name, arguments: args }));
    expect(withoutIds(resumed.calls)).toEqual(withoutIds(reference.calls)); // same seed, same calls
    expectValidCalls(resumed.calls);
  }, 180_000);
});
