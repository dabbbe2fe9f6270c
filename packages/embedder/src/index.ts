export { Embedder, type EmbedderLimits, type EmbeddingInput, type EmbedOptions, type EmbedResult } from "./embedder.js";
export { type EncoderInfo, EncoderModel, type EncoderModelOptions } from "./encoder-model.js";
export type { BatchLimits, BatchReport } from "./length-batcher.js";
export { POOLING_MODES, type PoolingMode } from "./pooling.js";
