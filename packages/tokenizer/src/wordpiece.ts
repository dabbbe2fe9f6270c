// WordPiece (BERT and its descendants): each pre-token is cut greedily into the longest vocabulary
// tokens from the left, every piece after the first spelled with the continuing-subword prefix
// ("##"); a word with any part missing, or longer than `max_input_chars_per_word`, is one unknown token.

export interface WordPieceSpec {
  unkId: number;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
}

export class WordPieceModel {
  /** Longest token in code points (prefix excluded): no longer candidate needs looking up. */
  private readonly longestToken: number;

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly spec: WordPieceSpec,
  ) {
    let longest = 1;
    for (const token of vocab.keys()) longest = Math.max(longest, [...token].length);
    this.longestToken = longest;
  }

  /** The ids of one pre-token (one id as a number, several as an array). */
  ids(word: string): number | Uint32Array {
    const chars = [...word];
    const { unkId, continuingSubwordPrefix, maxInputCharsPerWord } = this.spec;
    if (chars.length > maxInputCharsPerWord) return unkId;
    const ids: number[] = [];
    for (let start = 0; start < chars.length; ) {
      let found: number | undefined;
      let end = Math.min(chars.length, start + this.longestToken);
      for (; end > start; end--) {
        const piece = chars.slice(start, end).join("");
        found = this.vocab.get(start > 0 ? continuingSubwordPrefix + piece : piece);
        if (found !== undefined) break;
      }
      if (found === undefined) return unkId;
      ids.push(found);
      start = end;
    }
    return ids.length === 1 ? ids[0] : Uint32Array.from(ids);
  }
}
