import { ensureModel } from "@llm/model-pack";
import { type DecodeStreamResponse, DetokenizerService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { llmFailure, type RunningService, startService } from "@llm/testing";
import { Tokenizer } from "@llm/tokenizer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ENTRY = "services/detokenizer/src/main.ts";
const EMOJI_CJK = "家族 👩‍👩‍👧‍👦 が 🇯🇵 に住んでいます。😀👍🏽 中文字符测试，한국어 텍스트 🎉🎊";

let service: RunningService;
let client: ServiceClient<typeof DetokenizerService>;
let tokenizer: Tokenizer;

beforeAll(async () => {
  const model = await ensureModel("tiny");
  tokenizer = await Tokenizer.fromFile(model.dir);
  service = await startService(ENTRY, { name: "detokenizer", env: { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: "tiny" } });
  client = createClient(DetokenizerService, service.address);
});

afterAll(async () => {
  client?.close();
  const exit = await service?.stop();
  expect(exit?.code).toBe(0); // SIGTERM drains and exits cleanly
});

type Message = Parameters<ReturnType<typeof client.decodeStream>["send"]>[0];

/** Sends `messages` on one stream, half-closes it, and collects every response. */
async function exchange(messages: Message[]): Promise<DecodeStreamResponse[]> {
  const call = client.decodeStream();
  for (const message of messages) call.send(message);
  call.end();
  const responses: DecodeStreamResponse[] = [];
  for await (const response of call) responses.push(response);
  return responses;
}

/** A stream that opens with `start` (model "tiny" unless given) and sends each batch of ids in its own message. */
function decodeStream(
  start: { model?: string; stop?: string[]; skipSpecialTokens?: boolean },
  batches: number[][],
): Promise<DecodeStreamResponse[]> {
  return exchange([{ start: { model: "tiny", ...start } }, ...batches.map((tokenIds) => ({ tokenIds }))]);
}

const oneByOne = (ids: ArrayLike<number>) => Array.from(ids, (id) => [id]);
const textOf = (responses: DecodeStreamResponse[]) => responses.map((r) => r.text).join("");

describe("detokenizer service", () => {
  it("streams emoji/CJK-heavy ids one by one into exactly decode(all ids), with no U+FFFD mid-stream", async () => {
    const ids = tokenizer.encode(EMOJI_CJK);
    // The sample must really split characters across tokens, or it proves nothing.
    expect(Array.from(ids).some((id) => tokenizer.decode([id]).includes("\uFFFD"))).toBe(true);
    const responses = await decodeStream({}, oneByOne(ids));
    expect(responses).toHaveLength(ids.length + 1); // one per message, plus the flush
    expect(textOf(responses)).toBe(tokenizer.decode(ids));
    expect(textOf(responses)).toBe(EMOJI_CJK);
    for (const response of responses) expect(response.text).not.toContain("\uFFFD");
    expect(responses.map((r) => r.finished)).toEqual([...Array(ids.length).fill(false), true]);
  });

  it("flushes an unfinished character as U+FFFD only at the end, as a one-shot decode does", async () => {
    const ids = Array.from(tokenizer.encode("ok 👍"));
    const cut = ids.slice(0, -1); // the emoji's last byte(s) never arrive
    const responses = await decodeStream({}, oneByOne(cut));
    expect(textOf(responses)).toBe(tokenizer.decode(cut));
    expect(responses.slice(0, -1).every((r) => !r.text.includes("\uFFFD"))).toBe(true);
    expect(responses.at(-1)?.text).toContain("\uFFFD");
  });

  it("honours a stop sequence split across tokens: text before it, nothing after, and the match reported", async () => {
    const text = "The quick brown fox jumps over the lazy dog. 東京タワー is tall.";
    const ids = Array.from(tokenizer.encode(text));
    const stops = ["wn fo", "京タ"]; // each spans a token boundary
    for (const stop of stops) {
      expect(ids.some((id) => tokenizer.decode([id]).includes(stop))).toBe(false);
      const responses = await decodeStream({ stop: [stop, "never appears"] }, oneByOne(ids));
      const last = responses.at(-1);
      expect(last).toMatchObject({ finished: true, matchedStop: stop });
      expect(textOf(responses)).toBe(text.slice(0, text.indexOf(stop)));
      // The stream ends at the match: fewer responses than messages sent.
      expect(responses.length).toBeLessThan(ids.length);
      expect(responses.filter((r) => r.finished)).toHaveLength(1);
    }
  });

  it("gives the same text however the ids are batched", async () => {
    const ids = Array.from(tokenizer.encode(`${EMOJI_CJK} end`));
    const batches = [ids.slice(0, 3), ids.slice(3, 4), ids.slice(4, 17), ids.slice(17)];
    const responses = await decodeStream({ stop: [" end"] }, batches);
    expect(textOf(responses)).toBe(EMOJI_CJK);
    expect(responses.at(-1)).toMatchObject({ finished: true, matchedStop: " end" });
  });

  it("skips special tokens only when asked", async () => {
    const ids = [...tokenizer.encode("Hello"), tokenizer.eosTokenId ?? 50256, ...tokenizer.encode(" world")];
    expect(textOf(await decodeStream({ skipSpecialTokens: true }, oneByOne(ids)))).toBe("Hello world");
    expect(textOf(await decodeStream({ skipSpecialTokens: false }, oneByOne(ids)))).toBe("Hello<|endoftext|> world");
  });

  it("returns each named id's own text (special tokens included, a split character as U+FFFD) beside the stream's", async () => {
    const ids = Array.from(tokenizer.encode(EMOJI_CJK));
    const lone = [tokenizer.eosTokenId ?? 50256, ...ids.slice(0, 6)];
    const responses = await exchange([
      { start: { model: "tiny", skipSpecialTokens: true } },
      ...ids.map((id, i) => ({ tokenIds: [id], tokenTextIds: i === 0 ? lone : [id] })),
    ]);
    expect(responses[0].tokenTexts).toEqual(lone.map((id) => tokenizer.decode([id], { skipSpecialTokens: false })));
    expect(responses[0].tokenTexts[0]).toBe("<|endoftext|>");
    expect(responses.slice(1, ids.length).map((r) => r.tokenTexts)).toEqual(
      ids.slice(1).map((id) => [tokenizer.decode([id], { skipSpecialTokens: false })]),
    );
    expect(responses.some((r) => r.tokenTexts.some((text) => text.includes("\uFFFD")))).toBe(true); // split characters
    expect(textOf(responses)).toBe(tokenizer.decode(ids)); // the stream's own text is unchanged
  });

  it("rejects bad streams with an actionable status and keeps serving", async () => {
    const unknown = await llmFailure(decodeStream({ model: "no-such-model" }, [[1]]));
    expect(unknown.code).toBe("not_found");
    expect(unknown.message).toContain("no-such-model");

    const emptyStop = await llmFailure(decodeStream({ stop: ["ok", ""] }, [[1]]));
    expect(emptyStop.code).toBe("invalid_argument");
    expect(emptyStop.message).toMatch(/stop sequence 1 is empty/);

    const tooMany = await llmFailure(decodeStream({ stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }, [[1]]));
    expect(tooMany.code).toBe("invalid_argument");
    expect(tooMany.message).toMatch(/too many stop sequences/);

    const badId = await llmFailure(decodeStream({}, [[1, tokenizer.vocabSize + 7]]));
    expect(badId.code).toBe("invalid_argument");
    expect(badId.message).toContain(String(tokenizer.vocabSize + 7));

    const missingStart = await llmFailure(exchange([{ tokenIds: [1, 2] }]));
    expect(missingStart.code).toBe("invalid_argument");
    expect(missingStart.message).toContain("start");

    const secondStart = await llmFailure(exchange([{ start: { model: "tiny" } }, { start: { model: "tiny" } }]));
    expect(secondStart.code).toBe("invalid_argument");

    // Still serving, and correct.
    const ids = tokenizer.encode("still here ✓");
    expect(textOf(await decodeStream({}, oneByOne(ids)))).toBe("still here ✓");
  });

  it("serves concurrent streams independently", async () => {
    const texts = ["first 🍣 stream", "second 日本 stream", "third ☃ stream"];
    const results = await Promise.all(texts.map((t) => decodeStream({}, oneByOne(tokenizer.encode(t)))));
    expect(results.map(textOf)).toEqual(texts);
  });
});
