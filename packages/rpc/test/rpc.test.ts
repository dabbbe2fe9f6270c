import { setTimeout as sleep } from "node:timers/promises";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { credentials, Client as GrpcClient, type ServiceError, status } from "@grpc/grpc-js";
import { LlmError } from "@llm/errors";
import {
  DetokenizerService,
  FinishReason,
  Health,
  ModelRunnerService,
  ServerReflection,
  type ServerReflectionResponse,
  TokenizerService,
} from "@llm/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallContext,
  checkHealth,
  createClient,
  type RunningServer,
  registration,
  ServingStatus,
  startServer,
  waitForServing,
} from "../src/index.js";

/** Signals of Generate calls the server saw, so tests can observe cancellation on the server side. */
const generateSignals: AbortSignal[] = [];

const tokenizerImpl = registration(TokenizerService, {
  // "Token ids" are the UTF-16 code units: enough to see that requests and responses cross the wire intact.
  encode: async ({ text }) => ({ tokenIds: [...text].map((c) => c.charCodeAt(0)) }),
  decode: async ({ tokenIds }) => ({ text: String.fromCharCode(...tokenIds) }),
  countTokens: async ({ text, model }) => {
    if (model === "missing") throw new LlmError("not_found", `model "missing" is not served`);
    if (model === "busy") throw new LlmError("resource_exhausted", "queue full", { retryAfterMs: 1500 });
    if (model === "bug") throw new Error("TypeError at /srv/secret/path.ts");
    return { count: text.length };
  },
  applyChatTemplate: async ({ messages }) => ({ text: messages.map((m) => `${m.role}: ${m.content}`).join("\n") }),
});

const runnerImpl = registration(ModelRunnerService, {
  async *generate({ promptTokenIds, maxTokens }, ctx: CallContext) {
    generateSignals.push(ctx.signal);
    for (let index = 0; index < maxTokens; index++) {
      if (index > 0) await sleep(20, undefined, { signal: ctx.signal });
      yield { event: { case: "token", value: { index, tokenId: promptTokenIds[0] + index } } };
    }
    yield {
      event: {
        case: "final",
        value: {
          finishReason: FinishReason.LENGTH,
          usage: { promptTokens: promptTokenIds.length, completionTokens: maxTokens },
        },
      },
    };
  },
  info: async () => ({ model: "test", contextLength: 1024 }),
  cancel: async () => ({ found: false }),
});

const detokenizerImpl = registration(DetokenizerService, {
  // Echoes each batch of ids as text; the first message must open the stream.
  async *decodeStream(requests) {
    let opened = false;
    for await (const request of requests) {
      if (!opened && !request.start) throw new LlmError("invalid_argument", "the first message must carry start");
      opened = true;
      if (request.tokenIds.length > 0) yield { text: String.fromCharCode(...request.tokenIds) };
    }
    yield { text: "", finished: true };
  },
});

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    name: "rpc-test",
    host: "127.0.0.1",
    port: 0,
    services: [tokenizerImpl, runnerImpl, detokenizerImpl],
    log: () => {},
  });
});

afterAll(async () => {
  await server?.shutdown(1000);
});

describe("unary", () => {
  it("round-trips typed requests and responses", async () => {
    const client = createClient(TokenizerService, server.address);
    try {
      expect((await client.encode({ model: "m", text: "héllo" })).tokenIds).toEqual([104, 233, 108, 108, 111]);
      expect((await client.decode({ tokenIds: [104, 105] })).text).toBe("hi");
      const chat = await client.applyChatTemplate({ messages: [{ role: "user", content: "hey" }] });
      expect(chat.text).toBe("user: hey");
    } finally {
      client.close();
    }
  });

  it("delivers a handler's LlmError as its gRPC status, message and retry hint", async () => {
    const client = createClient(TokenizerService, server.address);
    try {
      await expect(client.countTokens({ model: "missing", text: "x" })).rejects.toMatchObject({
        code: "not_found",
        message: 'model "missing" is not served',
      });
      const busy = await client.countTokens({ model: "busy", text: "x" }).catch((e: unknown) => e);
      expect(busy).toBeInstanceOf(LlmError);
      expect(busy).toMatchObject({ code: "resource_exhausted", grpcStatus: 8, retryAfterMs: 1500 });
    } finally {
      client.close();
    }
  });

  it("turns an unexpected exception into INTERNAL without leaking it, and keeps serving", async () => {
    const client = createClient(TokenizerService, server.address);
    try {
      const err = (await client.countTokens({ model: "bug", text: "x" }).catch((e: unknown) => e)) as LlmError;
      expect(err.code).toBe("internal");
      expect(err.message).not.toContain("secret");
      expect((await client.countTokens({ model: "m", text: "abc" })).count).toBe(3);
    } finally {
      client.close();
    }
  });

  it("honours an already aborted signal and an expired deadline", async () => {
    const client = createClient(TokenizerService, server.address);
    try {
      await expect(client.countTokens({ text: "x" }, { signal: AbortSignal.abort() })).rejects.toMatchObject({
        code: "cancelled",
      });
      await expect(client.countTokens({ text: "x" }, { deadline: Date.now() - 1 })).rejects.toMatchObject({
        code: "deadline_exceeded",
      });
    } finally {
      client.close();
    }
  });
});

describe("undecodable requests", () => {
  // protobuf-es rejects a proto3 string that is not UTF-8; grpc-js alone would answer INTERNAL.
  const countTokensBytes = (text: Buffer) => Buffer.concat([Buffer.from([0x12, text.length]), text]); // field 2 (text), length-delimited
  const invalidUtf8 = Buffer.from([0x61, 0xff, 0xfe, 0x62]);

  it("answers INVALID_ARGUMENT naming the message, for unary and bidi calls, and keeps serving", async () => {
    const raw = new GrpcClient(server.address, credentials.createInsecure());
    const identity = (b: Buffer) => b;
    try {
      const unary = await new Promise<ServiceError | null>((resolve) =>
        raw.makeUnaryRequest(
          "/llm.v1.TokenizerService/CountTokens",
          identity,
          identity,
          countTokensBytes(invalidUtf8),
          (err) => resolve(err),
        ),
      );
      expect(unary?.code).toBe(status.INVALID_ARGUMENT);
      expect(unary?.details).toBe("request is not a valid llm.v1.CountTokensRequest: text is not valid UTF-8 text");

      const bidi = raw.makeBidiStreamRequest("/llm.v1.DetokenizerService/DecodeStream", identity, identity);
      const bidiStatus = new Promise<ServiceError>((resolve) => bidi.on("error", resolve));
      bidi.on("data", () => {});
      bidi.write(Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0xc3])); // start { model: <lone lead byte> }
      bidi.end();
      expect(await bidiStatus).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: "request is not a valid llm.v1.DecodeStreamRequest: start.model is not valid UTF-8 text",
      });

      const client = createClient(TokenizerService, server.address);
      expect((await client.countTokens({ text: "still fine" })).count).toBe(10);
      client.close();
    } finally {
      raw.close();
    }
  });
});

describe("server streaming", () => {
  it("streams every response in order", async () => {
    const client = createClient(ModelRunnerService, server.address);
    try {
      const events = [];
      for await (const response of client.generate({ promptTokenIds: [100, 7], maxTokens: 3 }))
        events.push(response.event);
      expect(events.map((e) => e.case)).toEqual(["token", "token", "token", "final"]);
      expect(events.slice(0, 3).map((e) => (e.case === "token" ? e.value.tokenId : -1))).toEqual([100, 101, 102]);
      const final = events[3];
      expect(final.case === "final" && final.value.usage?.promptTokens).toBe(2);
    } finally {
      client.close();
    }
  });

  it("cancels the call when the client aborts: the handler's signal fires", async () => {
    const client = createClient(ModelRunnerService, server.address);
    const controller = new AbortController();
    const seen = generateSignals.length;
    try {
      const received: number[] = [];
      const consume = (async () => {
        for await (const { event } of client.generate(
          { promptTokenIds: [1], maxTokens: 1000 },
          { signal: controller.signal },
        )) {
          if (event.case === "token") received.push(event.value.index);
          if (received.length === 2) controller.abort();
        }
      })();
      await expect(consume).rejects.toMatchObject({ code: "cancelled" });
      const signal = generateSignals[seen];
      await expect.poll(() => signal.aborted).toBe(true);
      expect(signal.reason).toMatchObject({ code: "cancelled" });
      expect(received.length).toBeLessThan(5);
    } finally {
      client.close();
    }
  });

  it("cancels the call when the consumer stops iterating", async () => {
    const client = createClient(ModelRunnerService, server.address);
    const seen = generateSignals.length;
    try {
      for await (const _ of client.generate({ promptTokenIds: [1], maxTokens: 1000 })) break;
      await expect.poll(() => generateSignals[seen]?.aborted).toBe(true);
    } finally {
      client.close();
    }
  });

  it("reports a passed deadline to the handler as deadline_exceeded", async () => {
    const client = createClient(ModelRunnerService, server.address);
    const seen = generateSignals.length;
    try {
      const run = async () => {
        for await (const _ of client.generate(
          { promptTokenIds: [1], maxTokens: 1000 },
          { deadline: Date.now() + 150 },
        )) {
        }
      };
      await expect(run()).rejects.toMatchObject({ code: "deadline_exceeded" });
      await expect.poll(() => generateSignals[seen]?.reason?.code).toBe("deadline_exceeded");
    } finally {
      client.close();
    }
  });
});

describe("bidi streaming", () => {
  it("answers each request on one open stream and ends when the client half-closes", async () => {
    const client = createClient(DetokenizerService, server.address);
    try {
      const call = client.decodeStream();
      call.send({ start: { model: "m" } });
      call.send({ tokenIds: [104, 105] });
      call.send({ tokenIds: [33] });
      call.end();
      const texts = [];
      for await (const response of call) texts.push([response.text, response.finished]);
      expect(texts).toEqual([
        ["hi", false],
        ["!", false],
        ["", true],
      ]);
    } finally {
      client.close();
    }
  });

  it("surfaces a handler error mid-stream as an LlmError", async () => {
    const client = createClient(DetokenizerService, server.address);
    try {
      const call = client.decodeStream();
      call.send({ tokenIds: [1] });
      const run = async () => {
        for await (const _ of call) {
        }
      };
      await expect(run()).rejects.toMatchObject({
        code: "invalid_argument",
        message: "the first message must carry start",
      });
    } finally {
      client.close();
    }
  });
});

describe("health", () => {
  it("answers Check for the server, each service and unknown names", async () => {
    expect(await checkHealth(server.address)).toBe("SERVING");
    expect(await checkHealth(server.address, "llm.v1.TokenizerService")).toBe("SERVING");
    await expect(checkHealth(server.address, "llm.v1.Nope")).rejects.toMatchObject({ code: "not_found" });
    await waitForServing(server.address, "llm.v1.DetokenizerService", 2000);
  });

  it("streams status changes to Watch", async () => {
    const client = createClient(Health, server.address);
    try {
      const statuses: ServingStatus[] = [];
      for await (const { status } of client.watch({ service: "" })) {
        statuses.push(status);
        if (statuses.length === 1) server.setServing(false);
        if (statuses.length === 2) server.setServing(true);
        if (statuses.length === 3) break;
      }
      expect(statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVING]);
    } finally {
      client.close();
    }
  });
});

describe("reflection", () => {
  it("lists the services and serves file descriptors that decode", async () => {
    const client = createClient(ServerReflection, server.address);
    try {
      const call = client.serverReflectionInfo();
      call.send({ messageRequest: { case: "listServices", value: "" } });
      call.send({ messageRequest: { case: "fileContainingSymbol", value: "llm.v1.ModelRunnerService.Generate" } });
      call.send({ messageRequest: { case: "fileByFilename", value: "llm/v1/nope.proto" } });
      call.end();
      const responses: ServerReflectionResponse[] = [];
      for await (const response of call) responses.push(response);

      const [list, files, missing] = responses.map((r) => r.messageResponse);
      expect(list.case === "listServicesResponse" && list.value.service.map((s) => s.name).sort()).toEqual([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "llm.v1.DetokenizerService",
        "llm.v1.ModelRunnerService",
        "llm.v1.TokenizerService",
      ]);
      expect(files.case).toBe("fileDescriptorResponse");
      const decoded = (files.case === "fileDescriptorResponse" ? files.value.fileDescriptorProto : []).map((bytes) =>
        fromBinary(FileDescriptorProtoSchema, bytes),
      );
      expect(decoded.map((f) => f.name)).toEqual([
        "llm/v1/model_runner.proto",
        "google/protobuf/timestamp.proto",
        "llm/v1/common.proto",
      ]);
      expect(decoded[0].service[0].method.map((m) => m.name)).toEqual(["Generate", "Info", "Cancel"]);
      expect(missing.case === "errorResponse" && missing.value.errorCode).toBe(5);
    } finally {
      client.close();
    }
  });
});

describe("shutdown", () => {
  const collect = async (stream: AsyncIterable<{ event: { case: string | undefined } }>) => {
    const cases: (string | undefined)[] = [];
    for await (const { event } of stream) cases.push(event.case);
    return cases;
  };
  const startRunner = () =>
    startServer({ name: "drain-test", host: "127.0.0.1", port: 0, services: [runnerImpl], log: () => {} });

  it("marks NOT_SERVING and lets an in-flight stream finish within the grace period", async () => {
    const drained = await startRunner();
    const client = createClient(ModelRunnerService, drained.address);
    const watcher = createClient(Health, drained.address);
    try {
      const statuses: ServingStatus[] = [];
      const watching = (async () => {
        for await (const { status } of watcher.watch({ service: "llm.v1.ModelRunnerService" })) statuses.push(status);
      })();
      await expect.poll(() => statuses.length).toBe(1);
      const seen = generateSignals.length;
      const inFlight = collect(client.generate({ promptTokenIds: [1], maxTokens: 5 }));
      await expect.poll(() => generateSignals.length > seen).toBe(true);
      const stopping = drained.shutdown(5000);
      expect(await inFlight).toEqual(["token", "token", "token", "token", "token", "final"]);
      await stopping;
      await watching; // Watch streams are ended by shutdown, after the NOT_SERVING update.
      expect(statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    } finally {
      client.close();
      watcher.close();
    }
  });

  it("cuts off calls still running after the grace period", async () => {
    const forced = await startRunner();
    const client = createClient(ModelRunnerService, forced.address);
    try {
      const inFlight = collect(client.generate({ promptTokenIds: [1], maxTokens: 1000 }));
      inFlight.catch(() => {});
      await sleep(50);
      const started = Date.now();
      await forced.shutdown(100);
      expect(Date.now() - started).toBeLessThan(1000);
      await expect(inFlight).rejects.toBeInstanceOf(LlmError);
    } finally {
      client.close();
    }
  });
});
