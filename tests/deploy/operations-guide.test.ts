// docs/OPERATIONS.md's sizing table says what the engine computes: KV bytes per token of each bundled model.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { kvBytesPerToken } from "@llm/engine";
import { generateBertWeights, headDim, kvHeads, PRESETS } from "@llm/model-pack";
import { expect, test } from "vitest";
import { REPO_ROOT } from "./service-config.js";

const GUIDE = readFileSync(join(REPO_ROOT, "docs/OPERATIONS.md"), "utf8");
const DEFAULT_KV_BYTES = 268_435_456;
const GPU_KV_BYTES = 8_589_934_592;

const decoders = Object.values(PRESETS).filter((preset) => !preset.encoder);
// BERT encoders; a decoder embedding model (encoder settings on a Llama preset) holds no KV either, and is not sized here.
const encoders = Object.values(PRESETS).filter((preset) => preset.encoder && !preset.llama);

const rowOf = (name: string) =>
  GUIDE.split("\n")
    .find((line) => line.startsWith(`| \`${name}\``))
    ?.split("|")
    .map((cell) => cell.trim().replaceAll(",", "")) ?? [];

test.each(encoders)("embedder sizing row of $name: its weights' bytes and feed-forward bytes per token", (preset) => {
  const weights = generateBertWeights(preset.shape, preset.seed);
  const tensors = [
    weights.wordEmbeddings,
    weights.positionEmbeddings,
    weights.tokenTypeEmbeddings,
    weights.embeddingNorm.gamma,
    weights.embeddingNorm.beta,
    ...weights.layers.flatMap((layer) => [
      ...[layer.query, layer.key, layer.value, layer.attentionOut, layer.intermediate, layer.output].flatMap((l) => [
        l.weight,
        l.bias,
      ]),
      layer.attentionNorm.gamma,
      layer.attentionNorm.beta,
      layer.outputNorm.gamma,
      layer.outputNorm.beta,
    ]),
  ];
  const cells = rowOf(preset.name);
  expect(cells[4]).toMatch(new RegExp(`^${tensors.reduce((sum, t) => sum + t.data.byteLength, 0)} `));
  expect(cells[5]).toBe(String(4 * preset.shape.nEmbd * 4));
});

test.each(decoders)("sizing row of $name matches kvBytesPerToken", (preset) => {
  const { name, shape, llama } = preset;
  const perToken = kvBytesPerToken({
    modelId: name,
    numLayers: shape.nLayer,
    numHeads: shape.nHead,
    numKvHeads: kvHeads(preset),
    headDim: headDim(shape, llama),
    vocabSize: shape.vocabSize,
    tokenizerVocabSize: shape.vocabSize,
    contextLength: shape.nPositions,
    eosTokenIds: [],
  });
  const cells = rowOf(name);
  expect(cells[4]).toMatch(new RegExp(`^${perToken} `));
  expect(cells[5]).toBe(String(Math.floor(DEFAULT_KV_BYTES / perToken)));
  expect(cells[6]).toBe(String(Math.floor(GPU_KV_BYTES / perToken)));
});
