// The model shapes this package can build. Every preset uses GPT-2's real tokenizer, so the vocabulary is fixed.
export const GPT2_VOCAB_SIZE = 50257;

export interface ModelShape {
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads per block; `nEmbd` must divide evenly by it. */
  nHead: number;
  /** Width of the residual stream. */
  nEmbd: number;
  /** Longest sequence (prompt + generated) the position table covers. */
  nPositions: number;
  vocabSize: number;
}

export interface ModelPreset {
  name: PresetName;
  shape: ModelShape;
  /** Seed of the weight generator: a preset's weights (and file bytes) depend on nothing else. */
  seed: number;
}

export type PresetName = "tiny" | "gpt2-small";

export const PRESETS: Record<PresetName, ModelPreset> = {
  // Small enough that tests build and run it in well under a second.
  tiny: { name: "tiny", seed: 20_240_601, shape: shape(2, 4, 64) },
  // GPT-2 small's shape (124M parameters, ~500 MB of fp32): for benchmarks, built on demand.
  "gpt2-small": { name: "gpt2-small", seed: 20_240_602, shape: shape(12, 12, 768) },
};

export const DEFAULT_PRESET: PresetName = "tiny";

function shape(nLayer: number, nHead: number, nEmbd: number): ModelShape {
  return { nLayer, nHead, nEmbd, nPositions: 1024, vocabSize: GPT2_VOCAB_SIZE };
}

export function headDim(shape: ModelShape): number {
  return shape.nEmbd / shape.nHead;
}

export function presetByName(name: string): ModelPreset {
  if (!Object.hasOwn(PRESETS, name)) {
    throw new Error(`Unknown model preset "${name}": expected one of ${Object.keys(PRESETS).join(", ")}`);
  }
  return PRESETS[name as PresetName];
}
