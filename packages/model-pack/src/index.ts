export {
  MASKED_SCORE,
  newKeyName,
  newValueName,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
} from "./gpt2-graph.js";
export {
  GENAI_CONFIG_PATH,
  type ModelFiles,
  modelFiles,
  ONNX_MODEL_PATH,
  trainedFiles,
  WEIGHTS_DIR,
  weightsOf,
} from "./model-files.js";
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
  type TrainedFiles,
} from "./presets.js";
export { generatorRecipe, presetRecipe } from "./recipe.js";
export {
  type ReferenceCache,
  type ReferenceInput,
  type ReferenceLayerCache,
  type ReferenceOutput,
  referenceForward,
} from "./reference.js";
export { halfToFloat, readSafetensors, type StoredTensor } from "./safetensors.js";
export {
  configuredModel,
  type ModelSettings,
  type ServedModel,
  type ServedModelOptions,
  servedModel,
} from "./served-model.js";
export {
  byteLevelBpeTokenizerJson,
  END_OF_TEXT,
  END_OF_TEXT_ID,
  gpt2TokenizerConfig,
  gpt2TokenizerJson,
  gpt2VocabularyData,
  readVocabularyData,
  type VocabularyData,
} from "./tokenizer-files.js";
export {
  type BlockWeights,
  type Gpt2Weights,
  generateWeights,
  trainedWeights,
  type WeightTensor,
} from "./weights.js";
