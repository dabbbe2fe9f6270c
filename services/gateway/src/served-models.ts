// The models requests may name: what the model runner has loaded, asked once and remembered.
import { LlmError } from "@llm/errors";
import type { ModelRunnerService, ModelRunnerServiceInfoResponse } from "@llm/proto";
import type { ServiceClient } from "@llm/rpc";

export interface ServedModel {
  id: string;
  /** Most tokens, prompt plus output, one request may hold. */
  contextLength: number;
  vocabSize: number;
}

export class ServedModels {
  private info: Promise<ModelRunnerServiceInfoResponse> | undefined;

  constructor(private readonly runner: ServiceClient<typeof ModelRunnerService>) {}

  async list(): Promise<ServedModel[]> {
    const { model, contextLength, vocabSize } = await this.runnerInfo();
    return [{ id: model, contextLength, vocabSize }];
  }

  /** The model `id` names ("" = the default); NOT_FOUND lists the ones that exist. */
  async resolve(id: string): Promise<ServedModel> {
    const models = await this.list();
    const found = id === "" ? models[0] : models.find((model) => model.id === id);
    if (found) return found;
    throw new LlmError(
      "not_found",
      `unknown model "${id}": served models are ${models.map((m) => `"${m.id}"`).join(", ")} (see ListModels)`,
      { details: { field: "model" } },
    );
  }

  // A runner's model does not change while it runs; a failed ask is not remembered, so a runner that
  // starts late is picked up by the next request.
  private runnerInfo(): Promise<ModelRunnerServiceInfoResponse> {
    if (!this.info) {
      this.info = this.runner.info({});
      this.info.catch(() => {
        this.info = undefined;
      });
    }
    return this.info;
  }
}
