// Loading a decoder model folder: config, ONNX file, session on the first provider that starts, the graph checked
// against the config (fail fast, naming the mismatch), and the KV path the graph needs. The engine's target model
// and a speculative draft model load the same way.
import type { Log } from "@llm/log";
import type { Decoder } from "./decoder.js";
import { checkGraph } from "./graph-contract.js";
import { createDecoder, type KvLayout } from "./kv-layout.js";
import type { KvShape } from "./kv-state.js";
import { type ModelConfig, readModelConfig } from "./model-config.js";
import { resolveModelFile } from "./model-file.js";
import { createSession, type ExecutionProvider, type ProviderAttempt } from "./session.js";

export interface ModelLocation {
  /** A Hugging Face ONNX export folder (design §4). */
  modelDir: string;
  /** Which ONNX file of the folder: see resolveModelFile (default onnx/model.onnx). */
  modelFile?: string;
}

export interface LoadModelOptions extends ModelLocation {
  providers: readonly ExecutionProvider[];
  intraOpThreads?: number;
  /** See SessionOptions.cpuMemArena. */
  cpuMemArena?: boolean;
  log: Log;
  /** Probe the padding period that keeps batched rows bitwise equal to rows alone (Decoder.paddingPeriod). */
  probePadding: boolean;
}

export interface LoadedModel {
  config: ModelConfig;
  shape: KvShape;
  decoder: Decoder;
  layout: KvLayout;
  /** Probed, or 1 without probePadding. */
  paddingPeriod: number;
  provider: ExecutionProvider;
  attempts: ProviderAttempt[];
}

export async function loadModel(options: LoadModelOptions): Promise<LoadedModel> {
  const config = await readModelConfig(options.modelDir);
  const modelPath = resolveModelFile(options.modelDir, options.modelFile);
  const { session, provider, attempts } = await createSession(modelPath, options);
  let contract: ReturnType<typeof checkGraph>;
  try {
    contract = checkGraph(session, config, modelPath);
  } catch (error) {
    await session.release();
    throw error;
  }
  const shape = {
    numLayers: config.numLayers,
    numHeads: config.numKvHeads,
    headDim: config.headDim,
    dtype: contract.kvDtype,
  };
  // The graph says which KV path it needs: standard (any export) or the append layout's fixed-capacity cache.
  const model = { shape, vocabSize: config.vocabSize, tokenizerVocabSize: config.tokenizerVocabSize, contract };
  const { decoder, layout, paddingPeriod } = await createDecoder(session, model, { probe: options.probePadding });
  const cache = `${shape.dtype} cache of ${shape.numHeads} KV heads x ${shape.headDim}`;
  options.log({ level: "info", msg: `model ${config.modelId}: ${layout} KV cache layout, ${cache}` });
  return { config, shape, decoder, layout, paddingPeriod, provider, attempts };
}
