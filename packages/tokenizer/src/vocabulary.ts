// Builds the lookup tables of a byte-level BPE vocabulary: the bytes of every token (for decoding),
// the id of every single byte (the symbols BPE starts from) and the merge table.
import { LlmError } from "@llm/errors";
import { BYTE_TO_CHAR, byteLevelToBytes } from "./byte-level.js";
import { MergeTable } from "./merge-table.js";
import type { TokenizerSpec } from "./tokenizer-json.js";

export interface Vocabulary {
  size: number;
  /** Bytes of token `id` are `pool[starts[id] .. starts[id + 1])`. */
  pool: Uint8Array;
  starts: Int32Array;
  /** 1 where an id has a token (vocabularies may have holes). */
  known: Uint8Array;
  special: Uint8Array;
  byteIds: Int32Array;
  merges: MergeTable;
  /** For `ignore_merges` models: the text of each vocabulary token that is valid UTF-8 → its id. */
  wholePieceIds: Map<string, number> | undefined;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function notByteLevel(what: string): LlmError {
  return new LlmError("failed_precondition", `unsupported tokenizer.json: ${what} (not a byte-level BPE vocabulary)`);
}

export function buildVocabulary(spec: TokenizerSpec): Vocabulary {
  const bytesById = new Map<number, Uint8Array>();
  for (const [token, id] of spec.vocab) bytesById.set(id, byteLevelToBytes(token) ?? utf8.encode(token));
  // Added tokens decode to their content, whatever the vocabulary spells for their id.
  for (const token of spec.addedTokens) bytesById.set(token.id, utf8.encode(token.content));

  let size = 0;
  for (const id of bytesById.keys()) size = Math.max(size, id + 1);
  const known = new Uint8Array(size);
  const starts = new Int32Array(size + 1);
  let total = 0;
  for (let id = 0; id < size; id++) {
    starts[id] = total;
    const bytes = bytesById.get(id);
    if (bytes !== undefined) {
      known[id] = 1;
      total += bytes.length;
    }
  }
  starts[size] = total;
  const pool = new Uint8Array(total);
  for (const [id, bytes] of bytesById) pool.set(bytes, starts[id]);

  const special = new Uint8Array(size);
  for (const token of spec.addedTokens) if (token.special) special[token.id] = 1;

  return {
    size,
    pool,
    starts,
    known,
    special,
    byteIds: byteSymbolIds(spec.vocab),
    merges: mergeTable(spec),
    wholePieceIds: spec.ignoreMerges ? wholePieceIds(spec.vocab, bytesById) : undefined,
  };
}

function byteSymbolIds(vocab: ReadonlyMap<string, number>): Int32Array {
  const ids = new Int32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    const id = vocab.get(BYTE_TO_CHAR[byte]);
    if (id === undefined) {
      throw notByteLevel(`no token for byte 0x${byte.toString(16).padStart(2, "0")} (${BYTE_TO_CHAR[byte]})`);
    }
    ids[byte] = id;
  }
  return ids;
}

function mergeTable(spec: TokenizerSpec): MergeTable {
  const table = new MergeTable(spec.merges.length);
  spec.merges.forEach(([left, right], rank) => {
    const leftId = spec.vocab.get(left);
    const rightId = spec.vocab.get(right);
    const resultId = spec.vocab.get(left + right);
    if (leftId === undefined || rightId === undefined || resultId === undefined) {
      throw notByteLevel(`merge #${rank} "${left} ${right}" uses or makes a token missing from the vocabulary`);
    }
    table.add(leftId, rightId, rank, resultId);
  });
  return table;
}

function wholePieceIds(
  vocab: ReadonlyMap<string, number>,
  bytesById: ReadonlyMap<number, Uint8Array>,
): Map<string, number> {
  const ids = new Map<string, number>();
  for (const id of vocab.values()) {
    const bytes = bytesById.get(id);
    if (bytes === undefined) continue;
    try {
      ids.set(strictUtf8.decode(bytes), id);
    } catch {
      // Tokens holding part of a multi-byte character have no text of their own.
    }
  }
  return ids;
}

/** The id of a token given by its text: an added token's content or a vocabulary token's decoded text. */
export function tokenIdOf(spec: TokenizerSpec, content: string): number | undefined {
  const added = spec.addedTokens.find((token) => token.content === content);
  if (added !== undefined) return added.id;
  let byteLevel = "";
  for (const byte of utf8.encode(content)) byteLevel += BYTE_TO_CHAR[byte];
  return spec.vocab.get(byteLevel);
}
