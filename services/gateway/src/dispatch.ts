// Where the gateway sends a request's tokens to be generated: one model runner over gRPC (local mode), or the
// model's BullMQ queue with the tokens coming back on a Redis Stream (cluster mode). Both give the runner's
// events, so everything after them (detokenizer, stream assembly) is the same code.
import { LlmError } from "@llm/errors";
import type {
  GenerateRequest,
  ModelRunnerService,
  ModelRunnerServiceGenerateRequest,
  ModelRunnerServiceGenerateResponse,
} from "@llm/proto";
import type { ClusterDispatcher } from "@llm/queue";
import type { CallOptions, ServiceClient } from "@llm/rpc";
import { injectQueuedContext } from "@llm/telemetry";

/** The call's options; the signal ends the request wherever it runs. */
export type DispatchCall = CallOptions & {
  signal: AbortSignal;
  /** Who sent it (GenerationContext.caller): cluster mode stores it, and resumes only for the same caller. */
  caller?: string;
};

export interface Dispatch {
  /** The runner's events for `request`; `admitted` is the client's request (seed fixed), kept for a resume. */
  generate(
    request: ModelRunnerServiceGenerateRequest,
    admitted: GenerateRequest,
    call: DispatchCall,
  ): AsyncIterable<ModelRunnerServiceGenerateResponse>;
  /** The client's request `requestId` of `model` and its runner events from the first token. */
  resume(
    model: string,
    requestId: string,
    call: DispatchCall,
  ): Promise<{ admitted: GenerateRequest; events: AsyncIterable<ModelRunnerServiceGenerateResponse> }>;
}

export function localDispatch(runner: ServiceClient<typeof ModelRunnerService>): Dispatch {
  return {
    generate: (request, _admitted, call) => runner.generate(request, call),
    async resume() {
      throw new LlmError(
        "failed_precondition",
        "resume_from_index needs cluster mode (LLM_REDIS_URL): a local-mode stream ends with its connection",
        { details: { field: "resume_from_index" } },
      );
    },
  };
}

export function clusterDispatch(dispatcher: ClusterDispatcher): Dispatch {
  return {
    // The job carries the request's trace context (and when it was queued), so the runner's spans join the
    // gateway's trace under a queue-wait span.
    generate: (request, admitted, call) =>
      dispatcher.generate(request, admitted, { ...call, traceContext: injectQueuedContext() }),
    resume: (model, requestId, call) => dispatcher.resume(model, requestId, call),
  };
}
