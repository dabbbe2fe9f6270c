// Which execution providers start on this machine, and with what error when one does not. Each is tried
// alone (ORT does not fall back by itself) and must also run one forward, since a provider can create a
// session and still fail at its first run.
import type { ExecutionProvider } from "@llm/engine";
import * as ort from "onnxruntime-node";
import { type CheckModel, prompts } from "./models.js";

export interface ProviderProbe {
  provider: ExecutionProvider;
  started: boolean;
  error?: string;
  createMs?: number;
  firstRunMs?: number;
}

export const ALL_PROVIDERS: ExecutionProvider[] = ["webgpu", "cuda", "cpu"];

export async function probeProviders(model: CheckModel): Promise<ProviderProbe[]> {
  const results: ProviderProbe[] = [];
  for (const provider of ALL_PROVIDERS) results.push(await probe(model, provider));
  return results;
}

async function probe(model: CheckModel, provider: ExecutionProvider): Promise<ProviderProbe> {
  const created = performance.now();
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(`${model.dir}/onnx/model.onnx`, { executionProviders: [provider] });
    const createMs = performance.now() - created;
    const ran = performance.now();
    await session.run(prefillFeeds(session, model, 16));
    return { provider, started: true, createMs, firstRunMs: performance.now() - ran };
  } catch (error) {
    return { provider, started: false, error: (error instanceof Error ? error.message : String(error)).trim() };
  } finally {
    await session?.release();
  }
}

/** One prompt's prefill over an empty past: the feeds of design §4's graph. */
export function prefillFeeds(session: ort.InferenceSession, model: CheckModel, length: number) {
  const ids = BigInt64Array.from(prompts(1, length, model.vocabSize)[0], BigInt);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", ids, [1, length]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(length).fill(1n), [1, length]),
    position_ids: new ort.Tensor(
      "int64",
      BigInt64Array.from({ length }, (_, i) => BigInt(i)),
      [1, length],
    ),
  };
  if (session.inputNames.includes("num_logits_to_keep"))
    feeds.num_logits_to_keep = new ort.Tensor("int64", new BigInt64Array([1n]), []);
  for (const name of session.inputNames.filter((n) => n.startsWith("past_key_values."))) {
    const meta = session.inputMetadata.find((m) => m.name === name);
    const dims = meta?.isTensor ? meta.shape.map((d) => (typeof d === "number" ? d : 0)) : [];
    dims[0] = 1;
    feeds[name] = new ort.Tensor("float32", new Float32Array(0), dims);
  }
  return feeds;
}
