// One streamed generation through the gateway, with the arrival time of every delta measured at the client.
import { LlmError } from "@llm/errors";
import {
  FinishReason,
  type GenerateRequest,
  type GenerateRequestSchema,
  GenerationService,
  type MessageInitShape,
  type Usage,
} from "@llm/proto";
import { createClient } from "@llm/rpc";

export type GenerateInput = MessageInitShape<typeof GenerateRequestSchema>;

export interface TokenArrival {
  /** Milliseconds since the request was sent. */
  atMs: number;
  /** Tokens that arrived together in this delta (a character split over tokens is held back until whole). */
  tokens: number;
}

export interface GenerationResult {
  text: string;
  tokenIds: number[];
  finishReason: string;
  matchedStop: string;
  requestId: string;
  usage: { promptTokens: number; completionTokens: number; cachedPromptTokens: number };
  arrivals: TokenArrival[];
  totalMs: number;
}

export interface GenerateOptions {
  /** gateway host:port */
  gateway: string;
  /** Called with each text delta as it arrives (streaming output). */
  onText?: (text: string) => void;
  signal?: AbortSignal;
  deadlineMs?: number;
}

export async function generate(request: GenerateInput, options: GenerateOptions): Promise<GenerationResult> {
  const client = createClient(GenerationService, options.gateway);
  const started = performance.now();
  const result: GenerationResult = {
    text: "",
    tokenIds: [],
    finishReason: "",
    matchedStop: "",
    requestId: "",
    usage: { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 },
    arrivals: [],
    totalMs: 0,
  };
  try {
    const deadline = options.deadlineMs === undefined ? undefined : Date.now() + options.deadlineMs;
    const stream = client.generate({ ...request, includeTokenIds: true } as GenerateRequest, {
      signal: options.signal,
      deadline,
    });
    for await (const { event } of stream) {
      if (event.case === "delta") {
        const { text, tokenIds } = event.value;
        result.text += text;
        result.tokenIds.push(...tokenIds);
        if (tokenIds.length > 0) result.arrivals.push({ atMs: performance.now() - started, tokens: tokenIds.length });
        if (text) options.onText?.(text);
      } else if (event.case === "final") {
        result.finishReason = finishReasonName(event.value.finishReason);
        result.matchedStop = event.value.matchedStop;
        result.requestId = event.value.requestId;
        result.usage = usageOf(event.value.usage);
      }
    }
    if (!result.finishReason) throw new LlmError("unavailable", "the gateway ended the stream without a final message");
    return result;
  } finally {
    result.totalMs = performance.now() - started;
    client.close();
  }
}

function usageOf(usage: Usage | undefined): GenerationResult["usage"] {
  return {
    promptTokens: usage?.promptTokens ?? 0,
    completionTokens: usage?.completionTokens ?? 0,
    cachedPromptTokens: usage?.cachedPromptTokens ?? 0,
  };
}

/** `FINISH_REASON_LENGTH` → "length", as OpenAI-style clients name them. */
export function finishReasonName(reason: FinishReason): string {
  return (FinishReason[reason] ?? "unspecified").replace(/^FINISH_REASON_/, "").toLowerCase();
}
