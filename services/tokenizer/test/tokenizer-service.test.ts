// The tokenizer service as a real child process, called over gRPC.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Client as GrpcClient, Metadata, status } from "@grpc/grpc-js";
import { ensureModel } from "@llm/model-pack";
import { TokenizerService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { llmFailure, type RunningService, startService } from "@llm/testing";
import { get_encoding } from "tiktoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ENTRY = "services/tokenizer/src/main.ts";
const SAMPLES = [
  "Hello, world! It's a test of the tokenizer service.",
  "const answer = { value: 42, list: [1, 2, 3] };\n\tif (x) return y;",
  "日本語のテキストと emoji 👩‍👩‍👧‍👦 🇯🇵 👍🏽 and العربية",
  "    leading spaces, 12345678901234567890 digits\n\n\n",
];

let service: RunningService;
let client: ServiceClient<typeof TokenizerService>;

beforeAll(async () => {
  const model = await ensureModel("tiny");
  service = await startService(ENTRY, {
    name: "tokenizer",
    env: { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: "tiny", LLM_MAX_INPUT_BYTES: "4096" },
  });
  client = createClient(TokenizerService, service.address);
});

afterAll(async () => {
  client?.close();
  const exit = await service?.stop();
  expect(exit?.code).toBe(0); // SIGTERM drains and exits cleanly
});

describe("tokenizer service", () => {
  it("encodes exactly as tiktoken's gpt2 and decodes back to the same text", async () => {
    const gpt2 = get_encoding("gpt2");
    try {
      for (const text of SAMPLES) {
        const { tokenIds } = await client.encode({ model: "tiny", text });
        expect(tokenIds).toEqual(Array.from(gpt2.encode_ordinary(text)));
        expect((await client.decode({ model: "tiny", tokenIds })).text).toBe(text);
        expect((await client.countTokens({ model: "tiny", text })).count).toBe(tokenIds.length);
      }
    } finally {
      gpt2.free();
    }
  });

  it("treats <|endoftext|> as text unless special tokens are allowed, and can skip it when decoding", async () => {
    const text = "end<|endoftext|>";
    const plain = await client.encode({ model: "", text });
    const special = await client.encode({ model: "", text, allowSpecialTokens: true });
    expect(plain.tokenIds).not.toContain(50256);
    expect(special.tokenIds.at(-1)).toBe(50256);
    expect((await client.decode({ tokenIds: special.tokenIds, skipSpecialTokens: true })).text).toBe("end");
  });

  it("applies the default chat template (GPT-2 ships none) and returns its token ids", async () => {
    const { text, tokenIds } = await client.applyChatTemplate({
      model: "tiny",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi!" },
      ],
      addGenerationPrompt: true,
    });
    expect(text).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    );
    expect((await client.decode({ tokenIds })).text).toBe(text);
  });

  it("answers NOT_FOUND for an unknown model, naming the served one", async () => {
    const err = await llmFailure(client.encode({ model: "no-such-model", text: "x" }));
    expect(err.code).toBe("not_found");
    expect(err.message).toContain('"tiny"');
    expect((await llmFailure(client.encode({ model: "../tiny", text: "x" }))).code).toBe("not_found");
  });

  it("answers RESOURCE_EXHAUSTED above LLM_MAX_INPUT_BYTES, saying the limit", async () => {
    const err = await llmFailure(client.encode({ model: "tiny", text: "a".repeat(5000) }));
    expect(err.code).toBe("resource_exhausted");
    expect(err.message).toContain("4096");
  });

  it("answers INVALID_ARGUMENT for token ids outside the vocabulary", async () => {
    const err = await llmFailure(client.decode({ model: "tiny", tokenIds: [15496, 999_999] }));
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toContain("999999");
  });

  it("answers INVALID_ARGUMENT for a request whose text is not valid UTF-8, and keeps serving", async () => {
    // A raw client: protobuf-es would never encode invalid UTF-8, a client in another language might.
    const raw = new GrpcClient(service.address, credentials.createInsecure());
    const invalid = Buffer.from([0x0a, 0x04, 0x74, 0x69, 0x6e, 0x79, 0x12, 0x02, 0xc3, 0x28]); // model "tiny", text C3 28
    const result = await new Promise<{ code: number; details: string }>((resolve) =>
      raw.makeUnaryRequest(
        "/llm.v1.TokenizerService/Encode",
        (b: Buffer) => b,
        (b: Buffer) => b,
        invalid,
        new Metadata(),
        (err) => resolve({ code: err?.code ?? status.OK, details: err?.details ?? "" }),
      ),
    );
    raw.close();
    expect(result.code).toBe(status.INVALID_ARGUMENT);
    expect(result.details).toMatch(/UTF-8/i);
    expect((await client.countTokens({ text: "still up" })).count).toBe(2);
  });

  it("serves another model folder under LLM_MODELS_DIR by name", async () => {
    const modelsDir = await mkdtemp(join(tmpdir(), "llm-models-"));
    try {
      const tiny = await ensureModel("tiny");
      await ensureModel("tiny", join(modelsDir, "other"));
      const other = await startService(ENTRY, {
        name: "tokenizer-2",
        env: { LLM_MODEL_DIR: tiny.dir, LLM_MODEL_ID: "tiny", LLM_MODELS_DIR: modelsDir },
      });
      const c = createClient(TokenizerService, other.address);
      try {
        expect((await c.encode({ model: "other", text: "Hello" })).tokenIds).toEqual([15496]);
      } finally {
        c.close();
        await other.stop();
      }
    } finally {
      await rm(modelsDir, { recursive: true, force: true });
    }
  });
});
