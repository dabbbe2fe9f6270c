// gRPC handlers of llm.v1.GenerationService, the public API: generation streamed or whole, cancel, models.
import { LlmError } from "@llm/errors";
import type { GenerationService } from "@llm/proto";
import type { ServiceImpl } from "@llm/rpc";
import { type GenerationDelta, type GenerationDeps, type GenerationFinal, generate } from "./generation.js";

export function generationService(deps: GenerationDeps): ServiceImpl<typeof GenerationService> {
  return {
    generate: (request, ctx) => generate(request, ctx, deps),

    async generateUnary({ request }, ctx) {
      if (request === undefined) {
        throw new LlmError(
          "invalid_argument",
          "request is missing: GenerateUnary wraps a GenerateRequest in `request`",
          {
            details: { field: "request" },
          },
        );
      }
      // The same stream as Generate, collected: both answer alike by construction.
      const whole: GenerationDelta = { text: "", tokenIds: [], logprobs: [] };
      let final: GenerationFinal | undefined;
      for await (const { event } of generate(request, ctx, deps)) {
        if (event.case === "final") {
          final = event.value;
        } else {
          whole.text += event.value.text;
          whole.tokenIds.push(...event.value.tokenIds);
          whole.logprobs.push(...event.value.logprobs);
        }
      }
      return { ...whole, ...final };
    },

    async cancel({ requestId }) {
      if (requestId === "") {
        throw new LlmError(
          "invalid_argument",
          "request_id is empty: give the request_id the generation was started with",
          {
            details: { field: "request_id" },
          },
        );
      }
      return { found: deps.inflight.cancel(requestId) };
    },

    async listModels() {
      const models = await deps.models.list();
      return { models: models.map(({ id, contextLength }) => ({ id, contextLength })) };
    },
  };
}
