export {
  MASKED_SCORE,
  newKeyName,
  newValueName,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
} from "./gpt2-graph.js";
export { GENAI_CONFIG_PATH, type ModelFiles, modelFiles, ONNX_MODEL_PATH } from "./model-files.js";
export { type BuiltModel, buildModel, ensureModel, modelDir, modelFingerprint, STAMP_FILE } from "./model-store.js";
export {
  DEFAULT_PRESET,
  GPT2_VOCAB_SIZE,
  headDim,
  type KvLayout,
  type ModelPreset,
  type ModelShape,
  PRESETS,
  type PresetName,
  presetByName,
} from "./presets.js";
export { generatorRecipe } from "./recipe.js";
export {
  type ReferenceCache,
  type ReferenceInput,
  type ReferenceLayerCache,
  type ReferenceOutput,
  referenceForward,
} from "./reference.js";
export { type ServedModel, type ServedModelOptions, servedModel } from "./served-model.js";
export {
  END_OF_TEXT,
  END_OF_TEXT_ID,
  gpt2TokenizerConfig,
  gpt2TokenizerJson,
  gpt2VocabularyData,
} from "./tokenizer-files.js";
export { type BlockWeights, type Gpt2Weights, generateWeights, type WeightTensor } from "./weights.js";
