/**
 * The tokens a sequence has seen, in the sparse form penalties need: the distinct ids of prompt + output
 * (repetition penalty) and per-id counts of the output alone (presence and frequency penalties).
 */
export class TokenHistory {
  private readonly seenIds = new Set<number>();
  private readonly outputCounts = new Map<number, number>();
  private outputLength = 0;

  constructor(promptTokenIds: Iterable<number> = []) {
    for (const id of promptTokenIds) this.seenIds.add(id);
  }

  /** Records a generated token. */
  append(tokenId: number): void {
    this.seenIds.add(tokenId);
    this.outputCounts.set(tokenId, (this.outputCounts.get(tokenId) ?? 0) + 1);
    this.outputLength++;
  }

  /** Distinct ids of the prompt and the output. */
  get seen(): ReadonlySet<number> {
    return this.seenIds;
  }

  /** Generated token id → how many times it was generated. */
  get generatedCounts(): ReadonlyMap<number, number> {
    return this.outputCounts;
  }

  /** Number of generated tokens. */
  get generatedLength(): number {
    return this.outputLength;
  }
}
