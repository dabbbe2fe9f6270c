// Which model folder a service serves, from its configuration: one rule for every service.
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { ONNX_MODEL_PATH } from "./model-files.js";
import { DEFAULT_PRESET } from "./presets.js";

export interface ServedModel {
  /** The name clients use in requests' `model` field. */
  id: string;
  /** Absolute path of the model folder (Hugging Face ONNX layout). */
  dir: string;
}

export interface ServedModelOptions {
  /** Folder holding one sub-folder per model. */
  modelsDir: string;
  /** Defaults to `modelDir`'s folder name, else the bundled default preset. */
  modelId?: string;
  /** Overrides `modelsDir/modelId`. */
  modelDir?: string;
  /** Files the caller needs in the folder; by default the config, tokenizer and ONNX graph. */
  requiredFiles?: readonly string[];
}

/** Resolves the served model's id and folder, failing with a message that says how to fix a missing folder. */
export function servedModel(options: ServedModelOptions): ServedModel {
  const dir = resolve(options.modelDir ?? join(options.modelsDir, options.modelId ?? DEFAULT_PRESET));
  const id = options.modelId ?? basename(dir);
  for (const file of options.requiredFiles ?? ["config.json", "tokenizer.json", ONNX_MODEL_PATH]) {
    if (!existsSync(join(dir, file))) {
      throw new Error(
        `model "${id}": ${join(dir, file)} is missing. Build the bundled model with \`npm run build:model\`, ` +
          "or point LLM_MODEL_DIR at a folder in the Hugging Face ONNX export layout.",
      );
    }
  }
  return { id, dir };
}

/** The LLM_* settings that name the served model (packages/config's registry documents them). */
export interface ModelSettings {
  LLM_MODELS_DIR: string;
  LLM_MODEL_ID: string | undefined;
  LLM_MODEL_DIR: string | undefined;
}

/** servedModel() from a service's settings. */
export function configuredModel(settings: ModelSettings, requiredFiles?: readonly string[]): ServedModel {
  return servedModel({
    modelsDir: settings.LLM_MODELS_DIR,
    modelId: settings.LLM_MODEL_ID,
    modelDir: settings.LLM_MODEL_DIR,
    requiredFiles,
  });
}
