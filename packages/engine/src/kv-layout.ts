// Which KV path a model's graph needs: one whose cache outputs are new_key_values.* (the model pack's append
// variant) gets the fixed-capacity decoder; any other Hugging Face ONNX export the standard one (design §4).
// (The model pack's gqa variant is not served: through onnxruntime-node it was not faster, see bench/RESULTS.md.)
import type * as ort from "onnxruntime-node";
import { CapacityDecoder } from "./capacity-decoder.js";
import { Decoder, type DecoderModel } from "./decoder.js";

export type KvLayout = "standard" | "append";

export function kvLayoutOf(outputNames: readonly string[]): KvLayout {
  return outputNames.includes("new_key_values.0.key") ? "append" : "standard";
}

/** The decoder for `session`'s graph, its layout, and the padding period its batch rows are grouped by (probed). */
export async function createDecoder(
  session: ort.InferenceSession,
  model: DecoderModel,
  { probe = true } = {},
): Promise<{ decoder: Decoder; layout: KvLayout; paddingPeriod: number }> {
  const layout = kvLayoutOf(session.outputNames);
  const Kind = layout === "append" ? CapacityDecoder : Decoder;
  const decoder = new Kind(session, model);
  return { decoder, layout, paddingPeriod: probe ? await decoder.paddingPeriod() : 1 };
}
