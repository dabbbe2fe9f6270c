// What a decoder graph declares (input and output names, dtypes, fixed dimensions), checked against its
// config.json at load: a graph that disagrees is refused with the mismatch named, instead of loading and then
// failing every request inside ONNX Runtime. The result says which optional inputs to feed and the cache's dtype.
import type * as ort from "onnxruntime-node";
import type { KvDtype, ModelConfig } from "./model-config.js";

export interface GraphContract {
  kvDtype: KvDtype;
  logitsDtype: KvDtype;
  /** Optional inputs the graph declares, fed only then. */
  hasPositionIds: boolean;
  /** `num_logits_to_keep` (Optimum, transformers < 4.45) or `logits_to_keep` (newer); absent: every position. */
  logitsToKeepInput: string | undefined;
  /** Cache outputs: `present.*` (whole cache) or `new_key_values.*` (the new positions only; the append layout). */
  cacheOutputPrefix: "present" | "new_key_values";
}

const REQUIRED_INPUTS = ["input_ids", "attention_mask"];
const OPTIONAL_INPUTS = ["position_ids", "num_logits_to_keep", "logits_to_keep"];
const FLOAT_TYPES: Record<string, KvDtype> = { float32: "float32", float16: "float16" };
const CACHE_INPUT = /^past_key_values\.(\d+)\.(key|value)$/;

type Metadata = ort.InferenceSession.ValueMetadata;

/** Checks `session`'s graph against `config`; throws an Error naming every mismatch (`what` = the file, for the message). */
export function checkGraph(session: ort.InferenceSession, config: ModelConfig, what: string): GraphContract {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  const problems: string[] = [];
  for (const name of REQUIRED_INPUTS) if (!inputs.has(name)) problems.push(`it has no input ${name}`);
  const unknown = [...inputs.keys()].filter(
    (name) => !REQUIRED_INPUTS.includes(name) && !OPTIONAL_INPUTS.includes(name),
  );
  const cacheInputs = unknown.filter((name) => CACHE_INPUT.test(name));
  for (const name of unknown) {
    if (!CACHE_INPUT.test(name)) problems.push(`input ${name} is not one the engine can feed`);
  }
  if (cacheInputs.length !== 2 * config.numLayers) {
    problems.push(
      `it has ${cacheInputs.length} past_key_values inputs, config.json's ${config.numLayers} layers need ${2 * config.numLayers}`,
    );
  }
  const cacheOutputPrefix = outputs.has("new_key_values.0.key") ? "new_key_values" : "present";
  if (!outputs.has("logits")) problems.push("it has no output logits");
  const kvTypes = new Set<string>();
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const part of ["key", "value"]) {
      const past = inputs.get(`past_key_values.${layer}.${part}`);
      const present = outputs.get(`${cacheOutputPrefix}.${layer}.${part}`);
      if (!past) problems.push(`it has no input past_key_values.${layer}.${part}`);
      if (!present) problems.push(`it has no output ${cacheOutputPrefix}.${layer}.${part}`);
      for (const value of [past, present]) {
        if (!value) continue;
        if (value.isTensor) kvTypes.add(value.type);
        checkCacheDims(value, config, problems);
      }
    }
  }
  const logits = outputs.get("logits");
  if (logits?.isTensor) {
    const vocab = logits.shape.at(-1);
    if (typeof vocab === "number" && vocab !== config.vocabSize) {
      problems.push(`output logits has ${vocab} columns, config.json says vocab_size = ${config.vocabSize}`);
    }
  }
  const kvDtype = [...kvTypes].length === 1 ? FLOAT_TYPES[[...kvTypes][0]] : undefined;
  if (!kvDtype && kvTypes.size > 0) {
    problems.push(
      `its KV cache tensors are ${[...kvTypes].join(" and ")}; the engine serves float32 or float16 caches`,
    );
  }
  const logitsDtype = logits?.isTensor ? FLOAT_TYPES[logits.type] : undefined;
  if (logits?.isTensor && !logitsDtype) problems.push(`output logits is ${logits.type}, not float32 or float16`);
  if (problems.length > 0) throw new Error(`${what} does not match config.json: ${problems.join("; ")}`);
  return {
    kvDtype: kvDtype ?? "float32",
    logitsDtype: logitsDtype ?? "float32",
    hasPositionIds: inputs.has("position_ids"),
    logitsToKeepInput: ["num_logits_to_keep", "logits_to_keep"].find((name) => inputs.has(name)),
    cacheOutputPrefix,
  };
}

/** A cache tensor is [batch, kv heads, positions, head_dim]: its fixed dimensions must be the config's. */
function checkCacheDims(value: Metadata, config: ModelConfig, problems: string[]): void {
  if (!value.isTensor || value.shape.length === 0) return;
  if (value.shape.length !== 4) {
    problems.push(`${value.name} has ${value.shape.length} dimensions, a KV cache tensor has 4`);
    return;
  }
  const [, heads, , headDim] = value.shape;
  if (typeof heads === "number" && heads !== config.numKvHeads) {
    problems.push(
      `${value.name} has ${heads} heads, config.json says num_key_value_heads = ${config.numKvHeads}` +
        (config.numKvHeads === config.numHeads ? " (num_key_value_heads unset: num_attention_heads)" : ""),
    );
  }
  if (typeof headDim === "number" && headDim !== config.headDim) {
    problems.push(`${value.name} has head size ${headDim}, config.json gives head_dim = ${config.headDim}`);
  }
}
