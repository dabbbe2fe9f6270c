// The continuous-batching engine: one loop that, every step, admits waiting requests (batch slots, KV
// budget), runs one prefill chunk per prefilling request, runs ONE batched decode forward for all running
// requests, samples every produced position in one sampler call, and retires finished requests at once.
import { LlmError, toLlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import { type BlockStore, MemoryBlockStore, PrefixCache, TieredBlockStore } from "@llm/prefix-cache";
import { Admission } from "./admission.js";
import { DecodeBatch } from "./decode-batch.js";
import { decodeRows, type Produced } from "./decode-step.js";
import type { Decoder } from "./decoder.js";
import { EventStream } from "./event-stream.js";
import type { KvShape } from "./kv-state.js";
import { loadModel } from "./load-model.js";
import { kvBytesPerToken, type ModelConfig } from "./model-config.js";
import { rememberPrompt, restorePrefix } from "./prompt-cache.js";
import type { EngineSampler, SampleResult } from "./sampler.js";
import { Sequence } from "./sequence.js";
import type { ExecutionProvider, ProviderAttempt } from "./session.js";
import type { EngineSizing } from "./sizing.js";
import { type SpeculationOptions, Speculator } from "./speculation/speculator.js";
import { type EngineObserver, StepRecord } from "./step-report.js";
import type { EngineInfo, FinishReason, GenerateRequest, GenerationEvent } from "./types.js";

export interface EngineOptions<P> extends EngineSizing {
  /** A Hugging Face ONNX export folder (design §4). */
  modelDir: string;
  /** Which ONNX file of the folder: see resolveModelFile (default onnx/model.onnx). */
  modelFile?: string;
  sampler: EngineSampler<P>;
  /**
   * A tier shared by every runner (Redis) behind the memory tier: looked up after memory, its hits are
   * promoted into memory, new blocks are written to it in the background.
   */
  sharedPrefixStore?: BlockStore;
  intraOpThreads?: number;
  /**
   * Decode rows share a forward only when their lengths agree modulo this (see Decoder.paddingPeriod); default:
   * probed at load. 1 batches every row in one forward, whose rows may then differ from rows alone in the last bits.
   */
  paddingPeriod?: number;
  log: Log;
  /** Told about every step (telemetry); the engine never depends on it. */
  observer?: EngineObserver;
  /** Speculative decoding: the default mode, a draft model, the lookahead policy (default: off). */
  speculation?: SpeculationOptions;
}

export class Engine<P> {
  readonly providerAttempts: ProviderAttempt[];
  private readonly admission: Admission<P>;
  private readonly prefilling: Sequence<P>[] = [];
  private readonly batch: DecodeBatch<Sequence<P>>;
  private readonly speculator: Speculator;
  private joining: Sequence<P>[] = [];
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
    private readonly options: Omit<
      EngineOptions<P>,
      "sharedPrefixStore" | "intraOpThreads" | "paddingPeriod" | "modelFile" | "speculation"
    >,
    private readonly prefixCache: PrefixCache,
    paddingPeriod: number,
    speculation: SpeculationOptions | undefined,
  ) {
    this.providerAttempts = attempts;
    this.admission = new Admission({
      maxBatchSize: options.maxBatchSize,
      kvCacheBytes: options.kvCacheBytes,
      bytesPerToken: kvBytesPerToken(config, shape.dtype),
      vocabSize: config.vocabSize,
      contextLength: config.contextLength,
    });
    this.batch = new DecodeBatch(this.shape, decoder.rows, paddingPeriod);
    this.speculator = new Speculator(speculation ?? {}, { contextLength: config.contextLength, paddingPeriod });
  }

  static async load<P>(options: EngineOptions<P>): Promise<Engine<P>> {
    if (options.maxStepTokens <= options.maxBatchSize) {
      throw new Error(`maxStepTokens (${options.maxStepTokens}) must exceed maxBatchSize (${options.maxBatchSize})`);
    }
    const { config, shape, decoder, provider, attempts, paddingPeriod } = await loadModel({
      ...options,
      probePadding: options.paddingPeriod === undefined,
    });
    const memory = new MemoryBlockStore(options.prefixCacheBytes);
    const store = options.sharedPrefixStore ? new TieredBlockStore(memory, options.sharedPrefixStore) : memory;
    const prefixCache = new PrefixCache(store, config.modelId);
    const period = options.paddingPeriod ?? paddingPeriod;
    const { speculation } = options;
    return new Engine(config, shape, decoder, provider, attempts, options, prefixCache, period, speculation);
  }

  /**
   * Queues a request; its events arrive on the returned stream, which always ends with one final event.
   * Throws LlmError(invalid_argument) for a request the engine can never serve. Ending the iteration
   * early cancels the request.
   */
  submit(request: GenerateRequest<P>): AsyncIterable<GenerationEvent> {
    if (this.closed) throw new LlmError("unavailable", "the engine is shut down");
    this.admission.check(request);
    this.speculator.check(request.speculative);
    const stream = new EventStream<GenerationEvent>(() => this.cancel(request.requestId));
    const seq = new Sequence(request, stream, this.admission.reservation(request.promptIds.length, request.maxTokens));
    this.admission.hold(seq, false);
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
    this.admission.hold(seq, true);
    this.kick();
    return stream;
  }

  /** Cancels an active request; false when it is unknown or already finished. */
  cancel(requestId: string): boolean {
    const seq = this.admission.active.get(requestId);
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
      running: this.admission.running,
      waiting: this.admission.waiting.length,
      kvBytesUsed: this.admission.kvBytesUsed,
      kvBytesLimit: this.options.kvCacheBytes,
      kvBytesAllocated:
        this.batch.bytes +
        (this.speculator.draft?.bytes ?? 0) +
        this.prefilling.reduce((sum, seq) => sum + (seq.kv?.bytes ?? 0), 0),
      prefixCache: this.prefixCache.stats(),
    };
  }

  /** Whether a request this long could start at the next step (Admission.hasRoomFor). */
  hasRoomFor(promptTokens: number, maxTokens: number): boolean {
    return this.admission.hasRoomFor(promptTokens, maxTokens);
  }

  /** Prefix-cache block keys this runner holds in memory, most recently used first (KV-aware routing). */
  hotPrefixKeys(limit: number): string[] {
    return this.prefixCache.recentKeys(limit);
  }

  /** Cancels everything, waits for the loop to stop and releases the ONNX session. */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.admission.active.keys()]) this.cancel(id);
    await this.idle;
    for (const seq of [...this.admission.active.values()]) this.finish(seq, "cancelled");
    await this.decoder.release();
    await this.speculator.release();
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
      while (this.admission.active.size > 0) {
        try {
          await this.step();
        } catch (error) {
          // A fault outside any one request (a bug, a dead session): fail the running requests, keep serving.
          this.warn(`engine step failed: ${error instanceof Error ? error.stack : String(error)}`);
          for (const seq of [...this.admission.active.values()]) if (seq.state !== "waiting") this.fail(seq, error);
        }
      }
      // Idle: the finished rows' caches go now, not when the next request arrives.
      this.batch.update([]);
      this.speculator.idle();
    } finally {
      this.looping = false;
    }
  }

  private async step(): Promise<void> {
    const record = new StepRecord();
    for (const seq of [...this.admission.active.values()]) if (seq.cancelRequested) this.finish(seq, "cancelled");
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
      produced.forEach((row, i) => {
        this.accept(row, results[i], stepMs, record);
      });
    }
    // Rows that kept fewer positions than the step computed (rejected proposals) are rolled back.
    this.batch.settle();
    this.speculator.settle();
    const sample = record.speedSample();
    if (sample) this.speculator.observeStep(sample);
    this.report(record);
  }

  private report(record: StepRecord): void {
    const { observer } = this.options;
    if (!observer || !record.computedAnything) return;
    try {
      observer.onStep(record.report(++this.steps, this.provider));
    } catch (error) {
      this.warn(`step observer failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async admit(): Promise<void> {
    const launched: Promise<void>[] = [];
    for (const seq of this.admission.admit()) {
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
    const { promptIds, outputIds = [], sampling } = seq.request;
    const opened = await this.options.sampler.open(seq.id, sampling, promptIds, outputIds);
    seq.speculation = this.speculator.begin(seq.request.speculative, opened.verifies);
    if (ended(seq)) {
      this.options.sampler.close(seq.id); // cancelled while opening: finish() found nothing to close
      return;
    }
    seq.samplerOpen = true;
    await restorePrefix(seq, this.prefixCache, this.shape);
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
        const { logits, half, present } = await this.decoder.forward({
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
          setImmediate(() => rememberPrompt(seq, present, this.prefixCache, (msg) => this.warn(msg)));
          produced.push({ seq, logits, half, decoding: false });
        }
      } catch (error) {
        this.fail(seq, error);
      }
    }
    return produced;
  }

  private async decodeStep(record: StepRecord): Promise<Produced<P>[]> {
    if (this.batch.size === 0) return [];
    const { sampler } = this.options;
    return decodeRows(this.batch, this.decoder, this.speculator, sampler, record);
  }

  private async sampleAll(produced: readonly Produced<P>[]): Promise<SampleResult[]> {
    try {
      const inputs = produced.map(({ seq, logits, half, proposed }) => ({
        seqId: seq.id,
        logits,
        proposed,
        half: half && { dtype: "float16" as const, bits: half },
      }));
      const results = await this.options.sampler.sample(inputs);
      if (results.length !== produced.length) {
        throw new Error(`sampler returned ${results.length} results for ${produced.length} sequences`);
      }
      return results;
    } catch (error) {
      return produced.map(() => ({ error: error instanceof Error ? error : new Error(String(error)) }));
    }
  }

  /** Emits the step's tokens of one sequence (a verify step's accepted proposals first) and decides whether it goes on. */
  private accept(row: Produced<P>, result: SampleResult, stepMs: number, record: StepRecord): void {
    const { seq } = row;
    if (seq.state === "done") return;
    if (seq.cancelRequested) {
      this.finish(seq, "cancelled");
      return;
    }
    if ("error" in result) {
      this.fail(seq, result.error);
      return;
    }
    const accepted = result.accepted ?? [];
    this.speculator.record(seq, row.proposed?.length ?? 0, accepted.length);
    record.accepted(accepted.length);
    for (const sampled of [...accepted, result]) {
      if (row.decoding) seq.kvLength++; // the position of the token before this one is kept
      record.produced(seq.id, seq.emit(sampled, stepMs));
      const reason = this.finishReason(seq, sampled.tokenId);
      if (reason !== undefined) {
        this.finish(seq, reason);
        return;
      }
    }
    if (seq.state === "prefill") {
      seq.state = "decode";
      this.prefilling.splice(this.prefilling.indexOf(seq), 1);
      this.joining.push(seq);
    }
  }

  private finishReason(seq: Sequence<P>, tokenId: number): FinishReason | undefined {
    const { request } = seq;
    if (!request.ignoreEos && this.config.eosTokenIds.includes(tokenId)) return "eos";
    if (request.stopTokenIds?.includes(tokenId)) return "stop";
    if (seq.generated >= request.maxTokens) return "length";
    return undefined;
  }

  private warn(msg: string): void {
    this.options.log({ level: "warn", msg });
  }

  private fail(seq: Sequence<P>, error: unknown): void {
    const llmError = toLlmError(error);
    if (llmError.code === "internal") {
      this.warn(`request ${seq.id} failed: ${error instanceof Error ? error.stack : String(error)}`);
    }
    this.finish(seq, "error", llmError);
  }

  private finish(seq: Sequence<P>, reason: FinishReason, error?: LlmError): void {
    if (seq.state === "done") return;
    this.admission.release(seq);
    const prefillIndex = this.prefilling.indexOf(seq);
    if (prefillIndex >= 0) this.prefilling.splice(prefillIndex, 1);
    seq.state = "done"; // the decode batch drops it at its next update
    seq.kv = undefined;
    if (seq.samplerOpen) this.options.sampler.close(seq.id);
    seq.end(reason, error);
  }
}

/** A check TypeScript does not narrow away across awaits: the sequence may end while `start` waits. */
function ended<P>(seq: Sequence<P>): boolean {
  return seq.state === "done";
}
