// The models requests may name: what the model runner has loaded (local mode) or what the runners announced
// (cluster mode), asked once and remembered.
import { LlmError } from "@llm/errors";
import type { ModelRunnerService } from "@llm/proto";
import type { ServiceClient } from "@llm/rpc";

export interface ModelInfo {
  id: string;
  /** Most tokens, prompt plus output, one request may hold. */
  contextLength: number;
  vocabSize: number;
}

/** Asks for the models served now. */
export type ModelSource = () => Promise<ModelInfo[]>;

/** The one model a runner loaded. */
export function runnerModels(runner: ServiceClient<typeof ModelRunnerService>): ModelSource {
  return async () => {
    const { model, contextLength, vocabSize } = await runner.info({});
    return [{ id: model, contextLength, vocabSize }];
  };
}

export class ServedModels {
  private models: Promise<ModelInfo[]> | undefined;

  constructor(private readonly source: ModelSource) {}

  list(): Promise<ModelInfo[]> {
    if (!this.models) {
      this.models = this.ask();
      // A failed ask is not remembered, so a runner that starts late is picked up by the next request.
      this.models.catch(() => {
        this.models = undefined;
      });
    }
    return this.models;
  }

  /** The model `id` names ("" = the default); NOT_FOUND lists the ones that exist. */
  async resolve(id: string): Promise<ModelInfo> {
    let models = await this.list();
    if (id !== "" && !models.some((model) => model.id === id)) {
      this.models = undefined; // a model announced since the last ask
      models = await this.list();
    }
    const found = id === "" ? models[0] : models.find((model) => model.id === id);
    if (found) return found;
    throw new LlmError(
      "not_found",
      `unknown model "${id}": served models are ${models.map((m) => `"${m.id}"`).join(", ")} (see ListModels)`,
      { details: { field: "model" } },
    );
  }

  private async ask(): Promise<ModelInfo[]> {
    const models = await this.source();
    if (models.length === 0) {
      throw new LlmError("unavailable", "no model runner has announced a model yet; retry once one is up", {
        retryAfterMs: 1000,
      });
    }
    return models;
  }
}
