// The vocabulary a grammar constraint masks over, read from the model's own tokenizer.json: each token id's
// bytes, and the ids that end a sequence (the engine's EOS ids, so a grammar ends exactly where the engine stops).
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { GrammarVocabulary } from "@llm/sampling";
import { Tokenizer } from "@llm/tokenizer";

export async function constraintVocabulary(
  modelDir: string,
  vocabSize: number,
  eosTokenIds: readonly number[],
): Promise<GrammarVocabulary> {
  const path = join(modelDir, "tokenizer.json");
  const json = await readFile(path, "utf8");
  const tokenizer = Tokenizer.fromJson(JSON.parse(json));
  return {
    id: createHash("sha256").update(json).digest("hex").slice(0, 16),
    tokens: tokenizer.grammarTokens(),
    stopTokenIds: [...eosTokenIds],
    vocabSize,
  };
}
