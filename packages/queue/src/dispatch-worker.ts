// The runner's side of cluster mode: a BullMQ worker on its model's queue that takes at most `concurrency` jobs
// (the engine's batch slots) and keeps one only while the engine has a free slot and KV room for it (else it puts
// the job back at the head of the queue, for another runner, and takes nothing until one of its own jobs ends), runs
// each through the same generation path as a local request, and writes the events to the request's stream. A runner that dies keeps its lock
// only for `lockMs`; another runner's stalled-job check then takes the job over and continues it after the tokens
// already in the request's stream (prompt + those tokens prefilled, sampling at their index), so the client's text is
// one continuation whatever the numerics of either runner.
import { LlmError, toLlmError } from "@llm/errors";
import type { ModelRunnerServiceGenerateRequest } from "@llm/proto";
import type { RedisClient, RedisTarget } from "@llm/redis";
import { type Job, WaitingError, type Worker } from "bullmq";
import { leave, reservedTokens } from "./admission.js";
import { type DispatchJobData, runnerRequestOf } from "./job.js";
import { type JobWorkerOptions, jobWorker } from "./job-worker.js";
import { clusterKeys } from "./keys.js";
import { type AnnouncedModel, announceModel } from "./model-catalog.js";
import { eventOf, type RunnerEventInit } from "./stream-entries.js";
import { type StreamLifetimes, TokenStreamWriter } from "./token-stream-writer.js";
import { WorkerLinks } from "./worker-links.js";

/** A worker that gave a job back looks again after one of its jobs ends, or this long (room freed elsewhere). */
const ROOM_RECHECK_MS = 1000;

/** `concurrency`: the engine's batch slots. */
export interface DispatchWorkerOptions extends JobWorkerOptions {
  /** A standalone Redis or a Redis Cluster. */
  redis: RedisTarget;
  model: AnnouncedModel;
  lifetimes: StreamLifetimes;
  /**
   * Through a Redis outage shorter than this the engine generates on and the token events wait in order for Redis
   * (bufferingConnection); a longer one cancels the generation. 0: cancel at once.
   */
  outageWindowMs: number;
  /**
   * Set for KV-aware routing: the runner also works its own queue (`clusterKeys(model).runnerQueue(runnerId)`),
   * where gateways send requests whose prefix this runner holds. Same processor and limits as the shared queue.
   */
  runnerId?: string;
  /** Whether the engine could start `request` now: a free batch slot and KV room for prompt + max_tokens. */
  hasRoom(request: ModelRunnerServiceGenerateRequest): boolean;
  /** The generation path local requests take: runner events for `request`, ended early when `signal` aborts. */
  run(
    request: ModelRunnerServiceGenerateRequest,
    signal: AbortSignal,
    traceContext: Record<string, string>,
  ): AsyncIterable<RunnerEventInit>;
}

export class DispatchWorker {
  private constructor(
    private readonly workers: Worker<DispatchJobData>[],
    private readonly links: WorkerLinks,
  ) {}

  static async start(options: DispatchWorkerOptions): Promise<DispatchWorker> {
    const keys = clusterKeys(options.model.id);
    const links = await WorkerLinks.open({
      ...options,
      role: "runner",
      cancelChannel: keys.cancelChannel,
      announce: (writes) => announceModel(writes, options.model),
    });
    const { writes, cancels } = links;
    const writer = new TokenStreamWriter(writes, options.lifetimes);

    const roomFreed = new Signal();
    const processJob = async (job: Job<DispatchJobData>, token?: string, lost?: AbortSignal) => {
      const request = runnerRequestOf(job.data);
      if (!options.hasRoom(request) && token !== undefined) {
        // Waiting here would hold the job from runners that have room: back to the head of the queue. This slot of
        // the worker stays taken until room may have freed, so it fetches no job meanwhile.
        await job.moveToWait(token);
        await roomFreed.next(ROOM_RECHECK_MS);
        throw new WaitingError();
      }
      leave(writes, keys, request.requestId, reservedTokens(request)).catch(() => {}); // taken: no longer waiting
      const cancel = cancels.track(request.requestId);
      lost?.addEventListener("abort", () =>
        cancel.abort(new LlmError("cancelled", "this runner lost the job's lock; another runner took it over")),
      );
      // A first run writes from index 0 at once. A takeover first reads what the stream holds and continues after
      // it; undefined: ended, expired, or finished by a runner that died before completing the job: nothing to do.
      const key = keys.tokens(request.requestId);
      const takeover = job.attemptsStarted > 1 || job.stalledCounter > 0;
      try {
        const output = takeover ? await writer.open(key, request.maxTokens) : writer.fresh(key, request.maxTokens);
        if (!output) return;
        output.onGone((reason) =>
          cancel.abort(
            reason instanceof Error ? reason : new LlmError("cancelled", "the gateway ended the request's stream"),
          ),
        );
        const continued = output.delivered.length > 0 ? { ...request, outputTokenIds: [...output.delivered] } : request;
        try {
          for await (const init of options.run(continued, cancel.signal, job.data.traceContext)) {
            output.append(eventOf(init));
          }
        } catch (err) {
          cancel.abort(err);
          output.fail(toLlmError(err));
        }
        await output.flushed();
      } finally {
        cancel.release();
        roomFreed.fire();
      }
    };
    const workerOn = (queueName: string, connection: RedisClient) =>
      jobWorker(queueName, processJob, connection, options);
    const workers = [workerOn(keys.queueName, links.jobs)];
    if (options.runnerId !== undefined) {
      workers.push(workerOn(keys.runnerQueue(options.runnerId), links.moreJobs("own-jobs")));
    }
    await Promise.all(workers.map((worker) => worker.waitUntilReady()));
    return new DispatchWorker(workers, links);
  }

  /** Stops taking jobs and waits for the running ones to finish. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
    this.links.close();
  }
}

/** Wakes every waiter once per fire(). */
class Signal {
  private waiters: (() => void)[] = [];

  fire(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Settles at the next fire(), or after `timeoutMs`. */
  next(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
