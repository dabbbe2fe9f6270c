// The continuous-batching engine: one loop that, every step, admits waiting requests (batch slots, KV
// budget), runs one prefill chunk per prefilling request, runs ONE batched decode forward for all running
// requests, samples every produced position in one sampler call, and retires finished requests at once.
import { LlmError, toLlmError } from "@llm/errors";
import { type BlockStore, MemoryBlockStore, PrefixCache, TieredBlockStore } from "@llm/prefix-cache";
import { DecodeBatch } from "./decode-batch.js";
import type { Decoder } from "./decoder.js";
import { EventStream } from "./event-stream.js";
import { checkGraph } from "./graph-contract.js";
import { createDecoder } from "./kv-layout.js";
import { fromBlocks, type KvShape, KvState, toBlocks } from "./kv-state.js";
import { kvBytesPerToken, type ModelConfig, readModelConfig } from "./model-config.js";
import { resolveModelFile } from "./model-file.js";
import type { SampleResult, Sampler } from "./sampler.js";
import { Sequence } from "./sequence.js";
import { createSession, type EngineLogger, type ExecutionProvider, type ProviderAttempt } from "./session.js";
import { type EngineObserver, StepRecord } from "./step-report.js";
import type { EngineInfo, FinishReason, GenerateRequest, GenerationEvent, TokenEvent } from "./types.js";

export interface EngineOptions<P> {
  /** A Hugging Face ONNX export folder (design §4). */
  modelDir: string;
  /** Which ONNX file of the folder: see resolveModelFile (default onnx/model.onnx). */
  modelFile?: string;
  sampler: Sampler<P>;
  /** Tried in order; the first that starts is used. Default ["cpu"]. */
  providers?: ExecutionProvider[];
  maxBatchSize?: number;
  /** Tokens one step may compute (decode rows + prefill chunk tokens); bounds a step's latency. */
  maxStepTokens?: number;
  /**
   * Longest piece of a prompt prefilled in one step while other sequences decode, so running streams keep
   * flowing. With none decoding, a prompt is prefilled whole (within `maxStepTokens`): one forward, sooner TTFT.
   */
  prefillChunkTokens?: number;
  /** KV memory bound: requests wait for room instead of exceeding it. */
  kvCacheBytes?: number;
  /** A prefix cache over any tier; default: a memory tier of `prefixCacheBytes`. */
  prefixCache?: PrefixCache;
  prefixCacheBytes?: number;
  /**
   * A tier shared by every runner (Redis) behind the memory tier: looked up after memory, its hits are
   * promoted into memory, new blocks are written to it in the background. Ignored with `prefixCache`.
   */
  sharedPrefixStore?: BlockStore;
  intraOpThreads?: number;
  /**
   * Decode rows share a forward only when their lengths agree modulo this (see Decoder.paddingPeriod); default:
   * probed at load. 1 batches every row in one forward, whose rows may then differ from rows alone in the last bits.
   */
  paddingPeriod?: number;
  logger?: EngineLogger;
  /** Told about every step (telemetry); the engine never depends on it. */
  observer?: EngineObserver;
}

const DEFAULTS = {
  providers: ["cpu"] as ExecutionProvider[],
  maxBatchSize: 32,
  maxStepTokens: 512,
  prefillChunkTokens: 256,
  kvCacheBytes: 2 * 1024 ** 3,
  prefixCacheBytes: 256 * 1024 ** 2,
};

const consoleLogger: EngineLogger = {
  info: (message) => console.info(`[engine] ${message}`),
  warn: (message) => console.warn(`[engine] ${message}`),
};

interface Produced<P> {
  seq: Sequence<P>;
  logits: Float32Array;
}

export class Engine<P> {
  readonly providerAttempts: ProviderAttempt[];
  private readonly waiting: Sequence<P>[] = [];
  private readonly prefilling: Sequence<P>[] = [];
  private readonly active = new Map<string, Sequence<P>>();
  private readonly batch: DecodeBatch<P>;
  private readonly bytesPerToken: number;
  private joining: Sequence<P>[] = [];
  private kvReserved = 0;
  private looping = false;
  /** Admissions whose sampler open and prefix lookup are in flight: a Redis lookup must not stall the batch. */
  private readonly starting = new Set<Promise<void>>();
  /** Ends an idle wait for `starting` early: a new request or a cancel needs the loop now. */
  private wakeUp: (() => void) | undefined;
  private idle: Promise<void> = Promise.resolve();
  private closed = false;
  private steps = 0;

  private constructor(
    private readonly config: ModelConfig,
    private readonly shape: KvShape,
    private readonly decoder: Decoder,
    private readonly provider: ExecutionProvider,
    attempts: ProviderAttempt[],
    private readonly options: Required<
      Omit<
        EngineOptions<P>,
        "prefixCache" | "sharedPrefixStore" | "intraOpThreads" | "observer" | "paddingPeriod" | "modelFile"
      >
    > &
      Pick<EngineOptions<P>, "observer">,
    private readonly prefixCache: PrefixCache,
    paddingPeriod: number,
  ) {
    this.providerAttempts = attempts;
    this.bytesPerToken = kvBytesPerToken(config, shape.dtype);
    this.batch = new DecodeBatch(this.shape, decoder.rows, paddingPeriod);
  }

  static async load<P>(options: EngineOptions<P>): Promise<Engine<P>> {
    const settings = { ...DEFAULTS, logger: consoleLogger, ...options };
    if (settings.maxStepTokens <= settings.maxBatchSize) {
      throw new Error(`maxStepTokens (${settings.maxStepTokens}) must exceed maxBatchSize (${settings.maxBatchSize})`);
    }
    const config = await readModelConfig(options.modelDir);
    const modelPath = resolveModelFile(options.modelDir, options.modelFile);
    const { session, provider, attempts } = await createSession(modelPath, {
      providers: settings.providers,
      intraOpThreads: options.intraOpThreads,
      logger: settings.logger,
    });
    let contract: ReturnType<typeof checkGraph>;
    try {
      contract = checkGraph(session, config, modelPath);
    } catch (error) {
      await session.release();
      throw error;
    }
    const shape = {
      numLayers: config.numLayers,
      numHeads: config.numKvHeads,
      headDim: config.headDim,
      dtype: contract.kvDtype,
    };
    // The graph says which KV path it needs: standard (any export) or the append layout's fixed-capacity cache.
    const model = { shape, vocabSize: config.vocabSize, tokenizerVocabSize: config.tokenizerVocabSize, contract };
    const { decoder, layout, paddingPeriod } = await createDecoder(session, model, {
      probe: options.paddingPeriod === undefined,
    });
    settings.logger.info(
      `model ${config.modelId}: ${layout} KV cache layout, ${shape.dtype} cache of ${shape.numHeads} KV heads x ${shape.headDim}`,
    );
    const memory = new MemoryBlockStore(settings.prefixCacheBytes);
    const store = options.sharedPrefixStore ? new TieredBlockStore(memory, options.sharedPrefixStore) : memory;
    const prefixCache = options.prefixCache ?? new PrefixCache(store, config.modelId);
    const period = options.paddingPeriod ?? paddingPeriod;
    return new Engine(config, shape, decoder, provider, attempts, settings, prefixCache, period);
  }

  /**
   * Queues a request; its events arrive on the returned stream, which always ends with one final event.
   * Throws LlmError(invalid_argument) for a request the engine can never serve. Ending the iteration
   * early cancels the request.
   */
  submit(request: GenerateRequest<P>): AsyncIterable<GenerationEvent> {
    this.validate(request);
    const stream = new EventStream<GenerationEvent>(() => this.cancel(request.requestId));
    const reservation = (request.promptIds.length + request.maxTokens) * this.bytesPerToken;
    const seq = new Sequence(request, stream, reservation);
    this.active.set(request.requestId, seq);
    if (request.signal?.aborted) {
      this.finish(seq, "cancelled");
      return stream;
    }
    // Taken over after its last token was written but before its end was: it ends here, as it did there.
    const lastDelivered = request.outputIds?.at(-1);
    const ended = lastDelivered === undefined ? undefined : this.finishReason(seq, lastDelivered);
    if (ended !== undefined) {
      this.finish(seq, ended);
      return stream;
    }
    request.signal?.addEventListener("abort", () => this.cancel(request.requestId), { once: true });
    this.waiting.push(seq);
    this.kick();
    return stream;
  }

  /** Cancels an active request; false when it is unknown or already finished. */
  cancel(requestId: string): boolean {
    const seq = this.active.get(requestId);
    if (seq === undefined || seq.state === "done") return false;
    if (seq.state === "waiting") this.finish(seq, "cancelled");
    else seq.cancelRequested = true; // retired at the next step boundary
    this.wakeUp?.();
    return true;
  }

  info(): EngineInfo {
    return {
      modelId: this.config.modelId,
      contextLength: this.config.contextLength,
      blockSize: this.prefixCache.blockSize,
      vocabSize: this.config.vocabSize,
      provider: this.provider,
      maxBatchSize: this.options.maxBatchSize,
      running: this.active.size - this.waiting.length,
      waiting: this.waiting.length,
      kvBytesUsed: this.kvReserved,
      kvBytesLimit: this.options.kvCacheBytes,
      kvBytesAllocated: this.batch.bytes + this.prefilling.reduce((sum, seq) => sum + (seq.kv?.bytes ?? 0), 0),
      prefixCache: this.prefixCache.stats(),
    };
  }

  /**
   * Whether a request this long could start at the next step: a free batch slot, and KV room for its reservation
   * beside the running requests and those already waiting. A request larger than the whole KV budget counts as
   * having room (submit() refuses it at once instead of letting it wait forever).
   */
  hasRoomFor(promptTokens: number, maxTokens: number): boolean {
    const reservation = (promptTokens + maxTokens) * this.bytesPerToken;
    if (reservation > this.options.kvCacheBytes) return true;
    const queued = this.waiting.reduce((sum, seq) => sum + seq.kvReservation, 0);
    return (
      this.active.size < this.options.maxBatchSize &&
      this.kvReserved + queued + reservation <= this.options.kvCacheBytes
    );
  }

  /** Prefix-cache block keys this runner holds in memory, most recently used first (KV-aware routing). */
  hotPrefixKeys(limit: number): string[] {
    return this.prefixCache.recentKeys(limit);
  }

  /** Cancels everything, waits for the loop to stop and releases the ONNX session. */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.active.keys()]) this.cancel(id);
    await this.idle;
    for (const seq of [...this.active.values()]) this.finish(seq, "cancelled");
    await this.decoder.release();
  }

  private validate(request: GenerateRequest<P>): void {
    const fail = (message: string) => {
      throw new LlmError("invalid_argument", `request ${JSON.stringify(request.requestId)}: ${message}`);
    };
    if (this.closed) throw new LlmError("unavailable", "the engine is shut down");
    if (!request.requestId) fail("request_id is empty");
    if (this.active.has(request.requestId)) fail("a request with this id is already running");
    const prompt = request.promptIds;
    if (prompt.length === 0) fail("the prompt has no tokens");
    const vocab = this.config.vocabSize;
    const outsideVocab = (id: number) => !Number.isInteger(id) || id < 0 || id >= vocab;
    const bad = prompt.findIndex(outsideVocab);
    if (bad >= 0) fail(`prompt token ${bad} (${prompt[bad]}) is not an id in this model's vocabulary [0, ${vocab})`);
    if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) fail("max_tokens must be an integer >= 1");
    const output = request.outputIds ?? [];
    const badOutput = output.findIndex(outsideVocab);
    if (badOutput >= 0) {
      fail(`output token ${badOutput} (${output[badOutput]}) is not an id in this model's vocabulary [0, ${vocab})`);
    }
    if (output.length > request.maxTokens) {
      fail(`${output.length} output tokens were already generated, more than max_tokens (${request.maxTokens})`);
    }
    const total = prompt.length + request.maxTokens;
    if (total > this.config.contextLength) {
      fail(
        `prompt (${prompt.length} tokens) + max_tokens (${request.maxTokens}) exceeds the model's context of ${this.config.contextLength} tokens`,
      );
    }
    const bytes = total * this.bytesPerToken;
    if (bytes > this.options.kvCacheBytes) {
      fail(
        `needs ${bytes} bytes of KV cache (${total} tokens x ${this.bytesPerToken}), more than this runner's whole KV budget of ${this.options.kvCacheBytes} bytes: lower max_tokens or shorten the prompt`,
      );
    }
  }

  // --- the loop ---

  private kick(): void {
    this.wakeUp?.();
    if (this.looping) return;
    this.looping = true;
    this.idle = this.runLoop();
  }

  private async runLoop(): Promise<void> {
    try {
      while (this.active.size > 0) {
        try {
          await this.step();
        } catch (error) {
          // A fault outside any one request (a bug, a dead session): fail the running requests, keep serving.
          this.options.logger.warn(`engine step failed: ${error instanceof Error ? error.stack : String(error)}`);
          for (const seq of [...this.active.values()]) if (seq.state !== "waiting") this.fail(seq, error);
        }
      }
    } finally {
      this.looping = false;
    }
  }

  private async step(): Promise<void> {
    const record = new StepRecord();
    for (const seq of [...this.active.values()]) if (seq.cancelRequested) this.finish(seq, "cancelled");
    await this.admit();
    if (this.starting.size > 0 && this.batch.size === 0 && this.joining.length === 0) {
      if (!this.prefilling.some((seq) => seq.kv !== undefined)) await this.untilStartedOrWoken();
    }
    const produced = await this.prefillChunks(record);
    // A joiner cancelled since its prefill ended is already done: it must not enter the batch.
    this.batch.update(this.joining.filter((seq) => seq.state === "decode"));
    this.joining = [];
    produced.push(...(await this.decodeStep(record)));
    if (produced.length > 0) {
      const results = await this.sampleAll(produced);
      const stepMs = performance.now() - record.startedAt;
      produced.forEach(({ seq }, i) => {
        const token = this.accept(seq, results[i], stepMs);
        if (token) record.produced(seq.id, token);
      });
    }
    this.report(record);
  }

  private report(record: StepRecord): void {
    const { observer } = this.options;
    if (!observer || !record.computedAnything) return;
    try {
      observer.onStep(record.report(++this.steps, this.provider));
    } catch (error) {
      this.options.logger.warn(`step observer failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async admit(): Promise<void> {
    const launched: Promise<void>[] = [];
    while (this.waiting.length > 0 && this.active.size - this.waiting.length < this.options.maxBatchSize) {
      const seq = this.waiting[0];
      if (this.kvReserved + seq.kvReservation > this.options.kvCacheBytes) return; // wait for room, in order
      this.waiting.shift();
      this.kvReserved += seq.kvReservation;
      seq.state = "prefill";
      seq.admittedAt = performance.now();
      this.prefilling.push(seq);
      const started: Promise<void> = this.start(seq)
        .catch((error: unknown) => this.fail(seq, error))
        .finally(() => this.starting.delete(started));
      this.starting.add(started);
      launched.push(started);
    }
    // In-process opens and memory-tier lookups settle within a turn of the event loop, so they still prefill in
    // this step; slower ones (a Redis lookup, a remote sampler) join a later step while the batch runs on.
    if (launched.length > 0) {
      await Promise.race([Promise.all(launched), new Promise((resolve) => setImmediate(resolve))]);
    }
  }

  /** Nothing can be computed until an admission's lookup lands: wait for it (or a new request / cancel). */
  private async untilStartedOrWoken(): Promise<void> {
    const woken = new Promise<void>((resolve) => {
      this.wakeUp = resolve;
    });
    await Promise.race([...this.starting, woken]);
    this.wakeUp = undefined;
  }

  /** Opens the sampler state and reuses the longest cached prefix of the prompt. */
  private async start(seq: Sequence<P>): Promise<void> {
    const { promptIds, outputIds = [], sampling, cacheSalt } = seq.request;
    await this.options.sampler.open(seq.id, sampling, promptIds, outputIds);
    if (ended(seq)) {
      this.options.sampler.close(seq.id); // cancelled while opening: finish() found nothing to close
      return;
    }
    seq.samplerOpen = true;
    const input = seq.inputIds;
    seq.blockKeys = this.prefixCache.keys(input, cacheSalt);
    // At least the last input token is always computed: its logits give the next output token.
    const reusable = Math.floor((input.length - 1) / this.prefixCache.blockSize);
    const match = await this.prefixCache.lookup(seq.blockKeys.slice(0, reusable));
    if (ended(seq)) return; // cancelled while looking up
    seq.kv =
      match.blocks.length > 0
        ? fromBlocks(this.shape, match.blocks, this.prefixCache.blockSize)
        : KvState.empty(this.shape, 1);
    seq.kvLength = match.tokens;
    seq.cachedPromptTokens = match.tokens;
  }

  /**
   * One chunk for each prefilling sequence, within the step's token budget left by the decode rows. Chunks are
   * only cut to `prefillChunkTokens` while a stream decodes: with none waiting on this step, splitting a prompt
   * would only add forwards before its first token.
   */
  private async prefillChunks(record: StepRecord): Promise<Produced<P>[]> {
    const produced: Produced<P>[] = [];
    const decoding = this.batch.size + this.joining.length;
    let budget = Math.max(1, this.options.maxStepTokens - decoding);
    const chunkLimit = decoding > 0 ? this.options.prefillChunkTokens : budget;
    for (const seq of [...this.prefilling]) {
      if (budget <= 0) break;
      if (seq.state !== "prefill" || seq.kv === undefined) continue;
      const input = seq.inputIds;
      const chunk = Math.min(chunkLimit, input.length - seq.kvLength, budget);
      budget -= chunk;
      try {
        const { logits, present } = await this.decoder.forward({
          tokenIds: input.slice(seq.kvLength, seq.kvLength + chunk),
          newTokens: chunk,
          past: seq.kv,
          pastLengths: [seq.kvLength],
        });
        seq.kv = present;
        seq.kvLength += chunk;
        record.prefilled(seq.id, chunk);
        if (seq.kvLength === input.length) {
          seq.prefilledAt = performance.now();
          // Copying the prompt's blocks out (tens of ms for a long prompt) must not delay its first token: it
          // runs once this step's tokens are sent, while the next step's forward computes on ORT's threads.
          setImmediate(() => this.remember(seq, present));
          produced.push({ seq, logits });
        }
      } catch (error) {
        this.fail(seq, error);
      }
    }
    return produced;
  }

  /** Stores the prompt's full blocks (from `kv`, its prefilled single-row state) that the cache does not have yet. */
  private remember(seq: Sequence<P>, kv: KvState): void {
    const blockSize = this.prefixCache.blockSize;
    const from = seq.cachedPromptTokens / blockSize;
    const to = seq.blockKeys.length;
    if (to <= from) return;
    const values = toBlocks(kv, from, to, blockSize);
    this.prefixCache.insert(seq.blockKeys, from, values).catch((error: unknown) => {
      this.options.logger.warn(`prefix cache insert failed: ${error instanceof Error ? error.message : error}`);
    });
  }

  private async decodeStep(record: StepRecord): Promise<Produced<P>[]> {
    if (this.batch.size === 0) return [];
    const rows = await this.batch.step(this.decoder);
    record.decoded(rows.map(({ seq }) => seq.id));
    return rows;
  }

  private async sampleAll(produced: readonly Produced<P>[]): Promise<SampleResult[]> {
    try {
      const results = await this.options.sampler.sample(produced.map(({ seq, logits }) => ({ seqId: seq.id, logits })));
      if (results.length !== produced.length) {
        throw new Error(`sampler returned ${results.length} results for ${produced.length} sequences`);
      }
      return results;
    } catch (error) {
      return produced.map(() => ({ error: error instanceof Error ? error : new Error(String(error)) }));
    }
  }

  /** Emits a sampled token (returned) and decides whether the sequence goes on. */
  private accept(seq: Sequence<P>, result: SampleResult, stepMs: number): TokenEvent | undefined {
    if (seq.state === "done") return undefined;
    if (seq.cancelRequested) {
      this.finish(seq, "cancelled");
      return undefined;
    }
    if ("error" in result) {
      this.fail(seq, result.error);
      return undefined;
    }
    const now = performance.now();
    const first = seq.generated === seq.delivered; // this engine's first token of the request
    const token: TokenEvent = {
      type: "token",
      index: seq.generated,
      tokenId: result.tokenId,
      logprob: result.logprob,
      topLogprobs: result.topLogprobs,
      timing: {
        stepMs,
        sincePreviousMs: now - (first ? seq.submittedAt : seq.lastTokenAt),
        sinceStartMs: now - seq.submittedAt,
        ...(first ? { queueMs: seq.admittedAt - seq.submittedAt, prefillMs: seq.prefilledAt - seq.admittedAt } : {}),
      },
      ...(first ? { cachedPromptTokens: seq.cachedPromptTokensReported } : {}),
    };
    seq.stream.push(token);
    seq.generated++;
    seq.lastTokenAt = now;
    seq.pendingToken = result.tokenId;
    const reason = this.finishReason(seq, result.tokenId);
    if (reason !== undefined) {
      this.finish(seq, reason);
    } else if (seq.state === "prefill") {
      seq.state = "decode";
      this.prefilling.splice(this.prefilling.indexOf(seq), 1);
      this.joining.push(seq);
    }
    return token;
  }

  private finishReason(seq: Sequence<P>, tokenId: number): FinishReason | undefined {
    const { request } = seq;
    if (!request.ignoreEos && this.config.eosTokenIds.includes(tokenId)) return "eos";
    if (request.stopTokenIds?.includes(tokenId)) return "stop";
    if (seq.generated >= request.maxTokens) return "length";
    return undefined;
  }

  private fail(seq: Sequence<P>, error: unknown): void {
    const llmError = toLlmError(error);
    if (llmError.code === "internal") {
      this.options.logger.warn(`request ${seq.id} failed: ${error instanceof Error ? error.stack : String(error)}`);
    }
    this.finish(seq, "error", llmError);
  }

  private finish(seq: Sequence<P>, reason: FinishReason, error?: LlmError): void {
    if (seq.state === "done") return;
    if (seq.state === "waiting") {
      const index = this.waiting.indexOf(seq);
      if (index >= 0) this.waiting.splice(index, 1);
    } else {
      this.kvReserved -= seq.kvReservation;
    }
    const prefillIndex = this.prefilling.indexOf(seq);
    if (prefillIndex >= 0) this.prefilling.splice(prefillIndex, 1);
    seq.state = "done"; // the decode batch drops it at its next update
    seq.kv = undefined;
    if (seq.samplerOpen) this.options.sampler.close(seq.id);
    this.active.delete(seq.id);
    seq.stream.push({
      type: "final",
      finishReason: reason,
      usage: {
        promptTokens: seq.promptLength,
        completionTokens: seq.generated,
        cachedPromptTokens: seq.cachedPromptTokensReported,
      },
      ...(error ? { error } : {}),
    });
    seq.stream.end();
  }
}

/** A check TypeScript does not narrow away across awaits: the sequence may end while `start` waits. */
function ended<P>(seq: Sequence<P>): boolean {
  return seq.state === "done";
}
