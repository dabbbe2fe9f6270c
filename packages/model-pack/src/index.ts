export { LAST_HIDDEN_STATE } from "./bert-graph.js";
export { bertReferenceForward, type EncoderReferenceInput } from "./bert-reference.js";
export {
  BERT_MAX_LENGTH,
  BERT_SPECIAL_TOKENS,
  BERT_VOCAB_SIZE,
  bertTokenizerConfig,
  bertTokenizerJson,
  bertVocabulary,
} from "./bert-tokenizer-files.js";
export { BERT_LAYER_NORM_EPSILON, type BertWeights, generateBertWeights, TYPE_VOCAB_SIZE } from "./bert-weights.js";
export { MODULES_PATH, POOLING_CONFIG_PATH } from "./encoder-files.js";
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
  familyTokenizer,
  familyTokenizerDir,
  llamaModelFiles,
  llamaWeightsOf,
  ONNX_FP16_MODEL_PATH,
} from "./llama-files.js";
export { encodeLlamaModel, type LlamaDtype } from "./llama-graph.js";
export { type LlamaReferenceOutput, llamaReferenceForward } from "./llama-reference.js";
export {
  generateLlamaWeights,
  type LlamaLayerWeights,
  type LlamaWeights,
  RMS_NORM_EPSILON,
  ropeInverseFrequencies,
} from "./llama-weights.js";
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
  DEFAULT_EMBEDDING_PRESET,
  DEFAULT_PRESET,
  DRAFT_PRESETS,
  type EncoderSpec,
  GPT2_VOCAB_SIZE,
  headDim,
  type KvLayout,
  kvHeads,
  type LlamaSettings,
  type ModelPreset,
  type ModelShape,
  type PoolingMode,
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
