// A gateway in local mode with real tokenizer, model-runner and detokenizer processes on the bundled tiny model,
// and raw callers for requests no typed client can send (bytes that are not a valid message, or not UTF-8).
import { credentials, Client as GrpcClient, type ServiceError } from "@grpc/grpc-js";
import { ensureModel, type PresetName } from "@llm/model-pack";
import { type RunningService, ServiceGroup, type StartServiceOptions } from "@llm/testing";

export const GATEWAY = "services/gateway/src/main.ts";
/** Generous: four processes transpiling at once on a shared 2-core machine. */
const STARTUP_MS = 60_000;

export interface LocalGateway {
  /** The gateway's gRPC address and HTTP base URL. */
  grpc: string;
  url: string;
  gateway: RunningService;
  services: ServiceGroup;
}

/**
 * Starts the back ends on `preset` (default tiny; the runner with `runnerEnv` added; with `embedder`, also an
 * embedder on the bundled embed-tiny encoder), then one gateway with `env` added; stop everything with
 * `services.stopAll()`. The model's id is the preset's name.
 */
export async function startLocalGateway(
  env: Record<string, string> = {},
  {
    embedder = false,
    runnerEnv = {},
    preset = "tiny",
  }: { embedder?: boolean; runnerEnv?: Record<string, string>; preset?: PresetName } = {},
): Promise<LocalGateway> {
  const services = new ServiceGroup();
  const model = await ensureModel(preset);
  const modelEnv = { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: preset };
  const embedding = embedder ? await ensureModel("embed-tiny") : undefined;
  const [tokenizer, runner, detokenizer, embedderService] = await services.start([
    ["services/tokenizer/src/main.ts", { name: "tokenizer", env: modelEnv, timeoutMs: STARTUP_MS }],
    [
      "services/model-runner/src/main.ts",
      { name: "model-runner", env: { ...modelEnv, ...runnerEnv }, timeoutMs: STARTUP_MS },
    ],
    ["services/detokenizer/src/main.ts", { name: "detokenizer", env: modelEnv, timeoutMs: STARTUP_MS }],
    ...(embedding
      ? [
          [
            "services/embedder/src/main.ts",
            {
              name: "embedder",
              env: { LLM_MODEL_DIR: embedding.dir, LLM_MODEL_ID: "embed-tiny" },
              timeoutMs: STARTUP_MS,
            },
          ] as [string, StartServiceOptions],
        ]
      : []),
  ]);
  const upstreams = {
    LLM_TOKENIZER_URL: tokenizer.address,
    LLM_RUNNER_URL: runner.address,
    LLM_DETOKENIZER_URL: detokenizer.address,
    ...(embedderService ? { LLM_EMBEDDER_URL: embedderService.address } : {}),
  };
  const [gateway] = await services.start([
    [GATEWAY, { name: "gateway", env: { ...upstreams, ...env }, timeoutMs: STARTUP_MS }],
  ]);
  return { grpc: gateway.address, url: await gateway.listening("gateway-http"), gateway, services };
}

export interface RawAnswer {
  /** The gRPC status code (0: OK) and its message. */
  code: number;
  details: string;
  /** Response messages received before the status. */
  messages: number;
}

/** Sends `body` as the raw request bytes of a GenerationService method and waits for the call's status. */
export async function rawCall(
  address: string,
  method: "Generate" | "GenerateUnary" | "Cancel" | "ListModels",
  body: Uint8Array,
  deadlineMs = 20_000,
): Promise<RawAnswer> {
  const raw = new GrpcClient(address, credentials.createInsecure());
  const path = `/llm.v1.GenerationService/${method}`;
  const identity = (b: Buffer) => b;
  const options = { deadline: Date.now() + deadlineMs };
  try {
    return await new Promise<RawAnswer>((resolve) => {
      let messages = 0;
      const done = (err: ServiceError | null) =>
        resolve({ code: err?.code ?? 0, details: err?.details ?? "", messages: err ? messages : messages + 1 });
      if (method === "Generate") {
        const call = raw.makeServerStreamRequest(path, identity, identity, Buffer.from(body), options);
        call.on("data", () => messages++);
        call.on("status", ({ code, details }) => resolve({ code, details, messages }));
        call.on("error", () => {}); // reported by "status"
      } else {
        raw.makeUnaryRequest(path, identity, identity, Buffer.from(body), options, done);
      }
    });
  } finally {
    raw.close();
  }
}
