// The public tokenizer: a Hugging Face `tokenizer.json` (BPE byte-level or SentencePiece-style, or WordPiece) in,
// token ids out and back.
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LlmError } from "@llm/errors";
import { AddedTokenMatcher } from "./added-tokens.js";
import { BpeMerger, MAX_WORD_SYMBOLS } from "./bpe.js";
import { BYTE_TO_CHAR } from "./byte-level.js";
import { ChatFormatter, type ChatMessage, type ChatTemplateOptions, type ToolCallSyntax } from "./chat-template.js";
import { applyDecodeRules, DecodedTextStream, type DecodeRules } from "./decode-rules.js";
import { IdBuffer } from "./id-buffer.js";
import type { Normalize } from "./normalizers.js";
import { PieceEncoder } from "./piece-encoder.js";
import { SpanEncoder } from "./span-encoder.js";
import { parseTokenizerConfig, type TokenizerConfig } from "./tokenizer-config.js";
import { type AddedToken, parseTokenizerJson, type TokenizerSpec } from "./tokenizer-json.js";
import { invalidUtf8Offset, loneSurrogateIndex } from "./utf8.js";
import { buildVocabulary, tokenIdOf, type Vocabulary } from "./vocabulary.js";
import { WordPieceModel } from "./wordpiece.js";

export interface TokenizerOptions {
  /** Largest input accepted by encode, in UTF-8 bytes (default 8 MiB); larger input is RESOURCE_EXHAUSTED. */
  maxInputBytes?: number;
  /** Most distinct pre-tokens remembered between calls (default 65,536). */
  cacheSize?: number;
  /** A Jinja chat template that replaces the model's own (the deployment's LLM_CHAT_TEMPLATE). */
  chatTemplate?: string;
}

export interface EncodeOptions {
  /** Recognise special tokens such as `<|endoftext|>` in the text (default false: they are plain text). */
  allowSpecial?: boolean;
  /**
   * Put the model's special tokens around the text as its post-processor says (Llama 3's and Gemma's
   * BOS), like Hugging Face's `add_special_tokens=True`. Default false: the ids of the text alone.
   */
  addSpecialTokens?: boolean;
  /** At most this many ids (special tokens included): the text's ids are cut at the end to fit. */
  maxTokens?: number;
  /** With `maxTokens`: refuse a longer input (INVALID_ARGUMENT) instead of truncating it. */
  refuseOverflow?: boolean;
}

export interface DecodeOptions {
  /** Leave special tokens (`<|endoftext|>`, ...) out of the text. */
  skipSpecialTokens?: boolean;
}

export const DEFAULT_MAX_INPUT_BYTES = 8 * 1024 * 1024;
const DEFAULT_CACHE_SIZE = 65_536;

const lossyUtf8 = new TextDecoder("utf-8", { ignoreBOM: true }); // invalid bytes → U+FFFD, as `tokenizers` does
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class Tokenizer {
  /** Number of token ids (highest id + 1, added tokens included). */
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  /** Special tokens by content (`<|endoftext|>` → 50256 for GPT-2). */
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly maxInputBytes: number;

  private readonly vocabulary: Vocabulary;
  /** Added tokens matched in the raw input, and (when there is a normalizer) those matched after it. */
  private readonly rawAddedTokens: AddedTokenMatcher;
  private readonly normalizedAddedTokens: AddedTokenMatcher;
  private readonly spans: SpanEncoder;
  private readonly normalize: TokenizerSpec["normalize"];
  private readonly specialTokensAround: TokenizerSpec["specialTokensAround"];
  private readonly chat: ChatFormatter;
  /** What decode does to the joined text (also followed by streaming detokenizers). */
  readonly decodeRules: DecodeRules;

  private constructor(spec: TokenizerSpec, config: TokenizerConfig, options: TokenizerOptions) {
    this.maxInputBytes = checkMaxInputBytes(options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES);
    this.vocabulary = buildVocabulary(spec);
    this.vocabSize = this.vocabulary.size;
    this.normalize = spec.normalize;
    const afterNormalizer = (token: AddedToken) => token.normalized && spec.normalize !== undefined;
    this.rawAddedTokens = new AddedTokenMatcher(spec.addedTokens.filter((token) => !afterNormalizer(token)));
    this.normalizedAddedTokens = new AddedTokenMatcher(
      spec.addedTokens
        .filter(afterNormalizer)
        .map((token) => ({ ...token, content: (spec.normalize as Normalize)(token.content) })),
    );
    this.specialTokensAround = spec.specialTokensAround;
    this.decodeRules = {
      stripStart: spec.decoder.stripStart,
      cleanUpTokenizationSpaces: config.cleanUpTokenizationSpaces === true,
    };
    const pieces = new PieceEncoder({
      byteIds: this.vocabulary.byteIds,
      chars: this.vocabulary.chars,
      byteLevelChars: spec.decoder.byteLevel,
      merger: new BpeMerger(this.vocabulary.merges),
      wholePieceIds: this.vocabulary.wholePieceIds,
      wordPiece: spec.wordPiece && wordPieceModel(spec, spec.wordPiece.maxInputCharsPerWord),
      cacheSize: options.cacheSize ?? DEFAULT_CACHE_SIZE,
    });
    this.spans = new SpanEncoder(spec.preTokenizer, pieces);
    this.specialTokens = new Map(spec.addedTokens.filter((t) => t.special).map((t) => [t.content, t.id]));
    const idOf = (content: string | undefined) => (content === undefined ? undefined : tokenIdOf(spec, content));
    this.bosTokenId = idOf(config.bosToken);
    this.eosTokenId = idOf(config.eosToken);
    this.chat = new ChatFormatter(options.chatTemplate ?? config.chatTemplate, {
      bos_token: config.bosToken,
      eos_token: config.eosToken,
      unk_token: config.unkToken,
      pad_token: config.padToken,
    });
  }

  /**
   * A tokenizer from a parsed `tokenizer.json` object and, optionally, a parsed `tokenizer_config.json`
   * (bos/eos tokens, chat template).
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig?: unknown, options: TokenizerOptions = {}): Tokenizer {
    const config = tokenizerConfig === undefined ? {} : parseTokenizerConfig(tokenizerConfig);
    return new Tokenizer(parseTokenizerJson(tokenizerJson), config, options);
  }

  /**
   * A tokenizer from a model directory or a `tokenizer.json` path; `tokenizer_config.json` in the same
   * directory is read when present.
   */
  static async fromFile(path: string, options: TokenizerOptions = {}): Promise<Tokenizer> {
    const info = await stat(path).catch((err: unknown) => {
      throw new LlmError("not_found", `tokenizer path ${path} does not exist`, { cause: err });
    });
    const jsonPath = info.isDirectory() ? join(path, "tokenizer.json") : path;
    const tokenizerJson = await readJson(jsonPath, true);
    const tokenizerConfig = (await readJson(join(dirname(jsonPath), "tokenizer_config.json"), false)) ?? {};
    // Newer model folders keep the template in its own file, which wins over tokenizer_config.json's.
    const templateFile = await readFile(join(dirname(jsonPath), "chat_template.jinja"), "utf8").catch(() => undefined);
    const config = templateFile === undefined ? tokenizerConfig : { ...tokenizerConfig, chat_template: templateFile };
    return Tokenizer.fromJson(tokenizerJson, config, options);
  }

  /**
   * Token ids of `text`. Returns a Uint32Array (compact, no boxing; what tiktoken returns too).
   * Throws INVALID_ARGUMENT for lone surrogates, RESOURCE_EXHAUSTED above `maxInputBytes`.
   */
  encode(text: string, options: EncodeOptions = {}): Uint32Array {
    if (typeof text !== "string") throw new LlmError("invalid_argument", `text must be a string, got ${typeof text}`);
    this.checkSize(utf8Length(text, this.maxInputBytes));
    const surrogate = loneSurrogateIndex(text);
    if (surrogate >= 0) {
      throw new LlmError(
        "invalid_argument",
        `text has a lone UTF-16 surrogate 0x${text.charCodeAt(surrogate).toString(16)} at index ${surrogate} (not valid Unicode)`,
        { details: { index: surrogate } },
      );
    }
    return this.encodeValid(text, options);
  }

  /** Token ids of UTF-8 `bytes`; invalid UTF-8 is INVALID_ARGUMENT naming the byte offset. */
  encodeBytes(bytes: Uint8Array, options: EncodeOptions = {}): Uint32Array {
    this.checkSize(bytes.length);
    const offset = invalidUtf8Offset(bytes);
    if (offset >= 0) {
      throw new LlmError("invalid_argument", `input is not valid UTF-8: bad byte sequence at byte offset ${offset}`, {
        details: { byteOffset: offset },
      });
    }
    return this.encodeValid(strictUtf8.decode(bytes), options);
  }

  /**
   * Already-tokenized `ids` as `encode(text, { addSpecialTokens: true })` would give them: the post-processor's
   * special tokens around them, fitted to `maxTokens` like encode. Unknown ids are INVALID_ARGUMENT.
   */
  withSpecialTokens(
    ids: ArrayLike<number>,
    options: Pick<EncodeOptions, "maxTokens" | "refuseOverflow"> = {},
  ): Uint32Array {
    const { prefix, suffix } = this.specialTokensAround;
    const out = new Uint32Array(prefix.length + ids.length + suffix.length);
    out.set(prefix);
    for (let i = 0; i < ids.length; i++) {
      this.checkId(ids[i]);
      out[prefix.length + i] = ids[i];
    }
    out.set(suffix, prefix.length + ids.length);
    return fitTokens(out, this.specialTokensAround, options);
  }

  /** Number of tokens `text` encodes to. */
  count(text: string, options: EncodeOptions = {}): number {
    return this.encode(text, options).length;
  }

  /**
   * Text of `ids`, as transformers.js decodes it: bytes that do not form valid UTF-8 (a cut multi-byte
   * character) become U+FFFD, then the decoder's leading strip and the tokenization-space clean-up apply.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    return applyDecodeRules(lossyUtf8.decode(this.decodeBytes(ids, options)), this.decodeRules);
  }

  /**
   * The raw bytes of `ids` concatenated, before `decodeRules` (an incremental detokenizer holds back
   * incomplete UTF-8 and applies the rules itself).
   */
  decodeBytes(ids: ArrayLike<number>, options: DecodeOptions = {}): Uint8Array {
    const { pool, starts, special } = this.vocabulary;
    const skipSpecial = options.skipSpecialTokens === true;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      this.checkId(id);
      if (!(skipSpecial && special[id] === 1)) total += starts[id + 1] - starts[id];
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (skipSpecial && special[id] === 1) continue;
      for (let b = starts[id], end = starts[id + 1]; b < end; b++) out[at++] = pool[b];
    }
    return out;
  }

  /**
   * Every id's raw bytes spelt with GPT-2's byte-level characters (any byte sequence is representable), ""
   * for special tokens: the vocabulary a grammar engine masks over (@llm/sampling's GrammarVocabulary).
   */
  grammarTokens(): string[] {
    const { pool, starts, special, size } = this.vocabulary;
    const tokens: string[] = new Array(size);
    for (let id = 0; id < size; id++) {
      let text = "";
      if (special[id] !== 1) for (let b = starts[id]; b < starts[id + 1]; b++) text += BYTE_TO_CHAR[pool[b]];
      tokens[id] = text;
    }
    return tokens;
  }

  /** The decode rules over text that arrives in pieces (for streaming detokenizers). */
  textStream(): DecodedTextStream {
    return new DecodedTextStream(this.decodeRules);
  }

  /** The bytes of one token (a view; do not modify). */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    const { pool, starts } = this.vocabulary;
    return pool.subarray(starts[id], starts[id + 1]);
  }

  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize && this.vocabulary.special[id] === 1;
  }

  /**
   * The prompt text for a conversation, from `options.template`, else the deployment's override, else the
   * model's `chat_template`; none of them is FAILED_PRECONDITION naming LLM_CHAT_TEMPLATE. Encode the result
   * with `{ allowSpecial: true }` (and no `addSpecialTokens`: the template writes BOS itself).
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.chat.render(messages, options);
  }

  /** How the chat template (`template`, else the deployment's or the model's) has the model write tool calls. */
  toolCallSyntax(template?: string): ToolCallSyntax {
    return this.chat.toolCallSyntax(template);
  }

  /** Whether chat requests can be rendered (the model's template or the deployment's override). */
  get hasChatTemplate(): boolean {
    return this.chat.hasTemplate;
  }

  /** The first special token whose text appears in `text` (for deployments that refuse such text), if any. */
  findSpecialToken(text: string): string | undefined {
    let found: string | undefined;
    this.rawAddedTokens.split(text, true, {
      text: () => {},
      token: (id) => {
        if (found === undefined && this.vocabulary.special[id] === 1) {
          found = [...this.specialTokens].find(([, special]) => special === id)?.[0];
        }
      },
    });
    return found;
  }

  /**
   * Hugging Face's order: added tokens are found in the raw text; each span between them is normalized,
   * searched for `normalized` added tokens, pre-tokenized and encoded; the post-processor wraps the result.
   */
  private encodeValid(text: string, options: EncodeOptions): Uint32Array {
    const allowSpecial = options.allowSpecial === true;
    const around = options.addSpecialTokens === true ? this.specialTokensAround : undefined;
    const out = new IdBuffer((text.length >> 2) + 16);
    for (const id of around?.prefix ?? []) out.push(id);
    const { spans, normalize } = this;
    const token = (id: number) => out.push(id);
    this.rawAddedTokens.split(text, allowSpecial, {
      text: (start, end) => {
        const first = start === 0;
        if (normalize === undefined) {
          spans.encode(text, start, end, first, out);
          return;
        }
        const normalized = normalize(text.slice(start, end));
        this.normalizedAddedTokens.split(normalized, allowSpecial, {
          text: (from, to) => spans.encode(normalized, from, to, first, out),
          token,
        });
      },
      token,
    });
    for (const id of around?.suffix ?? []) out.push(id);
    return fitTokens(out.toArray(), around, options);
  }

  private checkSize(bytes: number): void {
    if (bytes > this.maxInputBytes) {
      throw new LlmError(
        "resource_exhausted",
        `input is ${bytes} bytes of UTF-8; the tokenizer accepts at most ${this.maxInputBytes} bytes`,
        { details: { limitBytes: this.maxInputBytes } },
      );
    }
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.vocabulary.known[id] !== 1) {
      throw new LlmError(
        "invalid_argument",
        `unknown token id ${id}: ids run from 0 to ${this.vocabSize - 1} (vocabulary size ${this.vocabSize})`,
        { details: { id, vocabSize: this.vocabSize } },
      );
    }
  }
}

function wordPieceModel(spec: TokenizerSpec, maxInputCharsPerWord: number): WordPieceModel {
  return new WordPieceModel(spec.vocab, {
    unkId: spec.vocab.get(spec.unkToken as string) as number, // the parser checked it is there
    continuingSubwordPrefix: spec.continuingSubwordPrefix,
    maxInputCharsPerWord,
  });
}

/** `ids` within `options.maxTokens`: the text's ids cut at the end (the special tokens around it kept), or refused. */
function fitTokens(
  ids: Uint32Array,
  around: TokenizerSpec["specialTokensAround"] | undefined,
  { maxTokens, refuseOverflow }: EncodeOptions,
): Uint32Array {
  if (maxTokens === undefined || ids.length <= maxTokens) return ids;
  const prefix = around?.prefix.length ?? 0;
  const suffix = around?.suffix.length ?? 0;
  if (refuseOverflow === true || maxTokens < prefix + suffix) {
    throw new LlmError(
      "invalid_argument",
      `input is ${ids.length} tokens${around ? " (special tokens included)" : ""}; at most ${maxTokens} are accepted`,
      { details: { tokens: ids.length, limit: maxTokens } },
    );
  }
  const kept = new Uint32Array(maxTokens);
  kept.set(ids.subarray(0, maxTokens - suffix));
  kept.set(ids.subarray(ids.length - suffix), maxTokens - suffix);
  return kept;
}

/** UTF-8 length of `text`, or a smaller stand-in when even 3 bytes per UTF-16 unit stay within `limit`. */
function utf8Length(text: string, limit: number): number {
  return text.length * 3 <= limit ? text.length : Buffer.byteLength(text, "utf8");
}

function checkMaxInputBytes(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_WORD_SYMBOLS) {
    throw new LlmError(
      "invalid_argument",
      `maxInputBytes must be an integer from 1 to ${MAX_WORD_SYMBOLS}, got ${value}`,
    );
  }
  return value;
}

async function readJson(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new LlmError("not_found", `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new LlmError("failed_precondition", `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
