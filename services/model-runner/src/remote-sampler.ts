// The engine's Sampler over a remote SamplerService: one long-lived bidi stream per runner and one message
// per engine step for the whole batch (sequences joining, every sequence's logits, sequences leaving). The
// logits go the lightest way the stream allows (StepEncoder): through a shared-memory ring when the sampler is
// co-located and could open it, else as candidates only or full rows in the model's dtype. If the sampler goes
// away the step in flight fails with UNAVAILABLE instead of hanging, and the next step opens a new stream (to
// a restarted sampler).
import type { EngineSampler, OpenedSequence, SampleInput, SampleResult } from "@llm/engine";
import { isErrorCode, LlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import { RingWriter } from "@llm/logits-ring";
import {
  type MessageInitShape,
  type SampleRequestSchema,
  type SampleResponse,
  SamplerService,
  type SamplingParams,
  type SequenceStartSchema,
} from "@llm/proto";
import { type BidiCall, createClient, type ServiceClient } from "@llm/rpc";
import { type GrammarVocabulary, isConstrained, type PruneSpec, randomSeed64 } from "@llm/sampling";
import { RemoteConstraints } from "./remote-constraints.js";
import { StepEncoder } from "./step-encoder.js";

/** Far above any real step (batch 32 over loopback takes ~0.2 s on a loaded 2-core box). */
const DEFAULT_STEP_TIMEOUT_MS = 30_000;
/** A sampler that predates the ring never answers the offer: give up on the ring after this long. */
const RING_OFFER_TIMEOUT_MS = 5_000;
/** The runner's receive window: responses are small, but one full of top_logprobs need not wait for updates. */
const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 ** 2;

/** How logits travel; every part is optional and falls back to plain messages. */
export interface SamplerTransport {
  /** Directory both processes reach (/dev/shm, a pod's memory-backed volume) for the ring; unset: no ring. */
  ringDir?: string;
  /** Data bytes per ring slot: the largest step that goes through the ring (max batch × vocab × 4). */
  ringSlotBytes?: number;
  /** Send only the candidates where the sampler declared a bound (default true). */
  prune?: boolean;
}

type SampleRequestInit = MessageInitShape<typeof SampleRequestSchema>;
type SequenceStartInit = MessageInitShape<typeof SequenceStartSchema>;

/** A sequence as the sampler knows it: its id on the wire and the stream holding its state (once sent). */
interface RemoteSequence {
  start: SequenceStartInit & { sequenceId: bigint };
  stream: SampleStream | undefined;
  /** The candidate bound the sampler declared with the sequence's first token, if any. */
  bound: PruneSpec | undefined;
}

export class RemoteSampler implements EngineSampler<SamplingParams> {
  private readonly client: ServiceClient<typeof SamplerService>;
  private readonly constraints: RemoteConstraints;
  private readonly sequences = new Map<string, RemoteSequence>();
  /** The same sequences by their id on the wire. */
  private readonly byWireId = new Map<bigint, RemoteSequence>();
  private stream: SampleStream | undefined;
  private nextId = 1n;
  /** Sent with the next step: the sampler learns about joins and leaves in the same message as logits. */
  private opened: RemoteSequence[] = [];
  private closed: bigint[] = [];
  private readonly encoder: StepEncoder;
  /** Cleared once a ring offer failed in a way that will not change (no such directory, an older sampler). */
  private offerRing: boolean;

  constructor(
    readonly address: string,
    private readonly log: Log,
    /** A step not answered by then fails with UNAVAILABLE (a hung sampler must not stall the engine forever). */
    private readonly stepTimeoutMs = DEFAULT_STEP_TIMEOUT_MS,
    /** The W3C context of the request a sequence serves, sent along so the sampler's span joins its trace. */
    private readonly traceContextOf: (seqId: string) => Record<string, string> = () => ({}),
    private readonly transport: SamplerTransport = {},
    /** The runner's vocabulary, which constraints are compiled against on the sampler; unset: none served. */
    vocabulary?: GrammarVocabulary,
  ) {
    this.client = createClient(SamplerService, address, {
      "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW_BYTES,
    });
    this.constraints = new RemoteConstraints(this.client, vocabulary);
    this.encoder = new StepEncoder(transport.prune ?? true);
    this.offerRing = transport.ringDir !== undefined && (transport.ringSlotBytes ?? 0) > 0;
  }

  async open(
    seqId: string,
    params: SamplingParams,
    promptIds: readonly number[],
    outputIds: readonly number[] = [],
  ): Promise<OpenedSequence> {
    const vocabularyId = isConstrained(params.constraint) ? await this.constraints.prepare(params) : "";
    // The seed is fixed here, so a sequence's tokens do not depend on which sampler process serves it.
    const seed = params.seed ?? randomSeed64();
    const start = {
      sequenceId: this.nextId++,
      params,
      seed,
      promptTokenIds: [...promptIds],
      outputTokenIds: [...outputIds],
      traceContext: this.traceContextOf(seqId),
      vocabularyId,
    };
    const sequence = { start, stream: undefined, bound: undefined };
    this.sequences.set(seqId, sequence);
    this.byWireId.set(start.sequenceId, sequence);
    this.opened.push(sequence);
    // The sampler verifies proposals for any sequence but a constrained one (its masks follow one token at a time).
    return { verifies: !isConstrained(params.constraint) };
  }

  close(seqId: string): void {
    const sequence = this.sequences.get(seqId);
    if (!sequence) return;
    this.sequences.delete(seqId);
    this.byWireId.delete(sequence.start.sequenceId);
    if (sequence.stream === undefined) {
      this.opened = this.opened.filter((pending) => pending !== sequence);
    } else if (sequence.stream === this.stream) {
      this.closed.push(sequence.start.sequenceId);
    }
  }

  /** One engine step (the engine awaits each before the next). */
  async sample(batch: readonly SampleInput[]): Promise<SampleResult[]> {
    const stream = await this.connected();
    const results: (SampleResult | undefined)[] = batch.map(({ seqId }) => this.lostState(seqId, stream));
    const rows = batch.flatMap((input, i) => {
      const sequence = this.sequences.get(input.seqId) as RemoteSequence;
      return results[i] ? [] : [{ sequenceId: sequence.start.sequenceId, input, bound: sequence.bound }];
    });
    const steps = this.encoder.encode(rows, stream.ring);
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
      this.learnBounds(response);
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

  private async connected(): Promise<SampleStream> {
    if (this.stream?.alive) return this.stream;
    if (this.stream) this.log({ level: "warn", msg: "sampler stream lost; reconnecting", sampler: this.address });
    this.stream = new SampleStream(this.client.sample(), this.address, this.stepTimeoutMs);
    this.closed = []; // the old stream's state is gone with it
    if (!this.offerRing) return this.stream;
    const offeredOn = this.stream;
    await this.attachRing(offeredOn);
    // An unanswered offer spent the stream and turned the ring off: the next stream goes without. (A stream the
    // sampler broke meanwhile is returned as it is: its step fails with UNAVAILABLE, as any step would.)
    return offeredOn.alive || this.offerRing ? offeredOn : this.connected();
  }

  /** Offers the stream a ring; on any refusal logs why and leaves the stream on plain messages. */
  private async attachRing(stream: SampleStream): Promise<void> {
    const { ringDir = "", ringSlotBytes = 0 } = this.transport;
    let ring: RingWriter;
    try {
      ring = new RingWriter(ringDir, { slots: 2, slotBytes: ringSlotBytes });
    } catch (err) {
      this.offerRing = false;
      return this.fallBack(`cannot create a ring file in ${ringDir}: ${(err as Error).message}`);
    }
    try {
      const answer = await stream.offer(ring, RING_OFFER_TIMEOUT_MS);
      if (answer.attached) {
        this.log({ level: "info", msg: "sampler reads logits from shared memory", ring: ring.path });
        return;
      }
      this.fallBack(`the sampler cannot read ${ring.path}: ${answer.reason}`);
    } catch (err) {
      ring.close();
      if (stream.alive) {
        // An older sampler ignores the offer (no answer): this stream is spent, and later ones go without.
        this.offerRing = false;
        stream.end();
      }
      this.fallBack(`the sampler did not answer the ring offer (${(err as Error).message})`);
    } finally {
      ring.unlink(); // the open descriptors keep it alive; nothing is left behind if either process dies
    }
  }

  private fallBack(reason: string): void {
    this.log({ level: "warn", msg: "sampler logits go over the network", reason, sampler: this.address });
  }

  /** A sequence's first token carries its strategy's candidate bound, if the strategy declared one. */
  private learnBounds(response: SampleResponse): void {
    for (const token of response.tokens) {
      const bound = token.candidateBound;
      if (!bound) continue;
      const sequence = this.byWireId.get(token.sequenceId);
      if (sequence) sequence.bound = bound;
    }
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
}

/**
 * One Sample call: send a step, read its one response. The next response is always being awaited, so a
 * stream that ends or fails while the runner is idle (a sampler restart) is noticed before the next step
 * is sent on it.
 */
class SampleStream {
  alive = true;
  /** The ring the sampler attached for this stream; its rows go there. */
  ring: RingWriter | undefined;
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

  /** Offers `ring`; keeps it when the sampler attached it. */
  async offer(ring: RingWriter, timeoutMs: number): Promise<{ attached: boolean; reason: string }> {
    this.call.send({ ringOffer: { path: ring.path, nonce: ring.nonce } });
    const result = await withTimeout(this.next, timeoutMs);
    if (result.done) throw new Error("the sampler ended the stream");
    this.next = this.awaitResponse();
    const answer = result.value.ring ?? { attached: false, reason: "no answer to the offer" };
    if (answer.attached) this.ring = ring;
    else ring.close();
    return answer;
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
      this.dead();
      this.call.cancel();
      throw new LlmError(
        "unavailable",
        `the sampler at ${this.address} failed during a step (${(err as Error).message}); retry the request`,
        { cause: err },
      );
    }
  }

  end(): void {
    this.dead();
    this.call.end();
  }

  private dead(): void {
    this.alive = false;
    this.ring?.close();
    this.ring = undefined;
  }

  private awaitResponse(): Promise<IteratorResult<SampleResponse>> {
    const next = this.responses.next();
    next.then(
      (result) => {
        if (result.done) this.dead();
      },
      () => this.dead(),
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
  const accepted = token.accepted.map(({ tokenId, logprob, topLogprobs }) => ({ tokenId, logprob, topLogprobs }));
  return { tokenId: token.tokenId, logprob: token.logprob, topLogprobs: token.topLogprobs, accepted };
}
