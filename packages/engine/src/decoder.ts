// One forward pass of a Hugging Face-layout decoder graph (design §4), over a batch of rows that each add
// the same number of new tokens on top of a left-padded past.
import * as ort from "onnxruntime-node";
import { type KvShape, KvState } from "./kv-state.js";

export interface ForwardInput {
  /** New token ids, row-major [batch, newTokens]. */
  tokenIds: ArrayLike<number>;
  newTokens: number;
  past: KvState;
  /** Per row: real (unpadded) positions in `past`; the rest of the row's past is left padding. */
  pastLengths: readonly number[];
}

export interface ForwardOutput {
  /** Row-major [batch, vocab]: the logits of each row's LAST new position. */
  logits: Float32Array;
  present: KvState;
}

export class Decoder {
  private readonly keepsLastLogitsOnly: boolean;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly shape: KvShape,
    readonly vocabSize: number,
  ) {
    this.keepsLastLogitsOnly = session.inputNames.includes("num_logits_to_keep");
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { past, newTokens, pastLengths } = input;
    const batch = past.batch;
    const total = past.length + newTokens;
    const ids = new BigInt64Array(batch * newTokens);
    const mask = new BigInt64Array(batch * total);
    const positions = new BigInt64Array(batch * newTokens);
    for (let r = 0; r < batch; r++) {
      const padding = past.length - pastLengths[r];
      mask.fill(1n, r * total + padding, (r + 1) * total);
      for (let i = 0; i < newTokens; i++) {
        ids[r * newTokens + i] = BigInt(input.tokenIds[r * newTokens + i]);
        positions[r * newTokens + i] = BigInt(pastLengths[r] + i);
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", ids, [batch, newTokens]),
      attention_mask: new ort.Tensor("int64", mask, [batch, total]),
      position_ids: new ort.Tensor("int64", positions, [batch, newTokens]),
    };
    const cacheDims = [batch, this.shape.numHeads, past.length, this.shape.headDim];
    for (let layer = 0; layer < this.shape.numLayers; layer++) {
      feeds[`past_key_values.${layer}.key`] = new ort.Tensor("float32", past.tensors[2 * layer], cacheDims);
      feeds[`past_key_values.${layer}.value`] = new ort.Tensor("float32", past.tensors[2 * layer + 1], cacheDims);
    }
    if (this.keepsLastLogitsOnly) feeds.num_logits_to_keep = new ort.Tensor("int64", new BigInt64Array([1n]), []);

    const outputs = await this.session.run(feeds);
    const tensors: Float32Array[] = [];
    for (let layer = 0; layer < this.shape.numLayers; layer++) {
      tensors.push(outputs[`present.${layer}.key`].data as Float32Array);
      tensors.push(outputs[`present.${layer}.value`].data as Float32Array);
    }
    return {
      logits: this.lastPositionLogits(outputs.logits, batch),
      present: new KvState(this.shape, batch, total, tensors),
    };
  }

  // Graphs without num_logits_to_keep return every position: keep only the last one of each row.
  private lastPositionLogits(logits: ort.Tensor, batch: number): Float32Array {
    const data = logits.data as Float32Array;
    const positions = logits.dims[1];
    if (positions === 1) return data;
    const vocab = this.vocabSize;
    const last = new Float32Array(batch * vocab);
    for (let r = 0; r < batch; r++) {
      const begin = (r * positions + positions - 1) * vocab;
      last.set(data.subarray(begin, begin + vocab), r * vocab);
    }
    return last;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
