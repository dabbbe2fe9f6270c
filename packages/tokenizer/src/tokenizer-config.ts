// Reads the parts of a Hugging Face `tokenizer_config.json` that encoding and chat formatting need.
import { LlmError } from "@llm/errors";

export interface TokenizerConfig {
  bosToken?: string;
  eosToken?: string;
  unkToken?: string;
  padToken?: string;
  /** transformers' `clean_up_tokenization_spaces` on decode (default false, as current transformers). */
  cleanUpTokenizationSpaces?: boolean;
  /** The model's Jinja chat template, if it ships one. */
  chatTemplate?: string;
}

type Json = Record<string, unknown>;

export function parseTokenizerConfig(json: unknown): TokenizerConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new LlmError("failed_precondition", "tokenizer_config.json is not a JSON object");
  }
  const config = json as Json;
  return {
    bosToken: tokenContent(config.bos_token),
    eosToken: tokenContent(config.eos_token),
    unkToken: tokenContent(config.unk_token),
    padToken: tokenContent(config.pad_token),
    cleanUpTokenizationSpaces: config.clean_up_tokenization_spaces === true,
    chatTemplate: chatTemplateOf(config.chat_template),
  };
}

/** Special tokens are written either as a string or as an AddedToken object `{ content: ... }`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as Json).content === "string") {
    return (value as Json).content as string;
  }
  return undefined;
}

/** `chat_template` is a string, or a list of named templates of which "default" is the chat one. */
function chatTemplateOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) return undefined;
  const named = value.filter(
    (entry): entry is { name: string; template: string } =>
      typeof entry?.name === "string" && typeof entry?.template === "string",
  );
  return (named.find((entry) => entry.name === "default") ?? named[0])?.template;
}
