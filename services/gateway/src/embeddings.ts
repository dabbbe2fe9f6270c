// The gateway's embedding path, shared by the HTTP route and the gRPC EmbeddingService: which model a request
// names (an embedding model served, or a generation model named by mistake), the request-size limit checked before
// the inputs travel on, and the call with the caller's deadline and cancellation to where embeddings run: the one
// embedder at LLM_EMBEDDER_URL (local mode), or the model's queue in Redis (cluster mode; dispatch-mode.ts).
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

/** Where embedding requests run. */
export interface EmbeddingBackend {
  /** The embedding models served now (may be empty). */
  models(): Promise<InfoResponse[]>;
  /** Embeds `request`, whose model is `info`'s and whose input count is within its limit. */
  embed(request: EmbedRequestInit, info: InfoResponse, ctx: EmbedContext): Promise<EmbedResponse>;
}

/** Local mode: the one embedder service. */
export function embedderBackend(embedder: ServiceClient<typeof EmbeddingService>): EmbeddingBackend {
  return {
    models: async () => [await embedder.info({})],
    embed: (request, _info, ctx) => embedder.embed(request, { signal: ctx.signal, deadline: ctx.deadline }),
  };
}

/** Special tokens a tokenizer may add around one input ([CLS] … [SEP], BOS … EOS). */
const SPECIAL_TOKENS_SLACK = 2;

/**
 * An upper bound of the tokens `request` makes, without its tokenizer: a token covers at least one UTF-8 byte
 * (WordPiece and byte-level BPE alike), and no input is longer than the model's maximum (longer ones are truncated
 * or refused). Cluster mode reserves it in the queue's token bound.
 */
export function embedTokensBound(request: EmbedRequestInit, info: InfoResponse): number {
  let total = 0;
  for (const { input } of request.inputs ?? []) {
    const length =
      input?.case === "text"
        ? Buffer.byteLength(input.value)
        : input?.case === "tokenIds"
          ? (input.value.ids?.length ?? 0)
          : 0;
    total += Math.min(length + SPECIAL_TOKENS_SLACK, info.maxInputTokens);
  }
  return total;
}

export class EmbeddingModels {
  private served: Promise<InfoResponse[]> | undefined;

  /** `backend` undefined: this gateway serves no embedding model (local mode without LLM_EMBEDDER_URL). */
  constructor(
    private readonly backend: EmbeddingBackend | undefined,
    private readonly generationModels: ServedModels,
  ) {}

  /** The description of the embedding model `id` names ("" = the first served): the gateway's gRPC Info. */
  describe(id = ""): Promise<InfoResponse> {
    return this.resolve(id);
  }

  /** Ids of the embedding models served ([] when none, or they cannot be asked now). */
  async ids(): Promise<string[]> {
    return this.list().then(
      (models) => models.map(({ model }) => model),
      () => [],
    );
  }

  /** Validates `request` against the served model and sends it to be embedded. */
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
    const backend = this.backend as EmbeddingBackend; // resolve() found a model
    return backend.embed({ ...request, model: info.model }, info, ctx);
  }

  /** The models, asked once; a failed or empty answer is not remembered (an embedder may come up later). */
  private list(refresh = false): Promise<InfoResponse[]> {
    if (this.backend === undefined) return Promise.resolve([]);
    if (!this.served || refresh) {
      const asked = this.backend.models();
      this.served = asked;
      asked.then(
        (models) => {
          if (models.length === 0 && this.served === asked) this.served = undefined;
        },
        () => {
          if (this.served === asked) this.served = undefined;
        },
      );
    }
    return this.served;
  }

  /** The embedding model `id` names ("" = the first served); a generation model named here is INVALID_ARGUMENT. */
  private async resolve(id: string): Promise<InfoResponse> {
    const generation = await this.generationModels.list().catch(() => []);
    if (id !== "" && generation.some((model) => model.id === id)) {
      const ids = await this.ids();
      throw new LlmError(
        "invalid_argument",
        `model "${id}" is a generation model; embeddings need an embedding model` +
          `${ids.length > 0 ? ` (${ids.map((m) => `"${m}"`).join(", ")})` : ""}`,
        { details: { field: "model" } },
      );
    }
    let models = await this.list();
    if (id !== "" && !models.some(({ model }) => model === id)) models = await this.list(true); // announced since
    const found = id === "" ? models[0] : models.find(({ model }) => model === id);
    if (found) return found;
    if (models.length === 0) throw this.noneServed();
    throw new LlmError(
      "not_found",
      `unknown model "${id}": the embedding models served are ${models.map(({ model }) => `"${model}"`).join(", ")}`,
      { details: { field: "model" } },
    );
  }

  private noneServed(): LlmError {
    return new LlmError(
      "not_found",
      this.backend === undefined
        ? "this gateway serves no embedding model (LLM_EMBEDDER_URL is not set)"
        : "no embedding model is served now (no embedder has announced one)",
      { details: { field: "model" } },
    );
  }
}
