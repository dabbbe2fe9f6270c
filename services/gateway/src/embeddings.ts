// The gateway's embedding path, shared by the HTTP route and the gRPC EmbeddingService: which model a request
// names (the embedder's, or a generation model named by mistake), the request-size limit checked before the
// inputs travel on, and the call to the embedder with the caller's deadline and cancellation.
import { LlmError } from "@llm/errors";
import type { EmbeddingService, EmbedRequestSchema, EmbedResponse, InfoResponse, MessageInitShape } from "@llm/proto";
import type { ServiceClient } from "@llm/rpc";
import type { ServedModels } from "./served-models.js";

export type EmbedRequestInit = MessageInitShape<typeof EmbedRequestSchema>;

export interface EmbedContext {
  signal: AbortSignal;
  /** Epoch ms, or undefined for none. */
  deadline: number | undefined;
}

export class EmbeddingModels {
  private info: Promise<InfoResponse> | undefined;

  /** `embedder` undefined: this gateway serves no embedding model (LLM_EMBEDDER_URL unset). */
  constructor(
    private readonly embedder: ServiceClient<typeof EmbeddingService> | undefined,
    private readonly generationModels: ServedModels,
  ) {}

  /** The embedder's description, asked once (a failed ask is retried by the next request). */
  describe(): Promise<InfoResponse> {
    if (this.embedder === undefined) {
      return Promise.reject(
        new LlmError("not_found", "this gateway serves no embedding model (LLM_EMBEDDER_URL is not set)", {
          details: { field: "model" },
        }),
      );
    }
    if (!this.info) {
      this.info = this.embedder.info({});
      this.info.catch(() => {
        this.info = undefined;
      });
    }
    return this.info;
  }

  /** Ids of the embedding models served ([] when none or the embedder cannot be reached now). */
  async ids(): Promise<string[]> {
    if (this.embedder === undefined) return [];
    return this.describe().then(
      ({ model }) => [model],
      () => [],
    );
  }

  /** Validates `request` against the served model and forwards it to the embedder. */
  async embed(request: EmbedRequestInit, ctx: EmbedContext): Promise<EmbedResponse> {
    const info = await this.resolve(request.model ?? "");
    const count = request.inputs?.length ?? 0;
    if (count > info.maxInputs) {
      throw new LlmError(
        "invalid_argument",
        `input has ${count} items; at most ${info.maxInputs} may be embedded in one request`,
        { details: { field: "input", limit: info.maxInputs } },
      );
    }
    const embedder = this.embedder as ServiceClient<typeof EmbeddingService>; // resolve() found it
    return embedder.embed({ ...request, model: info.model }, { signal: ctx.signal, deadline: ctx.deadline });
  }

  /** The embedding model `id` names ("" = the served one); a generation model named here is INVALID_ARGUMENT. */
  private async resolve(id: string): Promise<InfoResponse> {
    const generation = await this.generationModels.list().catch(() => []);
    if (id !== "" && generation.some((model) => model.id === id)) {
      throw new LlmError(
        "invalid_argument",
        `model "${id}" is a generation model; embeddings need an embedding model` +
          `${this.embedder ? ` (${(await this.ids()).map((m) => `"${m}"`).join(", ")})` : ""}`,
        { details: { field: "model" } },
      );
    }
    const info = await this.describe();
    if (id !== "" && id !== info.model) {
      throw new LlmError("not_found", `unknown model "${id}": the embedding model served is "${info.model}"`, {
        details: { field: "model" },
      });
    }
    return info;
  }
}
