// The trained demo pair: its committed files are the recorded ones, model-pack builds them into the recorded
// folders (every KV layout), the graph matches the float64 reference on trained weights, and greedy decoding
// continues a prompt with the recorded English text.
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { describe, expect, test } from "vitest";
import { ensureModel, PRESETS, referenceForward, WEIGHTS_DIR, weightsOf } from "../src/index.js";
import { argmax, emptyCache, greedyCached, leftPadded, maxAbsDiff, openSession, runOrt, sha256 } from "./helpers.js";

const DEMO_DIR = join(WEIGHTS_DIR, "demo");

/** Folder fingerprints (`modelFingerprint`) of every demo preset, as built from the committed files. */
const FINGERPRINTS: Record<string, string> = {
  demo: "16d7aeaf18f532b65cfc9ae4c002bb779325b2f13f17825f87917545b735c567",
  "demo-append": "766b2432257870698a38c70e03655c53a5dd7935ff5cec4ee004f9d734d1174e",
  "demo-gqa": "63036834d0eeeabd4c2c7f7650498177dd5cb28dc8f451a6609c679fcbb76069",
  "demo-draft": "5ab22a68aef6bc4db27b0cf825d81acce3bf783d109576fb71306a67bb3e899a",
  "demo-draft-append": "43eea7d263e18a8952d3d4e72c301ca48ded0ed59b569d4f50d464b47321c2fa",
  "demo-draft-gqa": "6c0802086758da7ffccd15ce833a7ccbacc08792ecaac658621e309b6763edd9",
};

/** `demo`'s greedy continuations (24 tokens). */
const GREEDY: Record<string, string> = {
  "In the beginning": " of the LORD, and the LORD, and the LORD, and the LORD, and the LORD, and the LORD,",
  "And the LORD said unto Moses,":
    " I will bring thee, and said, I will bring thee, and the LORD, and said, I will not the",
  "Once upon a time": ", and the LORD, and the LORD, and the LORD, and the LORD, and the LORD, and the LORD",
};

/**
 * The training code's own top-5 next-token logits ([id, logit]) after "And God said, Let there be light", from the
 * committed files (`train.py --logits "And God said, Let there be light"`, torch): an independent check of the
 * file format, the parameter names and layout, and the fp16 widening.
 */
const TORCH_TOP5: Record<string, number[][]> = {
  demo: [
    [44, 6.0608],
    [46, 5.6959],
    [58, 5.287],
    [268, 5.0167],
    [59, 4.7521],
  ],
  "demo-draft": [
    [44, 5.4626],
    [46, 5.4162],
    [268, 4.9195],
    [58, 4.7874],
    [59, 4.2412],
  ],
};
const TORCH_IDS = [1055, 388, 391, 44, 953, 383, 295, 1046];

/** transformers.js's tokenizer for a built folder (an implementation independent of the project's). */
async function tokenizerOf(dir: string) {
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  const tokenizer = await AutoTokenizer.from_pretrained(basename(dir));
  return { encode: (text: string) => tokenizer.encode(text), decode: (ids: number[]) => tokenizer.decode(ids) };
}

const build = (preset: string) =>
  ensureModel(preset, fileURLToPath(new URL(`../../../.cache/model-pack-test/${preset}`, import.meta.url)));

describe("the trained demo pair", () => {
  test("the committed weights and tokenizer files are the ones SHA256SUMS records", async () => {
    const lines = (await readFile(join(DEMO_DIR, "SHA256SUMS"), "utf8")).trim().split("\n");
    const recorded = lines.map((line) => line.split(/ +/));
    expect(recorded.map(([, file]) => file).sort()).toEqual(
      ["draft.safetensors", "merges.txt", "target.safetensors", "vocab.json", "words.txt"].sort(),
    );
    for (const [sum, file] of recorded) expect(await sha256(join(DEMO_DIR, file)), file).toBe(sum);
  });

  test("model-pack builds every demo preset, in every KV layout, into the recorded folder", async () => {
    const built: Record<string, string> = {};
    for (const preset of Object.keys(FINGERPRINTS)) built[preset] = (await build(preset)).fingerprint;
    expect(built).toEqual(FINGERPRINTS);
  }, 60_000);

  test.each(["demo", "demo-draft"])(
    "%s: ONNX Runtime's logits match the float64 reference and torch",
    async (preset) => {
      const spec = PRESETS[preset as "demo" | "demo-draft"];
      const dir = (await build(preset)).dir;
      const tokenizer = await tokenizerOf(dir);
      const ids = tokenizer.encode("And God said, Let there be light");
      expect(ids).toEqual(TORCH_IDS);
      const batch = leftPadded([ids]);
      const session = await openSession(dir);
      const ort = await runOrt(session, spec.shape, batch, emptyCache(spec.shape, 1), 0);
      await session.release();
      const reference = referenceForward(weightsOf(spec), batch);
      const diff = maxAbsDiff(ort.logits, reference.logits);
      console.log(`${preset}: ORT vs float64 reference, max abs diff ${diff.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(1e-4);
      const last = ort.logits.subarray((ids.length - 1) * spec.shape.vocabSize);
      for (const [id, logit] of TORCH_TOP5[preset]) expect(last[id]).toBeCloseTo(logit, 3);
      expect(argmax(last)).toBe(TORCH_TOP5[preset][0][0]);
    },
  );

  test("demo's greedy continuations of three prompts are the recorded English text", async () => {
    const dir = (await build("demo")).dir;
    const tokenizer = await tokenizerOf(dir);
    const session = await openSession(dir);
    const continued: Record<string, string> = {};
    for (const prompt of Object.keys(GREEDY)) {
      const { tokens } = await greedyCached(session, PRESETS.demo.shape, tokenizer.encode(prompt), 24);
      continued[prompt] = tokenizer.decode(tokens);
    }
    await session.release();
    expect(continued).toEqual(GREEDY);
  });
});
