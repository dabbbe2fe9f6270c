// docs/OPERATIONS.md's sizing table says what the engine computes: KV bytes per token of each bundled model.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { kvBytesPerToken } from "@llm/engine";
import { headDim, kvHeads, PRESETS } from "@llm/model-pack";
import { expect, test } from "vitest";
import { REPO_ROOT } from "./service-config.js";

const GUIDE = readFileSync(join(REPO_ROOT, "docs/OPERATIONS.md"), "utf8");
const DEFAULT_KV_BYTES = 268_435_456;
const GPU_KV_BYTES = 8_589_934_592;

test.each(Object.values(PRESETS))("sizing row of $name matches kvBytesPerToken", (preset) => {
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
  const row = GUIDE.split("\n").find((line) => line.startsWith(`| \`${name}\``));
  const cells = row?.split("|").map((cell) => cell.trim().replaceAll(",", "")) ?? [];
  expect(cells[4]).toMatch(new RegExp(`^${perToken} `));
  expect(cells[5]).toBe(String(Math.floor(DEFAULT_KV_BYTES / perToken)));
  expect(cells[6]).toBe(String(Math.floor(GPU_KV_BYTES / perToken)));
});
