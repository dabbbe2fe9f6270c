// The embedding library: validates a request (every input, before any runs), tokenizes it, sends each
// input through the length batcher, and returns the vectors in input order, truncated to `dimensions`.
import { setMaxListeners } from "node:events";
import { LlmError } from "@llm/errors";
import type { EncoderInfo, EncoderModel } from "./encoder-model.js";
import { type BatchLimits, type BatchReport, LengthBatcher } from "./length-batcher.js";
import { truncated } from "./pooling.js";

/** A text, or token ids of the model's tokenizer (special tokens are added around them). */
export type EmbeddingInput = string | readonly number[];

export interface EmbedOptions {
  /** Matryoshka truncation: the first `dimensions` values, re-normalized when the model normalizes. */
  dimensions?: number;
  /** Refuse inputs longer than the model's maximum instead of truncating them. */
  refuseTruncation?: boolean;
  signal?: AbortSignal;
}

export interface EmbedResult {
  embeddings: Float32Array[];
  /** Tokens embedded (special tokens included, after truncation), over all inputs. */
  promptTokens: number;
}

export interface EmbedderLimits extends BatchLimits {
  /** Most inputs in one request. */
  maxInputs: number;
}

export class Embedder {
  private readonly batcher: LengthBatcher;

  constructor(
    private readonly model: EncoderModel,
    readonly limits: EmbedderLimits,
    onBatch?: (report: BatchReport) => void,
  ) {
    this.batcher = new LengthBatcher((rows) => model.embedBatch(rows), limits, onBatch);
  }

  get info(): EncoderInfo {
    return this.model.info;
  }

  /** Inputs waiting for a batch now. */
  get waiting(): number {
    return this.batcher.waiting;
  }

  async embed(inputs: readonly EmbeddingInput[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const dimensions = this.checkDimensions(options.dimensions);
    if (inputs.length === 0) throw new LlmError("invalid_argument", "input is empty: give at least one input to embed");
    if (inputs.length > this.limits.maxInputs) {
      throw new LlmError(
        "invalid_argument",
        `input has ${inputs.length} items; at most ${this.limits.maxInputs} may be embedded in one request`,
        { details: { field: "input", limit: this.limits.maxInputs } },
      );
    }
    const rows = inputs.map((input, i) => this.tokenize(input, i, options.refuseTruncation === true));
    // One input failing (a cancelled batch, a runtime error) stops this request's other inputs from waiting.
    const request = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, request.signal]) : request.signal;
    setMaxListeners(0, signal); // one listener per waiting input, each removed when its batch starts
    try {
      const vectors = await Promise.all(rows.map((ids) => this.batcher.submit(ids, signal)));
      return {
        embeddings: vectors.map((vector) => truncated(vector, dimensions, this.info.normalize)),
        promptTokens: rows.reduce((sum, ids) => sum + ids.length, 0),
      };
    } catch (error) {
      request.abort();
      throw error;
    }
  }

  private tokenize(input: EmbeddingInput, index: number, refuseOverflow: boolean): Uint32Array {
    const field = `input[${index}]`;
    const { tokenizer } = this.model;
    const fit = { maxTokens: this.info.maxInputTokens, refuseOverflow };
    try {
      if (typeof input === "string") {
        if (input.length === 0) throw new LlmError("invalid_argument", "is an empty string");
        // Special-token text ("[SEP]") is matched as sentence-transformers and transformers.js match it.
        return tokenizer.encode(input, { addSpecialTokens: true, allowSpecial: true, ...fit });
      }
      if (input.length === 0) throw new LlmError("invalid_argument", "is an empty list of token ids");
      return tokenizer.withSpecialTokens(input, fit);
    } catch (error) {
      if (!(error instanceof LlmError)) throw error;
      throw new LlmError(error.code, `${field} ${error.message}`, { details: { ...error.details, field } });
    }
  }

  private checkDimensions(dimensions: number | undefined): number {
    const width = this.info.dimensions;
    if (dimensions === undefined) return width;
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > width) {
      throw new LlmError(
        "invalid_argument",
        `dimensions must be an integer from 1 to ${width} (the width of model "${this.info.id}"), got ${dimensions}`,
        { details: { field: "dimensions" } },
      );
    }
    // The full width is always fine (clients may send it on every request); shorter only for a Matryoshka model,
    // whose leading values were trained to stand alone: another model's truncated vectors silently lose meaning.
    if (dimensions !== width && !this.info.matryoshka) {
      throw new LlmError(
        "invalid_argument",
        `model "${this.info.id}" does not declare Matryoshka training (config.json matryoshka_dimensions, or a ` +
          `"matryoshka" tag on its model card), so its vectors cannot be shortened: leave dimensions out or set it to ${width}`,
        { details: { field: "dimensions" } },
      );
    }
    return dimensions;
  }
}
