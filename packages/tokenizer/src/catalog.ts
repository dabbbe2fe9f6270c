// Tokenizers by model id: the served model, plus any other model folder under the models directory,
// loaded on first use. Shared by the tokenizer and detokenizer services.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { LlmError } from "@llm/errors";
import { Tokenizer, type TokenizerOptions } from "./tokenizer.js";

export interface TokenizerCatalogOptions {
  /** The model an empty `model` field means. */
  defaultModel: { id: string; dir: string };
  /** Folder of other model folders that may be asked for by name; unset: only the default model. */
  modelsDir?: string;
  tokenizer?: TokenizerOptions;
}

// A model id is one path segment: nothing that could climb out of the models directory.
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class TokenizerCatalog {
  private readonly loaded = new Map<string, Promise<Tokenizer>>();

  constructor(private readonly options: TokenizerCatalogOptions) {}

  get defaultModelId(): string {
    return this.options.defaultModel.id;
  }

  /** Loads the default model now, so a broken tokenizer fails the service at start, not at the first request. */
  async preload(): Promise<Tokenizer> {
    return this.get("");
  }

  /** The tokenizer of `model` ("" = the default); NOT_FOUND names the models that exist. */
  async get(model: string): Promise<Tokenizer> {
    const id = model === "" ? this.options.defaultModel.id : model;
    let tokenizer = this.loaded.get(id);
    if (!tokenizer) {
      tokenizer = Tokenizer.fromFile(this.folderOf(id), this.options.tokenizer);
      // A failed load is not remembered: the folder may be fixed without a restart.
      tokenizer.catch(() => this.loaded.delete(id));
      this.loaded.set(id, tokenizer);
    }
    return tokenizer;
  }

  private folderOf(id: string): string {
    const { defaultModel, modelsDir } = this.options;
    if (id === defaultModel.id) return defaultModel.dir;
    const dir = modelsDir && MODEL_ID.test(id) ? join(modelsDir, id) : undefined;
    if (dir && existsSync(join(dir, "tokenizer.json"))) return dir;
    throw new LlmError(
      "not_found",
      `unknown model "${id}": this service serves "${defaultModel.id}"` +
        (modelsDir ? ` and the model folders with a tokenizer.json under ${modelsDir}` : ""),
    );
  }
}
