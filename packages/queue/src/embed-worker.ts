// The embedder's side of cluster mode: a BullMQ worker on its embedding model's queue. It holds at most
// `concurrency` jobs at once (their inputs share the embedder's length batches, so more jobs make fuller batches),
// writes each job's response (or error) to the request's stream, and stops a job when the gateway cancels it,
// its deadline passes, or its lock is lost. An embedder that dies holding jobs loses its locks after `lockMs`;
// another embedder's stalled-job check then runs them again from the start (an embedding has no partial state).
import { LlmError, toLlmError } from "@llm/errors";
import type { EmbedRequest, InfoResponse } from "@llm/proto";
import type { RedisClient, RedisTarget } from "@llm/redis";
import type { Job, Worker } from "bullmq";
import { leave } from "./admission.js";
import type { EmbedJobData } from "./job.js";
import { type JobWorkerOptions, jobWorker } from "./job-worker.js";
import { clusterKeys } from "./keys.js";
import { announceEmbeddingModel } from "./model-catalog.js";
import {
  ADMISSION_ID,
  decodeEntry,
  type EmbedResponseInit,
  encodeEmbedding,
  encodeError,
  FIELD,
} from "./stream-entries.js";
import { WorkerLinks } from "./worker-links.js";

export interface EmbedWorkerOptions extends JobWorkerOptions {
  /** A standalone Redis or a Redis Cluster. */
  redis: RedisTarget;
  /** The served model, announced to gateways. */
  model: InfoResponse;
  /** Lifetime of a request's stream once taken (refreshed), and after its response (the gateway deletes it sooner). */
  streamTtlMs: number;
  resultTtlMs: number;
  /** Through a Redis outage shorter than this a response waits for Redis; longer, it is lost (the gateway fails). */
  outageWindowMs: number;
  /** The embedding path local requests take; stops early when `signal` aborts. */
  run(request: EmbedRequest, signal: AbortSignal, traceContext: Record<string, string>): Promise<EmbedResponseInit>;
}

export class EmbedWorker {
  private constructor(
    private readonly worker: Worker<EmbedJobData>,
    private readonly links: WorkerLinks,
  ) {}

  static async start(options: EmbedWorkerOptions): Promise<EmbedWorker> {
    const keys = clusterKeys(options.model.model);
    const links = await WorkerLinks.open({
      ...options,
      role: "embedder",
      cancelChannel: keys.cancelChannel,
      announce: (writes) => announceEmbeddingModel(writes, options.model),
    });
    const { writes, cancels } = links;

    const processJob = async (job: Job<EmbedJobData>, _token?: string, lost?: AbortSignal) => {
      const { requestId, tokens, deadlineMs, traceContext } = job.data;
      leave(writes, keys, requestId, tokens).catch(() => {}); // taken: no longer waiting
      const key = keys.tokens(requestId);
      // The stream holds the request: gone means the gateway ended it (cancelled, past its deadline) while it waited.
      const request = await requestIn(writes, key, options.streamTtlMs);
      if (!request) return;
      const cancel = cancels.track(requestId);
      const stops = [cancel.signal];
      if (lost) stops.push(lost);
      if (deadlineMs > 0) stops.push(AbortSignal.timeout(Math.max(0, deadlineMs - Date.now())));
      const signal = AbortSignal.any(stops);
      let field: string;
      let value: Buffer;
      try {
        const response = await options.run(request, signal, traceContext);
        [field, value] = [FIELD.embedding, encodeEmbedding(response)];
      } catch (err) {
        [field, value] = [FIELD.error, encodeError(stopReason(err, signal, deadlineMs))];
      } finally {
        cancel.release();
      }
      if (lost?.aborted) return; // another embedder runs it now
      // NOMKSTREAM: a stream deleted meanwhile stays deleted (nobody reads it any more).
      await writes.xaddBuffer(key, "NOMKSTREAM", "*", field, value);
      await writes.pexpire(key, options.resultTtlMs);
    };
    const worker = jobWorker(keys.queueName, processJob, links.jobs, options);
    await worker.waitUntilReady();
    return new EmbedWorker(worker, links);
  }

  /** Stops taking jobs and waits for the running ones to finish. */
  async close(): Promise<void> {
    await this.worker.close();
    this.links.close();
  }
}

/** The request in its stream's admission entry (the stream's lifetime refreshed), or undefined when it is gone. */
async function requestIn(redis: RedisClient, key: string, ttlMs: number): Promise<EmbedRequest | undefined> {
  const [[expireError, alive], [readError, entries]] = (await redis
    .pipeline()
    .pexpire(key, ttlMs)
    .xrangeBuffer(key, ADMISSION_ID, ADMISSION_ID)
    .exec()) as [[Error | null, number], [Error | null, [Buffer, Buffer[]][]]];
  // Redis failing is not "gone": the job fails, and the gateway answers UNAVAILABLE instead of waiting on.
  if (expireError || readError) throw expireError ?? readError;
  const entry = alive === 1 && entries?.[0] ? decodeEntry(entries[0][1]) : undefined;
  return entry?.kind === "embed-request" ? entry.request : undefined;
}

/** Why a job stopped: its deadline (the AbortSignal.timeout's DOMException says only "timeout"), or `err`. */
function stopReason(err: unknown, signal: AbortSignal, deadlineMs: number): LlmError {
  if (signal.aborted && deadlineMs > 0 && Date.now() >= deadlineMs) {
    return new LlmError("deadline_exceeded", "the embedding request's deadline passed before its vectors were ready");
  }
  return toLlmError(err);
}
