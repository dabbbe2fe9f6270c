import { LlmError } from "@llm/errors";
import { type StopMatch, StopMatcher } from "./stop-matcher.js";
import { DEFAULT_STOP_LIMITS, type StopLimits, validateStopSequences } from "./stop-options.js";
import { Utf8StreamDecoder } from "./utf8-stream.js";

/** Text rules a tokenizer applies after joining the tokens' bytes (a SentencePiece leading-space strip, clean-up). */
export interface TextStream {
  /** The text that can no longer change once `text` has arrived. */
  write(text: string): string;
  /** Everything still held back. */
  end(): string;
}

/** What the detokenizer needs from a tokenizer: each token's raw bytes, and its decode rules. */
export interface TokenBytesSource {
  /** The token's bytes (for a special token: the UTF-8 of its text). */
  tokenBytes(id: number): Uint8Array;
  isSpecial(id: number): boolean;
  /** Valid ids are 0 .. vocabSize - 1. */
  vocabSize: number;
  /** A fresh stream of the tokenizer's decode rules; none: the decoded bytes are the text. */
  textStream?(): TextStream;
}

export interface DetokenizerOptions extends Partial<StopLimits> {
  /** The output ends right before the earliest stop sequence found in it. */
  stop?: readonly string[];
  /** Leave special tokens (e.g. `<|endoftext|>`) out of the text. Default true. */
  skipSpecialTokens?: boolean;
}

export interface DetokenizeStep {
  /** New text since the previous call; may be empty while text is held back. */
  text: string;
  /** Set once a stop sequence has ended the output (and on every call after that). */
  stopped?: StopMatch;
}

/**
 * Turns a stream of token ids into text deltas. Concatenating every `push` result and the
 * `flush` result gives exactly `new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)`
 * of all the (non-skipped) tokens' bytes, passed through the source's text rules (so: the
 * tokenizer's one-shot decode), cut before the earliest stop sequence:
 * - an unfinished UTF-8 character at the end is held back until its bytes arrive, so no
 *   delta shows U+FFFD for a character split across tokens; bytes that are invalid whatever
 *   follows become U+FFFD right away, just where the full decode has them; at `flush` an
 *   unfinished character becomes U+FFFD;
 * - text that could be the start of a stop sequence is held back until it is known not to
 *   be one; the result is the same for every way of splitting the ids into pushes.
 * After a stop, `push` still range-checks its ids but otherwise ignores them and returns no
 * text (tokens still in flight are not an error); after `flush`, `push` and `flush` throw
 * failed_precondition. A `push` never re-decodes earlier text: its cost grows with its new
 * bytes and the held-back text (shorter than the longest stop sequence), times the stop count.
 */
export class Detokenizer {
  private readonly decoder = new Utf8StreamDecoder();
  private readonly rules: TextStream | undefined;
  private readonly matcher: StopMatcher;
  private readonly skipSpecialTokens: boolean;
  private stopMatch: StopMatch | undefined;
  private flushed = false;

  constructor(
    private readonly source: TokenBytesSource,
    options: DetokenizerOptions = {},
  ) {
    const stops = options.stop ?? [];
    validateStopSequences(stops, {
      maxStopSequences: options.maxStopSequences ?? DEFAULT_STOP_LIMITS.maxStopSequences,
      maxStopLength: options.maxStopLength ?? DEFAULT_STOP_LIMITS.maxStopLength,
    });
    this.matcher = new StopMatcher([...stops]);
    this.skipSpecialTokens = options.skipSpecialTokens ?? true;
    this.rules = source.textStream?.();
  }

  /** The stop sequence that ended the output, if one has. */
  get stopped(): StopMatch | undefined {
    return this.stopMatch;
  }

  /** Adds generated token ids (all are checked before any is used). */
  push(ids: readonly number[] | number): DetokenizeStep {
    this.assertNotFlushed("push");
    const batch = typeof ids === "number" ? [ids] : ids;
    for (const id of batch) this.assertValidId(id);
    if (this.stopMatch !== undefined) return { text: "", stopped: this.stopMatch };
    const chunks: Uint8Array[] = [];
    for (const id of batch) {
      if (!(this.skipSpecialTokens && this.source.isSpecial(id))) chunks.push(this.source.tokenBytes(id));
    }
    const text = this.decoder.write(chunks);
    return this.emit(this.rules ? this.rules.write(text) : text, false);
  }

  /** Ends the stream: returns all text still held back (an unfinished character as U+FFFD). */
  flush(): DetokenizeStep {
    this.assertNotFlushed("flush");
    this.flushed = true;
    if (this.stopMatch !== undefined) return { text: "", stopped: this.stopMatch };
    const text = this.decoder.end();
    return this.emit(this.rules ? this.rules.write(text) + this.rules.end() : text, true);
  }

  private emit(text: string, final: boolean): DetokenizeStep {
    const step = this.matcher.feed(text, final);
    this.stopMatch = step.stopped;
    return step;
  }

  private assertValidId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.source.vocabSize) {
      throw new LlmError(
        "invalid_argument",
        `token id ${id} is out of range: valid ids are integers 0..${this.source.vocabSize - 1}`,
        { details: { field: "token_ids", tokenId: id } },
      );
    }
  }

  private assertNotFlushed(call: string): void {
    if (this.flushed)
      throw new LlmError("failed_precondition", `${call}() called after flush(): this detokenizer's stream has ended`);
  }
}
