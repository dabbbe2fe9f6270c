// The model families' tokenizers in the tokenizer benchmark: @llm/tokenizer vs transformers.js on the real
// tokenizer files of Llama 3.1 (byte-level, Split regex) and Gemma 3 (SentencePiece BPE, byte fallback), and
// vs tiktoken's o200k_base on o200k (gpt-4o) — same text, same process, ids checked equal first.

import { familyDir, type ModelFamily } from "@llm/testing";
import { Tokenizer } from "@llm/tokenizer";
import { get_encoding } from "tiktoken";
import { oracle } from "../packages/tokenizer/test/families.js";

export interface FamilyResult {
  loadSeconds: number;
  tokens: number;
  encodeTokensPerSecond: Record<string, number>;
  ratio: number;
}

type Timer = (run: () => unknown) => number;

const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

function result(tokens: number, loadSeconds: number, ours: number, peerName: string, peer: number): FamilyResult {
  const rate = (seconds: number) => Math.round(tokens / seconds);
  return {
    loadSeconds: round(loadSeconds),
    tokens,
    encodeTokensPerSecond: { ours: rate(ours), [peerName]: rate(peer) },
    ratio: round(peer / ours),
  };
}

async function load(family: ModelFamily): Promise<{ tokenizer: Tokenizer; seconds: number }> {
  const start = performance.now();
  const tokenizer = await Tokenizer.fromFile(familyDir(family));
  return { tokenizer, seconds: (performance.now() - start) / 1000 };
}

/** Ours vs transformers.js (add_special_tokens false on both). */
export async function versusTransformers(family: ModelFamily, text: string, time: Timer): Promise<FamilyResult> {
  const { tokenizer, seconds } = await load(family);
  const peer = await oracle(family);
  const ids = Array.from(tokenizer.encode(text, { allowSpecial: true }));
  const peerIds = peer.encode(text, { add_special_tokens: false });
  if (ids.length !== peerIds.length || ids.some((id, i) => id !== peerIds[i])) {
    throw new Error(`${family}: ids differ from transformers.js`);
  }
  const ours = time(() => tokenizer.encode(text, { allowSpecial: true }));
  const theirs = time(() => peer.encode(text, { add_special_tokens: false }));
  return result(ids.length, seconds, ours, "transformersJs", theirs);
}

/** Ours on the gpt4o files vs tiktoken's o200k_base (ordinary text: no special tokens in either). */
export async function versusTiktokenO200k(text: string, time: Timer): Promise<FamilyResult> {
  const { tokenizer, seconds } = await load("gpt4o");
  const tiktoken = get_encoding("o200k_base");
  try {
    const ids = tokenizer.encode(text);
    const theirIds = tiktoken.encode_ordinary(text);
    if (ids.length !== theirIds.length || ids.some((id, i) => id !== theirIds[i])) {
      throw new Error("o200k: ids differ from tiktoken's o200k_base");
    }
    const ours = time(() => tokenizer.encode(text));
    const theirs = time(() => tiktoken.encode_ordinary(text));
    return result(ids.length, seconds, ours, "tiktoken", theirs);
  } finally {
    tiktoken.free();
  }
}
