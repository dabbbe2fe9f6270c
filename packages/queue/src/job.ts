// A generation as a BullMQ job: the runner's request (prompt ids, sampling with the seed fixed at admission,
// deadline, cache salt) as protobuf binary, and the W3C trace context of the request that queued it. An embedding
// request is a job of its own kind (EmbedJobData) on its embedding model's queue; its inputs (up to megabytes) travel
// in the request's stream, which is deleted once answered, not in the job, which BullMQ keeps after it finished.
import {
  fromBinary,
  type ModelRunnerServiceGenerateRequest,
  ModelRunnerServiceGenerateRequestSchema,
  toBinary,
} from "@llm/proto";

/** Name of a generation job. */
export const JOB_NAME = "generate";

export interface DispatchJobData {
  requestId: string;
  /** base64 of llm.v1.ModelRunnerServiceGenerateRequest (its `deadline` is the request's deadline). */
  request: string;
  /** W3C trace context carrier (traceparent, tracestate); empty when tracing is off. */
  traceContext: Record<string, string>;
}

export function jobDataOf(
  request: ModelRunnerServiceGenerateRequest,
  traceContext: Record<string, string> = {},
): DispatchJobData {
  const bytes = toBinary(ModelRunnerServiceGenerateRequestSchema, request);
  return { requestId: request.requestId, request: Buffer.from(bytes).toString("base64"), traceContext };
}

export function runnerRequestOf(data: DispatchJobData): ModelRunnerServiceGenerateRequest {
  return fromBinary(ModelRunnerServiceGenerateRequestSchema, Buffer.from(data.request, "base64"));
}

/** Name of an embedding job (on an embedding model's queue, which only embedders work). */
export const EMBED_JOB_NAME = "embed";

export interface EmbedJobData {
  /** Names the request's stream: the request is its admission entry (stream-entries.ts), and the response goes there. */
  requestId: string;
  /** The request's reservation in the waiting-tokens bound (an upper bound of its tokens; admission.ts). */
  tokens: number;
  /** The caller's deadline, epoch ms; 0: none. An embedder does not start a job past it. */
  deadlineMs: number;
  traceContext: Record<string, string>;
}

export function embedJobDataOf(
  requestId: string,
  tokens: number,
  deadlineMs: number | undefined,
  traceContext: Record<string, string> = {},
): EmbedJobData {
  return { requestId, tokens, deadlineMs: deadlineMs ?? 0, traceContext };
}

/** What a model's queues carry: generation jobs, or embedding jobs on an embedding model's queue. */
export type QueuedJobData = DispatchJobData | EmbedJobData;
