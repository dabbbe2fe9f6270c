// The engine's Sampler over a remote SamplerService: one long-lived bidi stream per runner and one message
// per engine step for the whole batch (sequences joining, every sequence's logits as float32 bytes,
// sequences leaving). If the sampler goes away the step in flight fails with UNAVAILABLE instead of
// hanging, and the next step opens a new stream (to a restarted sampler).
import type { EngineSampler, SampleInput, SampleResult } from "@llm/engine";
import { isErrorCode, LlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import {
  type MessageInitShape,
  type SampleRequestSchema,
  type SampleResponse,
  SamplerService,
  type SamplingParams,
  type SequenceStartSchema,
} from "@llm/proto";
import { type BidiCall, createClient, type ServiceClient } from "@llm/rpc";
import { randomSeed64 } from "@llm/sampling";

/** Far above any real step (batch 32 over loopback takes ~0.2 s on a loaded 2-core box). */
const DEFAULT_STEP_TIMEOUT_MS = 30_000;

type SampleRequestInit = MessageInitShape<typeof SampleRequestSchema>;
type SequenceStartInit = MessageInitShape<typeof SequenceStartSchema>;

/** A sequence as the sampler knows it: its id on the wire and the stream holding its state (once sent). */
interface RemoteSequence {
  start: SequenceStartInit & { sequenceId: bigint };
  stream: SampleStream | undefined;
}

export class RemoteSampler implements EngineSampler<SamplingParams> {
  private readonly client: ServiceClient<typeof SamplerService>;
  private readonly sequences = new Map<string, RemoteSequence>();
  private stream: SampleStream | undefined;
  private nextId = 1n;
  /** Sent with the next step: the sampler learns about joins and leaves in the same message as logits. */
  private opened: RemoteSequence[] = [];
  private closed: bigint[] = [];

  constructor(
    readonly address: string,
    private readonly log: Log,
    /** A step not answered by then fails with UNAVAILABLE (a hung sampler must not stall the engine forever). */
    private readonly stepTimeoutMs = DEFAULT_STEP_TIMEOUT_MS,
    /** The W3C context of the request a sequence serves, sent along so the sampler's span joins its trace. */
    private readonly traceContextOf: (seqId: string) => Record<string, string> = () => ({}),
  ) {
    this.client = createClient(SamplerService, address);
  }

  open(seqId: string, params: SamplingParams, promptIds: readonly number[], outputIds: readonly number[] = []): void {
    // The seed is fixed here, so a sequence's tokens do not depend on which sampler process serves it.
    const seed = params.seed ?? randomSeed64();
    const start = {
      sequenceId: this.nextId++,
      params,
      seed,
      promptTokenIds: [...promptIds],
      outputTokenIds: [...outputIds],
      traceContext: this.traceContextOf(seqId),
    };
    const sequence = { start, stream: undefined };
    this.sequences.set(seqId, sequence);
    this.opened.push(sequence);
  }

  close(seqId: string): void {
    const sequence = this.sequences.get(seqId);
    if (!sequence) return;
    this.sequences.delete(seqId);
    if (sequence.stream === undefined) {
      this.opened = this.opened.filter((pending) => pending !== sequence);
    } else if (sequence.stream === this.stream) {
      this.closed.push(sequence.start.sequenceId);
    }
  }

  /** One engine step (the engine awaits each before the next). */
  async sample(batch: readonly SampleInput[]): Promise<SampleResult[]> {
    const stream = this.connected();
    const results: (SampleResult | undefined)[] = batch.map(({ seqId }) => this.lostState(seqId, stream));
    const steps = batch.flatMap(({ seqId, logits }, i) =>
      results[i] ? [] : [{ sequenceId: this.idOf(seqId), logits: bytesOf(logits) }],
    );
    const request: SampleRequestInit = { opened: this.opened.map(({ start }) => start), steps, closed: this.closed };
    for (const sequence of this.opened) sequence.stream = stream;
    this.opened = [];
    this.closed = [];
    if (steps.length === 0) {
      stream.send(request); // no steps, no response (sampler.proto)
      return results as SampleResult[];
    }
    try {
      const response = await stream.exchange(request);
      let next = 0;
      return results.map((result) => result ?? resultOf(response, next++));
    } catch (err) {
      const error = err instanceof LlmError ? err : new LlmError("unavailable", String(err), { cause: err });
      return results.map((result) => result ?? { error });
    }
  }

  /** Ends the stream and the channel. */
  shutdown(): void {
    this.stream?.end();
    this.client.close();
  }

  private connected(): SampleStream {
    if (this.stream?.alive) return this.stream;
    if (this.stream) this.log({ level: "warn", msg: "sampler stream lost; reconnecting", sampler: this.address });
    this.stream = new SampleStream(this.client.sample(), this.address, this.stepTimeoutMs);
    this.closed = []; // the old stream's state is gone with it
    return this.stream;
  }

  /** A sequence whose state lived on a stream that has since died cannot be sampled faithfully any more. */
  private lostState(seqId: string, current: SampleStream): SampleResult | undefined {
    const sequence = this.sequences.get(seqId);
    if (!sequence) {
      return { error: new LlmError("internal", `sequence ${seqId} was sampled without being opened`) };
    }
    if (sequence.stream === undefined || sequence.stream === current) return undefined;
    return {
      error: new LlmError(
        "unavailable",
        `the sampler at ${this.address} lost this request's sampling state (its stream failed or it restarted); retry the request`,
      ),
    };
  }

  private idOf(seqId: string): bigint {
    return (this.sequences.get(seqId) as RemoteSequence).start.sequenceId;
  }
}

/**
 * One Sample call: send a step, read its one response. The next response is always being awaited, so a
 * stream that ends or fails while the runner is idle (a sampler restart) is noticed before the next step
 * is sent on it.
 */
class SampleStream {
  alive = true;
  private readonly responses: AsyncIterator<SampleResponse>;
  private next: Promise<IteratorResult<SampleResponse>>;

  constructor(
    private readonly call: BidiCall<SampleRequestInit, SampleResponse>,
    private readonly address: string,
    private readonly timeoutMs: number,
  ) {
    this.responses = call[Symbol.asyncIterator]();
    this.next = this.awaitResponse();
  }

  send(request: SampleRequestInit): void {
    this.call.send(request);
  }

  async exchange(request: SampleRequestInit): Promise<SampleResponse> {
    this.call.send(request);
    try {
      const result = await withTimeout(this.next, this.timeoutMs);
      if (result.done) throw new Error("the sampler ended the stream (it is shutting down)");
      this.next = this.awaitResponse();
      return result.value;
    } catch (err) {
      this.alive = false;
      this.call.cancel();
      throw new LlmError(
        "unavailable",
        `the sampler at ${this.address} failed during a step (${(err as Error).message}); retry the request`,
        { cause: err },
      );
    }
  }

  end(): void {
    this.alive = false;
    this.call.end();
  }

  private awaitResponse(): Promise<IteratorResult<SampleResponse>> {
    const next = this.responses.next();
    next.then(
      (result) => {
        if (result.done) this.alive = false;
      },
      () => {
        this.alive = false;
      },
    );
    return next;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function resultOf(response: SampleResponse, index: number): SampleResult {
  const token = response.tokens[index];
  if (!token)
    return {
      error: new LlmError(
        "internal",
        `the sampler answered ${response.tokens.length} tokens, fewer than the step's sequences`,
      ),
    };
  if (token.error) {
    const code = isErrorCode(token.error.code) ? token.error.code : "internal";
    return { error: new LlmError(code, token.error.message) };
  }
  return { tokenId: token.tokenId, logprob: token.logprob, topLogprobs: token.topLogprobs };
}

/** The logits' float32 bytes (little-endian on every host ONNX Runtime runs on here), without a copy. */
function bytesOf(logits: Float32Array): Uint8Array {
  return new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength);
}
