// gRPC handlers of llm.v1.GenerationService, the public API: generation streamed or whole, cancel, models.
import { LlmError } from "@llm/errors";
import type { GenerateUnaryResponse, GenerationService } from "@llm/proto";
import type { ServiceImpl } from "@llm/rpc";
import { type GenerationDeps, generate } from "./generation.js";

type UnaryResponse = Omit<GenerateUnaryResponse, "$typeName" | "$unknown">;

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
      const whole: Partial<UnaryResponse> & Pick<UnaryResponse, "text" | "tokenIds" | "logprobs"> = {
        text: "",
        tokenIds: [],
        logprobs: [],
      };
      for await (const { event } of generate(request, ctx, deps)) {
        if (event?.case === "delta") {
          whole.text += event.value.text ?? "";
          whole.tokenIds.push(...(event.value.tokenIds ?? []));
          whole.logprobs.push(...((event.value.logprobs ?? []) as UnaryResponse["logprobs"]));
        } else if (event?.case === "final") {
          Object.assign(whole, event.value);
        }
      }
      return whole;
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
