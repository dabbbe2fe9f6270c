// Which ONNX file of a model folder to run. onnx-community folders hold one file per dtype under onnx/; a choice
// is a file name (under onnx/), a path relative to the folder, or a dtype name mapped to onnx-community's names.
// External data (`model.onnx_data`, …) is read by ONNX Runtime from beside the chosen file.
import { existsSync } from "node:fs";
import { join } from "node:path";

export const DEFAULT_MODEL_FILE = "model.onnx";

/** onnx-community's file name for each dtype name (transformers.js's `dtype` option uses the same names). */
export const MODEL_FILES_BY_DTYPE: Record<string, string> = {
  fp32: "model.onnx",
  fp16: "model_fp16.onnx",
  q4: "model_q4.onnx",
  q4f16: "model_q4f16.onnx",
  int8: "model_int8.onnx",
  uint8: "model_uint8.onnx",
  q8: "model_quantized.onnx",
  bnb4: "model_bnb4.onnx",
};

/** The absolute path of `choice` in `modelDir`; throws naming the file when it is not there. */
export function resolveModelFile(modelDir: string, choice: string = DEFAULT_MODEL_FILE): string {
  const file = MODEL_FILES_BY_DTYPE[choice] ?? choice;
  const path = file.includes("/") ? join(modelDir, file) : join(modelDir, "onnx", file);
  if (!existsSync(path)) {
    const mapped = file === choice ? "" : ` (dtype ${choice})`;
    throw new Error(
      `model file ${path}${mapped} is missing: set LLM_MODEL_FILE to a file of ${join(modelDir, "onnx")} ` +
        `or one of ${Object.keys(MODEL_FILES_BY_DTYPE).join(", ")}`,
    );
  }
  return path;
}
