// The gateway's reading side of cluster mode: a request's runner events from its Redis stream, in order and each
// token index once (a runner that took over a dead one's job regenerates from the admission seed), a watch on its
// job while the stream is quiet (gone stream, failed job, a routed job its runner never took), and the request
// ended in Redis however the reading ends. An embedding request's stream is followed the same way, for its one
// response.
import { LlmError } from "@llm/errors";
import type { EmbedResponse, ModelRunnerServiceGenerateResponse } from "@llm/proto";
import type { RedisClient, RedisTarget } from "@llm/redis";
import type { Queue } from "bullmq";
import { leave } from "./admission.js";
import { publishCancel } from "./cancellations.js";
import { OutageWindow, patientConnection } from "./connection.js";
import { type DispatchJobData, JOB_NAME, type QueuedJobData } from "./job.js";
import type { ClusterKeys } from "./keys.js";
import { ADMISSION_ID, type StreamEntry } from "./stream-entries.js";
import { type StreamWatch, TokenStreamHub } from "./token-stream-hub.js";

/** Without news from the stream for this long, the gateway checks that the job and the stream still exist. */
const IDLE_CHECK_MS = 1000;

/** A job this gateway queued, while it follows the job's stream. */
export interface QueuedJob {
  queue: Queue<QueuedJobData>;
  id: string | undefined;
  /** The request's reservation in the waiting-tokens bound. */
  tokens: number;
  /** Set while the job sits on a runner's own queue: the shared queue and the data to move it there. */
  fallback?: { queue: Queue<QueuedJobData>; data: DispatchJobData };
}

export interface StreamFollowerOptions {
  /** Where the blocking stream reads connect (one patient connection per model). */
  redis: RedisTarget;
  outageWindowMs: number;
  retryAfterMs: number;
}

export class StreamFollower {
  /** One token-stream reader per model (a multi-key XREAD must stay in one hash slot). */
  private readonly hubs = new Map<string, TokenStreamHub>();
  private detached = false;

  constructor(
    private readonly options: StreamFollowerOptions,
    private readonly redis: RedisClient,
    private readonly gatewayId: string,
  ) {}

  /** From now on a request cut short stays in the cluster (see ClusterDispatcher.detach). */
  detach(): void {
    this.detached = true;
  }

  async close(): Promise<void> {
    await Promise.all([...this.hubs.values()].map((hub) => hub.close()));
  }

  /** A request's runner events until its final one; however it ends, the request is ended in Redis too. */
  async *follow(
    keys: ClusterKeys,
    key: string,
    requestId: string,
    signal: AbortSignal,
    job: QueuedJob | undefined,
  ): AsyncGenerator<ModelRunnerServiceGenerateResponse> {
    const watch = this.hubOf(keys).watch(key);
    let finished = false;
    try {
      for await (const event of this.events(watch, key, signal, job)) {
        finished ||= event.event.case === "final";
        yield event;
      }
    } finally {
      watch.close();
      await this.end(keys, key, requestId, finished, job);
    }
  }

  private hubOf(keys: ClusterKeys): TokenStreamHub {
    let hub = this.hubs.get(keys.queueName);
    if (!hub) {
      const reader = patientConnection(this.options.redis, "gateway-streams");
      hub = new TokenStreamHub(reader, this.redis, keys.wake(this.gatewayId), this.options.outageWindowMs);
      this.hubs.set(keys.queueName, hub);
    }
    return hub;
  }

  /** An embedding request's response; however it ends, the request is ended in Redis too. */
  async result(
    keys: ClusterKeys,
    key: string,
    requestId: string,
    signal: AbortSignal,
    job: QueuedJob,
  ): Promise<EmbedResponse> {
    // From after the admission entry: it holds the request itself (up to megabytes), nothing to read back here.
    const watch = this.hubOf(keys).watch(key, ADMISSION_ID);
    let finished = false;
    try {
      for await (const entry of this.entries(watch, key, signal, job)) {
        if (entry.kind !== "embedding") continue;
        finished = true;
        return entry.response;
      }
      throw new LlmError("internal", "an embedding request's stream ended without a response");
    } finally {
      watch.close();
      await this.end(keys, key, requestId, finished, job);
    }
  }

  /** Runner events in order, each token index once; ends after the final event. */
  private async *events(
    watch: StreamWatch,
    key: string,
    signal: AbortSignal,
    job: QueuedJob | undefined,
  ): AsyncGenerator<ModelRunnerServiceGenerateResponse> {
    let nextIndex = 0;
    for await (const entry of this.entries(watch, key, signal, job)) {
      if (entry.kind !== "event") continue;
      const { event } = entry.event;
      if (event.case === "token") {
        if (event.value.index < nextIndex) continue; // a stale second writer's copy: already delivered
        nextIndex = event.value.index + 1;
      }
      yield entry.event;
      if (event.case === "final") return;
    }
  }

  /** The stream's entries as they arrive, checking on the job while it is quiet; an error entry is thrown. */
  private async *entries(
    watch: StreamWatch,
    key: string,
    signal: AbortSignal,
    job: QueuedJob | undefined,
  ): AsyncGenerator<StreamEntry> {
    const outage = new OutageWindow(this.options.outageWindowMs);
    for (;;) {
      const entries = await watch.next(signal, IDLE_CHECK_MS);
      if (entries.length === 0) await outage.tolerate(() => this.checkAlive(key, job));
      for (const entry of entries) {
        if (entry.kind === "error") throw entry.error;
        yield entry;
      }
    }
  }

  /** Fails the request when nothing will ever write its stream again (Redis failing: the caller's OutageWindow). */
  private async checkAlive(key: string, job: QueuedJob | undefined): Promise<void> {
    const exists = await this.redis.exists(key);
    if (exists === 0) {
      throw new LlmError(
        "unavailable",
        "the request's stream is gone (Redis lost its data or it expired); retry the request",
        {
          retryAfterMs: this.options.retryAfterMs,
        },
      );
    }
    if (job?.id === undefined) return;
    if (job.fallback) await this.unroute(job);
    const { queue, id } = job;
    const state = await queue.getJobState(id);
    if (state === "failed") {
      throw new LlmError("unavailable", "the request's job failed on the runners (see their logs); retry the request", {
        retryAfterMs: this.options.retryAfterMs,
      });
    }
  }

  /**
   * Moves a routed job to the shared queue unless its runner holds it (BullMQ removes only unlocked jobs): one
   * still waiting on the runner's queue, or one whose runner died and whose lock expired.
   */
  private async unroute(job: QueuedJob): Promise<void> {
    const { fallback, queue, id } = job;
    if (!fallback || id === undefined || (await queue.remove(id)) !== 1) return;
    const moved = await fallback.queue.add(JOB_NAME, fallback.data);
    Object.assign(job, { queue: fallback.queue, id: moved.id, fallback: undefined });
  }

  /**
   * Deletes the stream (its job then stops at its next write) and, for a request ended early, takes a job still
   * waiting off its queue and gives back its tokens (so it holds no place in the bounds) and tells a runner running
   * it to stop now.
   */
  async end(keys: ClusterKeys, key: string, requestId: string, finished: boolean, job?: QueuedJob): Promise<void> {
    if (!finished && this.detached) return;
    try {
      await this.redis.del(key);
      if (finished) return;
      if (job) {
        await Promise.all([
          job.id === undefined ? 0 : job.queue.remove(job.id), // 0 when a runner holds it: the cancel stops it
          leave(this.redis, keys, requestId, job.tokens),
        ]);
      }
      await publishCancel(this.redis, keys.cancelChannel, requestId);
    } catch {
      // Redis is down: the stream expires by itself, and the runner stops when its writes fail.
    }
  }
}
