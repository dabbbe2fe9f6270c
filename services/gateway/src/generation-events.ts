// What a generation yields, whichever API carries it: GenerateResponse's two events with every field present.
import type { FinishReason, MessageInitShape, TokenLogprobsSchema, Usage } from "@llm/proto";
import type { ToolCallPiece, WholeToolCall } from "./tools/tool-call-parser.js";

export type UsageInit = Pick<
  Usage,
  "promptTokens" | "completionTokens" | "cachedPromptTokens" | "proposedTokens" | "acceptedTokens"
>;

/** GenerateResponse's two events, with every field present (the unary call collects them). */
export interface GenerationDelta {
  text: string;
  tokenIds: number[];
  logprobs: MessageInitShape<typeof TokenLogprobsSchema>[];
  /**
   * The text of each logprobs entry's token and then its alternatives, flattened in that order (from the
   * detokenizer, for the HTTP API's logprobs; not part of the gRPC message).
   */
  tokenTexts: string[];
  /** Chat with tools: pieces of the calls the model writes (their text is not in `text`). */
  toolCalls: ToolCallPiece[];
}
export interface GenerationFinal {
  finishReason: FinishReason;
  usage: UsageInit;
  matchedStop: string;
  requestId: string;
  /** Chat with tools: every call, whole. */
  toolCalls: WholeToolCall[];
}
export type ResponseEvent =
  | { event: { case: "delta"; value: GenerationDelta & { index: number } } }
  | { event: { case: "final"; value: GenerationFinal } };
