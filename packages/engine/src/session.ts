// ONNX Runtime session creation with an ordered list of execution providers. ORT does not fall back by
// itself (asking for ['cuda', 'cpu'] without the CUDA libraries throws), so each provider is tried alone
// and a failure is logged with its reason before the next one is tried.
import * as ort from "onnxruntime-node";

export type ExecutionProvider = "cuda" | "webgpu" | "cpu";

export interface EngineLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface ProviderAttempt {
  provider: ExecutionProvider;
  error?: string;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  provider: ExecutionProvider;
  attempts: ProviderAttempt[];
}

export interface SessionOptions {
  providers: readonly ExecutionProvider[];
  intraOpThreads?: number;
  logger: EngineLogger;
}

export async function createSession(modelPath: string, options: SessionOptions): Promise<LoadedSession> {
  if (options.providers.length === 0) throw new Error("no execution provider configured");
  const attempts: ProviderAttempt[] = [];
  for (const provider of options.providers) {
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: [provider],
        graphOptimizationLevel: "all",
        ...(options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads }),
      });
      attempts.push({ provider });
      options.logger.info(`onnx session for ${modelPath} runs on execution provider "${provider}"`);
      return { session, provider, attempts };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      attempts.push({ provider, error: reason });
      options.logger.warn(`execution provider "${provider}" failed to start, trying the next one: ${reason}`);
    }
  }
  const tried = attempts.map((a) => `${a.provider}: ${a.error}`).join("; ");
  throw new Error(`no execution provider could run ${modelPath} (${tried})`);
}
