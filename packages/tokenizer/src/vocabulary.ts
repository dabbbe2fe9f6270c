// Builds the lookup tables of a BPE vocabulary: the bytes of every token (for decoding), the symbols
// BPE starts from (each byte's id for byte-level vocabularies, characters otherwise) and the merge table.
import { BYTE_TO_CHAR } from "./byte-level.js";
import { CharSymbolizer } from "./char-symbols.js";
import { unsupported } from "./json-spec.js";
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
  /** Byte-level vocabularies without subword affixes start BPE from byte symbols... */
  byteIds: Int32Array | undefined;
  /** ...all others from characters. */
  chars: CharSymbolizer | undefined;
  merges: MergeTable;
  /** For `ignore_merges` models: the text of each vocabulary token that is valid UTF-8 → its id. */
  wholePieceIds: Map<string, number> | undefined;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function buildVocabulary(spec: TokenizerSpec): Vocabulary {
  const { decoder } = spec;
  const bytesById = new Map<number, Uint8Array>();
  for (const [token, id] of spec.vocab) bytesById.set(id, decoder.tokenBytes(token));
  // Added tokens decode to their content (through a SentencePiece decoder's rules, as `tokenizers` does),
  // whatever the vocabulary spells for their id.
  for (const token of spec.addedTokens) {
    bytesById.set(token.id, decoder.byteLevel ? utf8.encode(token.content) : decoder.tokenBytes(token.content));
  }

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

  const byteLevel = spec.preTokenizer.byteLevel !== undefined;
  const affixes = spec.continuingSubwordPrefix !== "" || spec.endOfWordSuffix !== "";
  return {
    size,
    pool,
    starts,
    known,
    special,
    byteIds: byteLevel && !affixes ? byteSymbolIds(spec.vocab) : undefined,
    chars: byteLevel && !affixes ? undefined : charSymbolizer(spec),
    merges: mergeTable(spec),
    wholePieceIds: spec.ignoreMerges ? (byteLevel ? wholePieceIds(spec.vocab, bytesById) : spec.vocab) : undefined,
  };
}

function charSymbolizer(spec: TokenizerSpec): CharSymbolizer {
  return new CharSymbolizer(spec.vocab, {
    byteFallback: spec.byteFallback,
    unkId: spec.unkToken === undefined ? undefined : spec.vocab.get(spec.unkToken),
    fuseUnk: spec.fuseUnk,
    prefix: spec.continuingSubwordPrefix,
    suffix: spec.endOfWordSuffix,
  });
}

function byteSymbolIds(vocab: ReadonlyMap<string, number>): Int32Array {
  const ids = new Int32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    const id = vocab.get(BYTE_TO_CHAR[byte]);
    if (id === undefined) {
      throw unsupported(
        "model.vocab",
        `no token for byte 0x${byte.toString(16).padStart(2, "0")} (${BYTE_TO_CHAR[byte]}) under a ByteLevel pre-tokenizer`,
      );
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
    // With a continuing-subword prefix, the right part's prefix is dropped in the merged token (as `tokenizers`).
    const prefix = spec.continuingSubwordPrefix;
    const merged = prefix !== "" && right.startsWith(prefix) ? left + right.slice(prefix.length) : left + right;
    const resultId = spec.vocab.get(merged);
    if (leftId === undefined || rightId === undefined || resultId === undefined) {
      throw unsupported(
        `model.merges[${rank}]`,
        `merge #${rank} "${left} ${right}" uses or makes a token missing from the vocabulary`,
      );
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
  if (!spec.decoder.byteLevel) return spec.vocab.get(content);
  let byteLevel = "";
  for (const byte of utf8.encode(content)) byteLevel += BYTE_TO_CHAR[byte];
  return spec.vocab.get(byteLevel);
}
