// gRPC handler of llm.v1.DetokenizerService: one incremental Detokenizer per stream, over the model's tokenizer.
import { Detokenizer, type DetokenizeStep } from "@llm/detokenize";
import { LlmError } from "@llm/errors";
import type { DecodeStreamRequest, DecodeStreamResponse, DetokenizerService } from "@llm/proto";
import type { ServiceImpl } from "@llm/rpc";
import type { TokenizerCatalog } from "@llm/tokenizer";

type Response = Pick<DecodeStreamResponse, "text" | "matchedStop" | "finished">;

export function detokenizerService(catalog: TokenizerCatalog): ServiceImpl<typeof DetokenizerService> {
  return {
    async *decodeStream(requests) {
      let detokenizer: Detokenizer | undefined;
      for await (const request of requests) {
        if (detokenizer === undefined) {
          detokenizer = await open(catalog, request);
          if (request.tokenIds.length === 0) continue; // The opening message is answered only if it has ids.
        } else if (request.start !== undefined) {
          throw new LlmError("invalid_argument", "`start` belongs on the first message of a decode stream only", {
            details: { field: "start" },
          });
        }
        const response = responseOf(detokenizer.push(request.tokenIds), false);
        yield response;
        if (response.finished) return; // A stop sequence matched: nothing may follow it.
      }
      // Half-closed: whatever was held back (an unfinished character, a possible stop prefix) goes out now.
      if (detokenizer !== undefined) yield responseOf(detokenizer.flush(), true);
    },
  };
}

async function open(catalog: TokenizerCatalog, first: DecodeStreamRequest): Promise<Detokenizer> {
  if (first.start === undefined) {
    throw new LlmError(
      "invalid_argument",
      "the first message of a decode stream must carry `start` (model, stop sequences, skip_special_tokens)",
      { details: { field: "start" } },
    );
  }
  const { model, stop, skipSpecialTokens } = first.start;
  const tokenizer = await catalog.get(model);
  return new Detokenizer(tokenizer, { stop, skipSpecialTokens });
}

function responseOf(step: DetokenizeStep, flushed: boolean): Response {
  return {
    text: step.text,
    matchedStop: step.stopped?.sequence ?? "",
    finished: flushed || step.stopped !== undefined,
  };
}
