// gRPC handlers of llm.v1.GenerationService, the public API: generation streamed or whole, cancel, models.
import { LlmError } from "@llm/errors";
import type { GenerationService } from "@llm/proto";
import type { CallContext, ServiceImpl } from "@llm/rpc";
import type { ApiKeys } from "./api-keys.js";
import { type GenerationDeps, generate, generateWhole } from "./generation.js";

export function generationService(deps: GenerationDeps, keys: ApiKeys): ServiceImpl<typeof GenerationService> {
  const authenticate = (ctx: CallContext) => keys.authenticate(ctx.metadata.get("authorization")[0]?.toString());
  return {
    async *generate(request, ctx) {
      const caller = authenticate(ctx);
      const release = caller.acquire(request.requestId);
      try {
        yield* generate(request, { signal: ctx.signal, deadline: ctx.deadline, caller: caller.id }, deps);
      } finally {
        release();
      }
    },

    async generateUnary({ request }, ctx) {
      const caller = authenticate(ctx);
      const release = caller.acquire(request?.requestId);
      try {
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
        return await generateWhole(request, { signal: ctx.signal, deadline: ctx.deadline, caller: caller.id }, deps);
      } finally {
        release();
      }
    },

    async cancel({ requestId }, ctx) {
      const caller = authenticate(ctx);
      if (requestId === "") {
        throw new LlmError(
          "invalid_argument",
          "request_id is empty: give the request_id the generation was started with",
          {
            details: { field: "request_id" },
          },
        );
      }
      // Another key's request is answered as if absent: ids are not a way to probe or stop other tenants' work.
      return { found: caller.mayCancel(requestId) && deps.inflight.cancel(requestId) };
    },

    async listModels(_request, ctx) {
      authenticate(ctx);
      const models = await deps.models.list();
      return { models: models.map(({ id, contextLength }) => ({ id, contextLength })) };
    },
  };
}
