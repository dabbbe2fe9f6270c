// gRPC handler of llm.v1.DetokenizerService: one incremental Detokenizer per stream, over the model's tokenizer.
import { Detokenizer, type DetokenizeStep } from "@llm/detokenize";
import { LlmError } from "@llm/errors";
import type { DecodeStreamRequest, DecodeStreamResponse, DetokenizerService } from "@llm/proto";
import type { ServiceImpl } from "@llm/rpc";
import type { Tokenizer, TokenizerCatalog } from "@llm/tokenizer";

type Response = Pick<DecodeStreamResponse, "text" | "matchedStop" | "finished" | "tokenTexts">;

export function detokenizerService(catalog: TokenizerCatalog): ServiceImpl<typeof DetokenizerService> {
  return {
    async *decodeStream(requests) {
      let opened: { tokenizer: Tokenizer; detokenizer: Detokenizer } | undefined;
      for await (const request of requests) {
        if (opened === undefined) {
          opened = await open(catalog, request);
          if (request.tokenIds.length === 0 && request.tokenTextIds.length === 0) continue; // answered only with ids
        } else if (request.start !== undefined) {
          throw new LlmError("invalid_argument", "`start` belongs on the first message of a decode stream only", {
            details: { field: "start" },
          });
        }
        const { tokenizer, detokenizer } = opened;
        const response = responseOf(
          detokenizer.push(request.tokenIds),
          false,
          textsOf(tokenizer, request.tokenTextIds),
        );
        yield response;
        if (response.finished) return; // A stop sequence matched: nothing may follow it.
      }
      // Half-closed: whatever was held back (an unfinished character, a possible stop prefix) goes out now.
      if (opened !== undefined) yield responseOf(opened.detokenizer.flush(), true, []);
    },
  };
}

async function open(
  catalog: TokenizerCatalog,
  first: DecodeStreamRequest,
): Promise<{ tokenizer: Tokenizer; detokenizer: Detokenizer }> {
  if (first.start === undefined) {
    throw new LlmError(
      "invalid_argument",
      "the first message of a decode stream must carry `start` (model, stop sequences, skip_special_tokens)",
      { details: { field: "start" } },
    );
  }
  const { model, stop, skipSpecialTokens } = first.start;
  const tokenizer = await catalog.get(model);
  return { tokenizer, detokenizer: new Detokenizer(tokenizer, { stop, skipSpecialTokens }) };
}

/** Each id's own text, for logprobs: decoded alone, special tokens included. */
function textsOf(tokenizer: Tokenizer, ids: readonly number[]): string[] {
  return ids.map((id) => tokenizer.decode([id], { skipSpecialTokens: false }));
}

function responseOf(step: DetokenizeStep, flushed: boolean, tokenTexts: string[]): Response {
  return {
    text: step.text,
    tokenTexts,
    matchedStop: step.stopped?.sequence ?? "",
    finished: flushed || step.stopped !== undefined,
  };
}
