// Shared test fixtures: the real GPT-2 tokenizer files (built by model-pack) and peers to compare with.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { gpt2TokenizerConfig, gpt2TokenizerJson } from "@llm/model-pack";
import { Tokenizer, type TokenizerOptions } from "../src/index.js";

export const CONTEXT_LENGTH = 1024;

let cachedJson: Record<string, unknown> | undefined;

/** A fresh deep copy of GPT-2's tokenizer.json object (tests may edit it). */
export function gpt2Json(): Record<string, unknown> {
  cachedJson ??= gpt2TokenizerJson() as Record<string, unknown>;
  return structuredClone(cachedJson);
}

export function gpt2Config(): Record<string, unknown> {
  return gpt2TokenizerConfig(CONTEXT_LENGTH) as Record<string, unknown>;
}

export function gpt2Tokenizer(options?: TokenizerOptions): Tokenizer {
  return Tokenizer.fromJson(gpt2Json(), gpt2Config(), options);
}

/** Writes a model folder `<root>/<name>/` with the two tokenizer files; returns the folder. */
export async function writeTokenizerFolder(
  tokenizerJson: object,
  tokenizerConfig: object,
  name = "tok",
): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "llm-tokenizer-"));
  const folder = join(root, name);
  await mkdir(folder);
  await writeFile(join(folder, "tokenizer.json"), JSON.stringify(tokenizerJson));
  await writeFile(join(folder, "tokenizer_config.json"), JSON.stringify(tokenizerConfig));
  return folder;
}

export interface PeerTokenizer {
  encode(text: string): number[];
}

/** transformers.js's tokenizer loaded offline from a folder written by writeTokenizerFolder. */
export async function transformersTokenizer(folder: string): Promise<PeerTokenizer> {
  const root = join(folder, "..");
  env.allowRemoteModels = false;
  env.localModelPath = root;
  const tokenizer = await AutoTokenizer.from_pretrained(folder.slice(root.length + 1));
  return { encode: (text) => tokenizer.encode(text, { add_special_tokens: false }) };
}
