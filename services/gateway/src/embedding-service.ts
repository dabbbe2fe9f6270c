// The gateway's gRPC llm.v1.EmbeddingService: the same contract as the embedder's, behind the gateway's API keys,
// per-key concurrency and model checks, forwarded to the embedder.
import type { EmbeddingService } from "@llm/proto";
import type { CallContext, ServiceImpl } from "@llm/rpc";
import type { ApiKeys } from "./api-keys.js";
import type { EmbeddingModels } from "./embeddings.js";

export function gatewayEmbeddingService(
  embeddings: EmbeddingModels,
  keys: ApiKeys,
): ServiceImpl<typeof EmbeddingService> {
  const authenticate = (ctx: CallContext) => keys.authenticate(ctx.metadata.get("authorization")[0]?.toString());
  return {
    async embed(request, ctx) {
      const release = authenticate(ctx).acquire();
      try {
        return await embeddings.embed(request, { signal: ctx.signal, deadline: ctx.deadline });
      } finally {
        release();
      }
    },

    async info(request, ctx) {
      authenticate(ctx);
      return embeddings.describe(request.model);
    },
  };
}
