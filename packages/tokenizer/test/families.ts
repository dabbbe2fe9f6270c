// transformers.js loaded on the real tokenizer files of a model family (from @llm/testing's familyDir):
// the oracle of the parity tests and the tokenizer benchmark.
import { dirname } from "node:path";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { familyDir, type ModelFamily } from "@llm/testing";

export interface OracleTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  apply_chat_template(messages: unknown[], options: Record<string, unknown>): unknown;
}

/** transformers.js's tokenizer of a family, offline. */
export async function oracle(family: ModelFamily): Promise<OracleTokenizer> {
  const dir = familyDir(family);
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  return (await AutoTokenizer.from_pretrained("models")) as unknown as OracleTokenizer;
}
