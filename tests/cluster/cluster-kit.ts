// Cluster mode for tests: real tokenizer, detokenizer, model-runner and gateway processes on the tiny model,
// coordinated through a real redis-server.
import { isLlmError } from "@llm/errors";
import { ensureModel } from "@llm/model-pack";
import {
  FinishReason,
  type GenerateFinal,
  type GenerateRequestSchema,
  GenerationService,
  type MessageInitShape,
} from "@llm/proto";
import { clusterKeys } from "@llm/queue";
import { type CallOptions, createClient, type ServiceClient } from "@llm/rpc";
import { type RunningService, type StartServiceOptions, startService } from "@llm/testing";
import { Redis } from "ioredis";
import { expect } from "vitest";

export type Request = MessageInitShape<typeof GenerateRequestSchema>;

export const MODEL = "tiny";
export const KEYS = clusterKeys(MODEL);
/** A dead runner's jobs are taken over after about lock + stalled interval: short, so tests stay quick. */
export const FAST_TAKEOVER = { LLM_QUEUE_LOCK_MS: "1500", LLM_QUEUE_STALLED_INTERVAL_MS: "500" };

export class Cluster {
  readonly services: RunningService[] = [];
  readonly runners: RunningService[] = [];
  private readonly endedLines: string[][] = [];
  gateway!: RunningService;
  client!: ServiceClient<typeof GenerationService>;
  /** The tokenizer's and detokenizer's addresses, as a gateway's environment. */
  upstreams: Record<string, string> = {};
  private modelEnv: Record<string, string> = {};

  constructor(
    readonly redisUrl: string,
    private readonly env: Record<string, string> = {},
  ) {}

  /** Tokenizer, detokenizer, `runners` runners (with `runnerEnv`) and a gateway, all in cluster mode. */
  async start(
    runners: number,
    gatewayEnv: Record<string, string> = {},
    runnerEnv: Record<string, string> = {},
  ): Promise<this> {
    const model = await ensureModel(MODEL);
    this.modelEnv = { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: MODEL };
    const [tokenizer, detokenizer] = await this.startAll([
      ["services/tokenizer/src/main.ts", { name: "tokenizer", env: this.modelEnv, timeoutMs: 60_000 }],
      ["services/detokenizer/src/main.ts", { name: "detokenizer", env: this.modelEnv, timeoutMs: 60_000 }],
    ]);
    this.upstreams = { LLM_TOKENIZER_URL: tokenizer.address, LLM_DETOKENIZER_URL: detokenizer.address };
    await Promise.all(Array.from({ length: runners }, () => this.addRunner(runnerEnv)));
    await this.startGateway(gatewayEnv);
    return this;
  }

  get modelDir(): string {
    return this.modelEnv.LLM_MODEL_DIR;
  }

  async addRunner(env: Record<string, string> = {}): Promise<RunningService> {
    // Every "generate ended" line, kept whole (the launcher keeps only the tail of a chatty child's stderr).
    const ended: string[] = [];
    let partial = "";
    const onStderr = (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      ended.push(...lines.filter((line) => line.includes('"msg":"generate ended"')));
    };
    const [runner] = await this.startAll([
      [
        "services/model-runner/src/main.ts",
        {
          name: `model-runner-${this.runners.length}`,
          env: { ...this.modelEnv, LLM_REDIS_URL: this.redisUrl, ...this.env, ...env },
          timeoutMs: 60_000,
          onStderr,
        },
      ],
    ]);
    this.runners.push(runner);
    this.endedLines.push(ended); // same index as its runner
    return runner;
  }

  async startGateway(env: Record<string, string> = {}): Promise<RunningService> {
    this.client?.close();
    this.gateway = await this.addGateway(env);
    this.client = createClient(GenerationService, this.gateway.address);
    return this.gateway;
  }

  /** One more gateway on the same Redis and upstreams (`gateway` and `client` stay the first one's). */
  async addGateway(env: Record<string, string> = {}): Promise<RunningService> {
    const [gateway] = await this.startAll([
      [
        "services/gateway/src/main.ts",
        {
          name: "gateway",
          env: { ...this.upstreams, LLM_REDIS_URL: this.redisUrl, ...this.env, ...env },
          timeoutMs: 60_000,
        },
      ],
    ]);
    return gateway;
  }

  /** Requests each runner finished (from its log). */
  servedPerRunner(): number[] {
    return this.endedLines.map((lines) => lines.length);
  }

  /** Whether some runner logged the end of `requestId` with this finish reason. */
  runnerEnded(requestId: string, finish: string): boolean {
    return this.endedLines.some((lines) =>
      lines.some((line) => line.includes(`"requestId":"${requestId}"`) && line.includes(`"finish":"${finish}"`)),
    );
  }

  async stop(): Promise<void> {
    this.client?.close();
    for (const service of this.services.reverse()) await service.stop(5000);
  }

  private async startAll(entries: [string, StartServiceOptions][]): Promise<RunningService[]> {
    const results = await Promise.allSettled(entries.map(([entry, options]) => startService(entry, options)));
    for (const result of results) if (result.status === "fulfilled") this.services.push(result.value);
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    return results.map((result) => (result as PromiseFulfilledResult<RunningService>).value);
  }
}

export interface Streamed {
  text: string;
  /** Token index of each delta, in arrival order. */
  indices: number[];
  tokenIds: number[];
  final: GenerateFinal | undefined;
}

/** Runs Generate to its end; `onDelta` may act mid-stream. */
export async function stream(
  client: ServiceClient<typeof GenerationService>,
  request: Request,
  options: CallOptions = {},
  onDelta: (received: Streamed) => void | Promise<void> = () => {},
): Promise<Streamed> {
  const out: Streamed = { text: "", indices: [], tokenIds: [], final: undefined };
  for await (const { event } of client.generate(request, options)) {
    if (event.case === "delta") {
      out.text += event.value.text;
      out.indices.push(event.value.index);
      out.tokenIds.push(...event.value.tokenIds);
      await onDelta(out);
    } else if (event.case === "final") {
      out.final = event.value;
    }
  }
  return out;
}

/** With include_token_ids every token has its own delta: indices 0..n-1, each once, in order. */
export function expectEveryIndexOnce(out: Streamed): void {
  const n = out.final?.usage?.completionTokens ?? -1;
  expect(out.tokenIds).toHaveLength(n);
  expect(out.indices.slice(0, n)).toEqual(Array.from({ length: n }, (_, i) => i));
}

export const withId = (request: Request, requestId: string): Request => ({ ...request, requestId });

/**
 * `requests` concurrent seeded streams of `maxTokens` tokens each: every one completes with every index once, the
 * same prompt and seed give the same text whichever runner and batch served it, and every runner served some.
 */
export async function expectConcurrentStreamsSpread(
  cluster: Cluster,
  requests: number,
  maxTokens: number,
  timeoutMs: number,
): Promise<void> {
  const before = cluster.servedPerRunner();
  const deadline = Date.now() + timeoutMs; // generous: the machine is shared; the point is that all complete
  const outs = await Promise.all(
    Array.from({ length: requests }, (_, i) => stream(cluster.client, seededRequest(i, maxTokens), { deadline })),
  );
  for (const out of outs) {
    expect(out.final?.finishReason).toBeOneOf([FinishReason.LENGTH, FinishReason.EOS]);
    expectEveryIndexOnce(out);
  }
  for (let i = 20; i < requests; i++) expect(outs[i].text).toBe(outs[i % 20].text);
  // Runners log a request's end just after writing its final event: the last lines may still be on their way.
  const served = () => cluster.servedPerRunner().map((n, r) => n - before[r]);
  await expect.poll(() => served().reduce((a, b) => a + b), { timeout: 5000 }).toBe(requests);
  for (const n of served()) expect(n).toBeGreaterThan(0);
}

/** Runner settings for expectRunnerKillLosesNothing: two slots per runner, fast takeover. */
export const KILLABLE = { ...FAST_TAKEOVER, LLM_MAX_BATCH_SIZE: "2" };

/**
 * With two runners of two slots each (KILLABLE), four seeded requests stream `tokens` tokens; once each has 5, the
 * first runner is SIGKILLed. Every request must still end with the text, ids and finish reason of an uninterrupted
 * run, each index once, and the survivor must have finished all four (its own two and the two it took over).
 */
export async function expectRunnerKillLosesNothing(cluster: Cluster, tokens: number): Promise<void> {
  const requests = [0, 1, 2, 3].map((i) => seededRequest(i, tokens));
  const deadline = () => Date.now() + 60_000;
  const reference = await Promise.all(
    requests.map((r, i) => stream(cluster.client, withId(r, `ref-${i}`), { deadline: deadline() })),
  );
  const before = cluster.servedPerRunner();
  const [victim] = cluster.runners;
  const started: Streamed[] = [];
  let killed = false;
  const outs = await Promise.all(
    requests.map((r, i) =>
      stream(cluster.client, withId(r, `run-${i}`), { deadline: deadline() }, (received) => {
        started[i] = received;
        if (!killed && started.filter((s) => s && s.indices.length >= 5).length === requests.length) {
          killed = true;
          victim.process.kill("SIGKILL");
        }
      }),
    ),
  );
  expect(killed).toBe(true);
  for (const [i, out] of outs.entries()) {
    expect(out.final?.finishReason).toBe(reference[i].final?.finishReason);
    expectEveryIndexOnce(out);
    expect(out.text).toBe(reference[i].text);
    expect(out.tokenIds).toEqual(reference[i].tokenIds);
  }
  await expect.poll(() => cluster.servedPerRunner()[1] - before[1], { timeout: 5000 }).toBe(4);
}

/**
 * Streams `request` (id "resumable") until 10 tokens arrived, stops the gateway with `signal`, starts a new one
 * and resumes from the last index the client saw: the two parts together must be the text of an uninterrupted run,
 * the runner must have run the request to its end, and once delivered there is nothing left to resume.
 */
export async function expectResumedAfterGatewayStops(
  cluster: Cluster,
  signal: NodeJS.Signals,
  request: Request,
): Promise<void> {
  const reference = await stream(cluster.client, withId(request, "uninterrupted"));
  let seen: Streamed | undefined;
  const first = cluster.gateway;
  await expect(
    stream(cluster.client, withId(request, "resumable"), {}, (received) => {
      seen = { ...received, indices: [...received.indices] }; // what the client has, up to the cut
      if (received.indices.length === 10) first.process.kill(signal);
    }),
  ).rejects.toSatisfy((err) => isLlmError(err) && ["unavailable", "cancelled"].includes(err.code));
  const lastIndex = seen?.indices.at(-1) ?? -1;
  expect(lastIndex).toBeGreaterThanOrEqual(9);
  expect(lastIndex).toBeLessThan(request.maxTokens ?? 0); // cut mid-stream

  await cluster.startGateway();
  const rest = await stream(cluster.client, {
    model: request.model,
    requestId: "resumable",
    resumeFromIndex: lastIndex + 1,
  });
  expect(rest.indices[0]).toBe(lastIndex + 1);
  expect((seen?.text ?? "") + rest.text).toBe(reference.text);
  expect(rest.final?.finishReason).toBe(reference.final?.finishReason);
  await expect.poll(() => cluster.runnerEnded("resumable", "length"), { timeout: 5000 }).toBe(true);
  // Nothing to resume once it ended: the gateway deleted the stream after delivering the end.
  await expect(
    stream(cluster.client, { model: request.model, requestId: "resumable", resumeFromIndex: 0 }),
  ).rejects.toSatisfy((err) => isLlmError(err) && err.code === "not_found");
}

/** A client that goes away after 3 tokens: its stream is deleted and the runner ends it as cancelled. */
export async function expectLeavingClientEndsRequest(cluster: Cluster): Promise<void> {
  const controller = new AbortController();
  const request = { ...seededRequest(3, 900), requestId: "leaves-early" };
  const out = stream(cluster.client, request, { signal: controller.signal }, (received) => {
    if (received.indices.length === 3) controller.abort();
  });
  await expect(out).rejects.toSatisfy((err) => isLlmError(err) && err.code === "cancelled");
  await expect.poll(() => keysMatching(cluster.redisUrl, KEYS.tokens("leaves-early")), { timeout: 15_000 }).toEqual([]);
  // The runner ended it as cancelled long before its 900 tokens.
  await expect.poll(() => cluster.runnerEnded("leaves-early", "cancelled"), { timeout: 15_000 }).toBe(true);
}

export function seededRequest(i: number, maxTokens: number): Request {
  return {
    model: MODEL,
    prompt: { case: "text", value: `Request ${i % 20} of the cluster test:` },
    maxTokens,
    includeTokenIds: true,
    sampling: { temperature: 0.9, topP: 0.95, seed: BigInt(1000 + (i % 20)) },
  };
}

/**
 * Keys left in Redis under a pattern (SCAN, as an operator would look), on one server or, given the comma-separated
 * URLs of every master, on a whole Redis Cluster.
 */
export async function keysMatching(redisUrls: string, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const url of redisUrls.split(",")) {
    const redis = new Redis(url);
    try {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        found.push(...keys);
        cursor = next;
      } while (cursor !== "0");
    } finally {
      redis.disconnect();
    }
  }
  return found;
}
