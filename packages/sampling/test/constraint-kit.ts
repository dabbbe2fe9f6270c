// A real vocabulary for constraint tests: the bundled tiny model's GPT-2 tokenizer.
import { ensureModel } from "@llm/model-pack";
import type { GrammarVocabulary } from "@llm/sampling";
import { Tokenizer } from "@llm/tokenizer";

export async function tinyVocabulary(): Promise<{ tokenizer: Tokenizer; vocabulary: GrammarVocabulary }> {
  const model = await ensureModel("tiny");
  const tokenizer = await Tokenizer.fromFile(`${model.dir}/tokenizer.json`);
  const vocabulary: GrammarVocabulary = {
    id: "tiny",
    tokens: tokenizer.grammarTokens(),
    stopTokenIds: [tokenizer.eosTokenId as number],
    vocabSize: tokenizer.vocabSize,
  };
  return { tokenizer, vocabulary };
}
