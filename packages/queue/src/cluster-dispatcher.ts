// The gateway's side of cluster mode: admits a request (bounded queue), writes its stream's admission entry,
// routes and queues the job on the model's queue, and hands the request's stream to StreamFollower
// (stream-follower.ts), which yields its runner events. A stream that outlives the gateway can be resumed by
// request id. An embedding request takes the same path (admission, its model's queue, its stream) for one response.
import { randomUUID } from "node:crypto";
import { LlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import type {
  EmbedRequest,
  EmbedResponse,
  GenerateRequest,
  InfoResponse,
  ModelRunnerServiceGenerateRequest,
  ModelRunnerServiceGenerateResponse,
} from "@llm/proto";
import type { RedisClient, RedisTarget } from "@llm/redis";
import { Queue } from "bullmq";
import { admit, reservedTokens } from "./admission.js";
import { failFastConnection, onRedis, whenReady } from "./connection.js";
import { EMBED_JOB_NAME, embedJobDataOf, JOB_NAME, jobDataOf, type QueuedJobData } from "./job.js";
import { type ClusterKeys, clusterKeys } from "./keys.js";
import { kvAwareRoute, type RouteRequest } from "./kv-route.js";
import { type AnnouncedModel, announcedEmbeddingModels, announcedModels } from "./model-catalog.js";
import { ADMISSION_ID, decodeEntry, encodeEmbedRequest, encodeRequest, FIELD } from "./stream-entries.js";
import { StreamFollower } from "./stream-follower.js";

/**
 * An embedding job that failed on its embedder (Redis failing under it mid-job; refusals are answers, not failures)
 * runs again: it has no partial state, so a retry is as good as a first run.
 */
const EMBED_RETRIES = { attempts: 3, backoff: { type: "fixed", delay: 500 } } as const;

/** BullMQ's own event stream per queue: kept short, nothing here reads it. */
const QUEUE_EVENTS_MAX_LEN = 1000;

export interface ClusterDispatcherOptions {
  /** A standalone Redis or a Redis Cluster. */
  redis: RedisTarget;
  /** Most jobs waiting on a model's queue; past it: RESOURCE_EXHAUSTED. */
  maxWaiting: number;
  /** Most tokens (prompt + max_tokens) of a model's requests waiting for a runner; past it: RESOURCE_EXHAUSTED. */
  maxWaitingTokens: number;
  /** The retry hint sent with RESOURCE_EXHAUSTED. */
  retryAfterMs: number;
  /** Lifetime of a request's stream before a runner takes it (runners refresh it). */
  streamTtlMs: number;
  /** Finished and failed jobs BullMQ keeps (for inspection); older ones are removed. */
  keepFinishedJobs: number;
  /**
   * A Redis outage shorter than this costs a request in flight nothing: its stream is read on after it (new
   * requests meanwhile get UNAVAILABLE at once); longer, the request fails UNAVAILABLE. 0: fail at once.
   */
  outageWindowMs: number;
  /**
   * KV-aware routing: a request goes on the own queue of the runner holding the longest prefix of it in memory
   * (kvAwareRoute), else on the model's shared queue. A routed job its runner has not started by the first idle
   * check (busy or gone), or whose runner died holding it, moves to the shared queue.
   */
  kvAwareRouting?: boolean;
  /** Where its warnings go (a failed routing lookup). */
  log: Log;
}

export interface ClusterCall {
  /** Aborting ends the request: the job is cancelled and its stream deleted. */
  signal: AbortSignal;
  traceContext?: Record<string, string>;
  /** Who sent it (e.g. an API key's id): stored with the request; a resume by anyone else finds nothing. */
  caller?: string;
}

export class ClusterDispatcher {
  private readonly queues = new Map<string, Queue<QueuedJobData>>();
  private readonly streams: StreamFollower;

  private constructor(
    private readonly options: ClusterDispatcherOptions,
    private readonly redis: RedisClient,
    private readonly route: RouteRequest | undefined,
  ) {
    this.streams = new StreamFollower(options, redis, randomUUID());
  }

  static async connect(options: ClusterDispatcherOptions): Promise<ClusterDispatcher> {
    const redis = failFastConnection(options.redis, "gateway");
    await whenReady(redis);
    const route = options.kvAwareRouting ? kvAwareRoute(redis, options.log) : undefined;
    return new ClusterDispatcher(options, redis, route);
  }

  /** The models runners have announced. */
  models(): Promise<AnnouncedModel[]> {
    return onRedis(() => announcedModels(this.redis));
  }

  /** The embedding models embedders have announced. */
  embeddingModels(): Promise<InfoResponse[]> {
    return onRedis(() => announcedEmbeddingModels(this.redis));
  }

  /**
   * Queues `request` (its sampling seed already fixed) and yields its runner events. `admitted` is the public
   * request, stored in the stream so a resume can rebuild the client's view.
   */
  async *generate(
    request: ModelRunnerServiceGenerateRequest,
    admitted: GenerateRequest,
    call: ClusterCall,
  ): AsyncGenerator<ModelRunnerServiceGenerateResponse> {
    const { keys, queue } = this.queueOf(request.model);
    const key = keys.tokens(request.requestId);
    const data = jobDataOf(request, call.traceContext);
    const tokens = reservedTokens(request);
    if (tokens > this.options.maxWaitingTokens) {
      throw new LlmError(
        "invalid_argument",
        `prompt + max_tokens is ${tokens} tokens, more than model "${request.model}" queues at once (LLM_MAX_QUEUE_TOKENS ${this.options.maxWaitingTokens}): lower max_tokens or shorten the prompt`,
        { details: { field: "max_tokens" } },
      );
    }
    // Admitted first, then routed and queued: a job on a list before its admission is counted by no bound (a burst
    // would overfill the lists, and KEDA scale on them) and could run for a request that ends up refused; a refused
    // request routed first would count as load on its runner in the router.
    await this.admit(keys, request.model, request.requestId, tokens, {
      field: FIELD.request,
      entry: encodeRequest(admitted),
      owner: call.caller ?? "",
    });
    const runnerId = await this.route?.(request);
    const target = runnerId === undefined ? queue : this.queueNamed(keys, keys.runnerQueue(runnerId));
    let job: Awaited<ReturnType<typeof target.add>>;
    try {
      job = await onRedis(() => target.add(JOB_NAME, data));
    } catch (err) {
      await this.streams.end(keys, key, request.requestId, false, { queue: target, id: undefined, tokens });
      throw err;
    }
    const fallback = target === queue ? undefined : { queue, data };
    yield* this.streams.follow(keys, key, request.requestId, call.signal, {
      queue: target,
      id: job.id,
      tokens,
      fallback,
    });
  }

  /**
   * Queues an embedding request (its model resolved) on its model's queue and waits for an embedder's response.
   * `tokens` is its reservation in the waiting-tokens bound (an upper bound of its tokens); `deadline` epoch ms.
   */
  async embed(
    request: EmbedRequest,
    tokens: number,
    deadline: number | undefined,
    call: ClusterCall,
  ): Promise<EmbedResponse> {
    const { keys, queue } = this.queueOf(request.model);
    if (tokens > this.options.maxWaitingTokens) {
      throw new LlmError(
        "invalid_argument",
        `the inputs may be up to ${tokens} tokens, more than model "${request.model}" queues at once (LLM_MAX_QUEUE_TOKENS ${this.options.maxWaitingTokens}): send fewer or shorter inputs per request`,
        { details: { field: "input" } },
      );
    }
    const requestId = randomUUID();
    const key = keys.tokens(requestId);
    await this.admit(keys, request.model, requestId, tokens, {
      field: FIELD.embedRequest,
      entry: encodeEmbedRequest(request),
      owner: "",
    });
    const data = embedJobDataOf(requestId, tokens, deadline, call.traceContext);
    let id: string | undefined;
    try {
      id = (await onRedis(() => queue.add(EMBED_JOB_NAME, data, EMBED_RETRIES))).id;
    } catch (err) {
      await this.streams.end(keys, key, requestId, false, { queue, id: undefined, tokens });
      throw err;
    }
    return this.streams.result(keys, key, requestId, call.signal, { queue, id, tokens });
  }

  /** The stored public request of `requestId` and its runner events from the first one. */
  async resume(
    modelId: string,
    requestId: string,
    call: ClusterCall,
  ): Promise<{ admitted: GenerateRequest; events: AsyncGenerator<ModelRunnerServiceGenerateResponse> }> {
    const { keys } = this.queueOf(modelId);
    const key = keys.tokens(requestId);
    const [first] = await onRedis(() => this.redis.xrangeBuffer(key, ADMISSION_ID, ADMISSION_ID));
    const entry = first ? decodeEntry(first[1]) : undefined;
    // Another caller's request is answered as if absent: ids are not a way to read other tenants' output.
    if (entry?.kind !== "request" || entry.owner !== (call.caller ?? "")) {
      throw new LlmError(
        "not_found",
        `no stream to resume for request "${requestId}" of model "${modelId}": it ended (or expired), or never started`,
        { details: { field: "request_id" } },
      );
    }
    return { admitted: entry.request, events: this.streams.follow(keys, key, requestId, call.signal, undefined) };
  }

  /**
   * The gateway is going away: from now on a request cut short stays in the cluster (its job runs to the end, its
   * stream stays until it expires), so its client can resume it on another gateway.
   */
  detach(): void {
    this.streams.detach();
  }

  async close(): Promise<void> {
    await this.streams.close();
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.redis.disconnect();
  }

  private queueOf(modelId: string): { keys: ClusterKeys; queue: Queue<QueuedJobData> } {
    const keys = clusterKeys(modelId);
    return { keys, queue: this.queueNamed(keys, keys.queueName) };
  }

  /** A model's shared queue or one of its runners' own queues (same hash tag), made once. */
  private queueNamed(keys: ClusterKeys, name: string): Queue<QueuedJobData> {
    let entry = this.queues.get(name);
    if (!entry) {
      const queue = new Queue<QueuedJobData>(name, {
        connection: this.redis,
        prefix: keys.prefix,
        streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } },
        defaultJobOptions: {
          removeOnComplete: { count: this.options.keepFinishedJobs },
          removeOnFail: { count: this.options.keepFinishedJobs },
        },
      });
      queue.on("error", () => {}); // surfaces through the calls that fail
      entry = queue;
      this.queues.set(name, entry);
    }
    return entry;
  }

  /**
   * Both bounds and the stream's admission entry (which also makes the request id unique), in one script: a
   * refused request leaves nothing behind.
   */
  private async admit(
    keys: ClusterKeys,
    model: string,
    requestId: string,
    tokens: number,
    admission: { field: string; entry: Buffer; owner: string },
  ): Promise<void> {
    const { maxWaiting, maxWaitingTokens, retryAfterMs, streamTtlMs } = this.options;
    const { outcome, waiting, waitingTokens } = await onRedis(() =>
      admit(this.redis, keys, { requestId, tokens, ...admission }, { maxWaiting, maxWaitingTokens, streamTtlMs }),
    );
    if (outcome === "duplicate") {
      throw new LlmError(
        "invalid_argument",
        `request_id "${requestId}" is already in flight in the cluster; choose a unique id, or leave it empty`,
        { details: { field: "request_id" } },
      );
    }
    const details = { waiting, limit: maxWaiting, waitingTokens, tokenLimit: maxWaitingTokens, tokens };
    if (outcome === "requests") {
      throw new LlmError(
        "resource_exhausted",
        `${waiting} requests are already waiting for model "${model}" (LLM_MAX_QUEUE_DEPTH ${maxWaiting}); retry later`,
        { retryAfterMs, details },
      );
    }
    if (outcome === "tokens") {
      throw new LlmError(
        "resource_exhausted",
        `${waitingTokens} tokens (prompt + max_tokens of generations, inputs of embeddings) are already waiting for model "${model}" and this request needs ${tokens} more (LLM_MAX_QUEUE_TOKENS ${maxWaitingTokens}); retry later, or send a smaller request`,
        { retryAfterMs, details },
      );
    }
  }
}
