// A generation as a BullMQ job: the runner's request (prompt ids, sampling with the seed fixed at admission,
// deadline, cache salt) as protobuf binary, and the W3C trace context of the request that queued it.
import {
  fromBinary,
  type ModelRunnerServiceGenerateRequest,
  ModelRunnerServiceGenerateRequestSchema,
  toBinary,
} from "@llm/proto";

/** Name BullMQ jobs carry (one kind). */
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
