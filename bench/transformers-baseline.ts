// transformers.js generating greedily on the same model folder: the peer the pipeline is compared with.
import { basename, dirname } from "node:path";
import { AutoModelForCausalLM, env, type PreTrainedModel, Tensor } from "@huggingface/transformers";

export interface TransformersRun {
  /** Tokens the requests asked for and got (a static batch's extra steps for its longest member do not count). */
  tokens: number;
  totalMs: number;
}

const PAD = 50256;

export async function loadTransformers(modelDir: string): Promise<PreTrainedModel> {
  env.allowRemoteModels = false;
  env.localModelPath = dirname(modelDir);
  return AutoModelForCausalLM.from_pretrained(basename(modelDir), { dtype: "fp32", device: "cpu" });
}

/**
 * Greedy generation in static batches of `batchSize` requests, left-padded to the longest prompt, each batch
 * running until its longest request is done (batchSize 1: one by one).
 */
export async function transformersGreedy(
  model: PreTrainedModel,
  requests: readonly { promptIds: number[]; maxTokens: number }[],
  batchSize: number,
): Promise<TransformersRun> {
  let tokens = 0;
  const started = performance.now();
  for (let at = 0; at < requests.length; at += batchSize) {
    const group = requests.slice(at, at + batchSize);
    const width = Math.max(...group.map((r) => r.promptIds.length));
    const ids = new BigInt64Array(group.length * width).fill(BigInt(PAD));
    const mask = new BigInt64Array(group.length * width);
    group.forEach(({ promptIds }, row) => {
      const offset = row * width + width - promptIds.length;
      promptIds.forEach((id, i) => {
        ids[offset + i] = BigInt(id);
        mask[offset + i] = 1n;
      });
    });
    const output = (await model.generate({
      input_ids: new Tensor("int64", ids, [group.length, width]),
      attention_mask: new Tensor("int64", mask, [group.length, width]),
      max_new_tokens: Math.max(...group.map((r) => r.maxTokens)),
      do_sample: false,
      pad_token_id: PAD,
    } as Parameters<PreTrainedModel["generate"]>[0])) as Tensor;
    const generated = output.dims[1] - width;
    for (const request of group) tokens += Math.min(request.maxTokens, generated);
  }
  return { tokens, totalMs: performance.now() - started };
}
