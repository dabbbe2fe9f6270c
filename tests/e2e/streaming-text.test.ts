// Streamed text through the whole pipeline when the output is emoji/CJK-heavy: logit bias steers the model to
// the byte-level tokens of such text, in whatever order it samples them, so characters land split across tokens.
import { ensureModel } from "@llm/model-pack";
import { FinishReason, type GenerateRequestSchema, GenerationService, type MessageInitShape } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { Tokenizer } from "@llm/tokenizer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "./pipeline.js";

type Request = MessageInitShape<typeof GenerateRequestSchema>;

const HEAVY = "東京は晴れ🚀👩🏽‍💻🇯🇵我们去公园散步❤️‍🔥한국어😀🎉";
/** Whole characters outside ASCII (random byte orders also make U+FFFD, which decode(all ids) has too). */
const WHOLE_NON_ASCII = /[^\p{ASCII}\uFFFD]/gu;

let pipeline: Pipeline;
let client: ServiceClient<typeof GenerationService>;
let tokenizer: Tokenizer;

beforeAll(async () => {
  const model = await ensureModel("tiny");
  tokenizer = await Tokenizer.fromFile(model.dir);
  pipeline = await startPipeline({ dir: model.dir, id: "tiny" });
  client = createClient(GenerationService, pipeline.gateway);
}, 180_000);

afterAll(async () => {
  client?.close();
  if (pipeline) expect(Object.values(await pipeline.stop())).toEqual([0, 0, 0, 0, 0]);
});

const decode = (ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });

/** Seeded sampling restricted (by +100 logit bias) to the tokens that spell HEAVY, mostly byte fragments. */
function heavyRequest(seed: number, stop: string[] = []): Request {
  const logitBias = Object.fromEntries(Array.from(tokenizer.encode(HEAVY), (id) => [id, 100]));
  return {
    prompt: { case: "text", value: "Emoji and CJK:" },
    maxTokens: 96,
    includeTokenIds: true,
    stop,
    sampling: { temperature: 1, seed: BigInt(seed), logitBias },
  };
}

interface Streamed {
  deltas: { text: string; tokenIds: number[] }[];
  text: string;
  ids: number[];
  finishReason: FinishReason | undefined;
  matchedStop: string;
}

async function stream(request: Request): Promise<Streamed> {
  const out: Streamed = { deltas: [], text: "", ids: [], finishReason: undefined, matchedStop: "" };
  for await (const { event } of client.generate(request)) {
    if (event.case === "delta") {
      out.deltas.push({ text: event.value.text, tokenIds: event.value.tokenIds });
      out.text += event.value.text;
      out.ids.push(...event.value.tokenIds);
    } else if (event.case === "final") {
      out.finishReason = event.value.finishReason;
      out.matchedStop = event.value.matchedStop;
    }
  }
  return out;
}

describe("streaming emoji/CJK-heavy text through the gateway", () => {
  it("streams exactly decode(all ids), holding back at most one unfinished character at any point", async () => {
    for (const seed of [1, 2, 3]) {
      const out = await stream(heavyRequest(seed));
      expect(out.finishReason).toBe(FinishReason.LENGTH);
      expect(out.ids).toHaveLength(96);
      expect(out.text).toBe(decode(out.ids));
      expect(out.text.match(WHOLE_NON_ASCII)?.length ?? 0, out.text).toBeGreaterThanOrEqual(5);
      // After each delta, the text so far is decode(ids so far) less, at most, the one character still incomplete.
      let text = "";
      let heldBack = 0;
      const ids: number[] = [];
      for (const delta of out.deltas) {
        text += delta.text;
        ids.push(...delta.tokenIds);
        const whole = decode(ids);
        expect(whole.startsWith(text), JSON.stringify({ whole, text })).toBe(true);
        expect(["", "\uFFFD"]).toContain(whole.slice(text.length));
        if (whole.length > text.length) heldBack++;
      }
      expect(heldBack, "characters split across tokens were held back until whole").toBeGreaterThan(0);
    }
  });

  it("honours a stop sequence whose characters are split across tokens: text before it, nothing after", async () => {
    const full = await stream(heavyRequest(4));
    const pieces = full.ids.map((id) => decode([id]));
    // Two adjacent non-ASCII characters from past the start of the output that no single token spells.
    const chars = [...full.text];
    const stop = chars
      .map((_, at) => chars.slice(at, at + 2).join(""))
      .find(
        (s, at) => at > 4 && [...s].length === 2 && !/[\p{ASCII}\uFFFD]/u.test(s) && !pieces.some((p) => p.includes(s)),
      );
    expect(stop, `no usable stop in ${JSON.stringify(full.text)}`).toBeDefined();
    const stopped = await stream(heavyRequest(4, ["never", stop as string]));
    expect(stopped.finishReason).toBe(FinishReason.STOP);
    expect(stopped.matchedStop).toBe(stop);
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop as string)));
    expect(stopped.ids).toEqual(full.ids.slice(0, stopped.ids.length)); // same seed, same tokens up to the stop
  });
});
