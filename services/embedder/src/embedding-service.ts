// gRPC handlers of llm.v1.EmbeddingService over the embedding library: a span per call with GenAI attributes,
// request counts by status, and the caller's cancellation or deadline passed down to the batcher. Cluster mode's
// queue worker runs the same `embedRequest`.
import type { Embedder, EmbeddingInput } from "@llm/embedder";
import { LlmError } from "@llm/errors";
import type {
  EmbeddingService,
  EmbedInput,
  EmbedRequest,
  EmbedResponseSchema,
  InfoResponseSchema,
  MessageInitShape,
} from "@llm/proto";
import type { ServiceImpl } from "@llm/rpc";
import { counter, GEN_AI, LLM_ATTR, METRICS, markFailed, SPANS, tracer } from "@llm/telemetry";

export type EmbedOne = (request: EmbedRequest, signal: AbortSignal) => Promise<EmbedResponseInit>;
type EmbedResponseInit = MessageInitShape<typeof EmbedResponseSchema>;

export function embeddingService(
  embedder: Embedder,
  embed: EmbedOne = embedRequests(embedder),
): ServiceImpl<typeof EmbeddingService> {
  return {
    embed: (request, ctx) => embed(request, ctx.signal),
    info: async (request) => {
      checkModel(embedder, request.model);
      return describeEmbedder(embedder);
    },
  };
}

/** Embeds one request (inputs checked, its model checked against the served one), with its span and counts. */
export function embedRequests(embedder: Embedder): EmbedOne {
  const requests = counter(METRICS.embeddingRequests);
  const tokens = counter(METRICS.embeddingTokens);
  const { info } = embedder;
  return (request, signal) =>
    tracer().startActiveSpan(SPANS.embedderEmbed, async (span) => {
      span.setAttributes({
        [GEN_AI.operationName]: "embeddings",
        [GEN_AI.requestModel]: request.model || info.id,
        [LLM_ATTR.embeddingInputs]: request.inputs.length,
      });
      try {
        checkModel(embedder, request.model);
        const result = await embedder.embed(request.inputs.map(inputOf), {
          dimensions: request.dimensions,
          refuseTruncation: request.refuseTruncation,
          signal,
        });
        span.setAttribute(GEN_AI.usageInputTokens, result.promptTokens);
        tokens.add(result.promptTokens);
        requests.add(1, { status: "ok" });
        return {
          model: info.id,
          embeddings: result.embeddings.map((values) => ({ values: Array.from(values) })),
          promptTokens: result.promptTokens,
        };
      } catch (error) {
        markFailed(span, error);
        requests.add(1, { status: error instanceof LlmError ? error.code : "internal" });
        throw error;
      } finally {
        span.end();
      }
    });
}

export function describeEmbedder(embedder: Embedder): MessageInitShape<typeof InfoResponseSchema> {
  const { info } = embedder;
  return {
    model: info.id,
    dimensions: info.dimensions,
    maxInputTokens: info.maxInputTokens,
    pooling: info.pooling,
    normalized: info.normalize,
    maxInputs: embedder.limits.maxInputs,
    vocabSize: info.vocabSize,
    matryoshka: info.matryoshka,
  };
}

/** A request naming a model ("" = any) must name this embedder's. */
function checkModel(embedder: Embedder, model: string): void {
  const { id } = embedder.info;
  if (model !== "" && model !== id) {
    throw new LlmError("not_found", `unknown model "${model}": this embedder serves "${id}"`, {
      details: { field: "model" },
    });
  }
}

function inputOf({ input }: EmbedInput, index: number): EmbeddingInput {
  switch (input.case) {
    case "text":
      return input.value;
    case "tokenIds":
      return input.value.ids;
    default:
      throw new LlmError("invalid_argument", `inputs[${index}] has neither text nor token_ids`, {
        details: { field: `inputs[${index}]` },
      });
  }
}
