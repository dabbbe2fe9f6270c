// The entries of a request's Redis Stream: the admitted public request and its owner first (entry id 0-1, written
// by the gateway), then the runner's events (token events with their index, then one final), or an error. An
// embedding request's stream holds the request (its admission entry), then the embedder's one response, or an error.
import { LlmError } from "@llm/errors";
import {
  create,
  type EmbedRequest,
  EmbedRequestSchema,
  type EmbedResponse,
  EmbedResponseSchema,
  fromBinary,
  type GenerateRequest,
  GenerateRequestSchema,
  type MessageInitShape,
  type ModelRunnerServiceGenerateResponse,
  ModelRunnerServiceGenerateResponseSchema,
  toBinary,
} from "@llm/proto";

export type EmbedResponseInit = MessageInitShape<typeof EmbedResponseSchema>;
export type RunnerEventInit = MessageInitShape<typeof ModelRunnerServiceGenerateResponseSchema>;

/** Field names (one field per entry; the admission entry adds its owner). */
export const FIELD = { request: "g", owner: "o", event: "e", error: "x", embedRequest: "q", embedding: "m" } as const;

/** The id of the admission entry: an XADD with it fails when the stream exists, so ids stay unique cluster-wide. */
export const ADMISSION_ID = "0-1";

export type StreamEntry =
  | { kind: "request"; request: GenerateRequest; owner: string }
  | { kind: "event"; event: ModelRunnerServiceGenerateResponse }
  | { kind: "error"; error: LlmError }
  | { kind: "embed-request"; request: EmbedRequest }
  | { kind: "embedding"; response: EmbedResponse };

/** The encoded bytes as a Buffer over the same memory (no copy). */
const bufferOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function encodeRequest(request: GenerateRequest): Buffer {
  return bufferOf(toBinary(GenerateRequestSchema, request));
}

export function encodeEvent(event: ModelRunnerServiceGenerateResponse): Buffer {
  return bufferOf(toBinary(ModelRunnerServiceGenerateResponseSchema, event));
}

export function eventOf(init: RunnerEventInit): ModelRunnerServiceGenerateResponse {
  return create(ModelRunnerServiceGenerateResponseSchema, init);
}

export function encodeEmbedRequest(request: EmbedRequest): Buffer {
  return bufferOf(toBinary(EmbedRequestSchema, request));
}

export function encodeEmbedding(response: EmbedResponseInit): Buffer {
  return bufferOf(toBinary(EmbedResponseSchema, create(EmbedResponseSchema, response)));
}

export function encodeError(error: LlmError): Buffer {
  return Buffer.from(JSON.stringify(error.toJSON()));
}

/** One entry's fields as XREAD returns them: [name, value]. */
export function decodeEntry(fields: Buffer[]): StreamEntry {
  const name = fields[0]?.toString();
  const value = fields[1] ?? Buffer.alloc(0);
  if (name === FIELD.event)
    return { kind: "event", event: fromBinary(ModelRunnerServiceGenerateResponseSchema, value) };
  if (name === FIELD.request) {
    const owner = fields[2]?.toString() === FIELD.owner ? (fields[3]?.toString() ?? "") : "";
    return { kind: "request", request: fromBinary(GenerateRequestSchema, value), owner };
  }
  if (name === FIELD.embedding) return { kind: "embedding", response: fromBinary(EmbedResponseSchema, value) };
  if (name === FIELD.embedRequest) return { kind: "embed-request", request: fromBinary(EmbedRequestSchema, value) };
  if (name === FIELD.error) {
    const { code, message, details, retryAfterMs } = JSON.parse(value.toString());
    return { kind: "error", error: new LlmError(code, message, { details, retryAfterMs }) };
  }
  throw new LlmError("internal", `unexpected field "${name}" in a token stream`);
}
