// Tokenizer benchmark: @llm/tokenizer vs tiktoken (wasm) and gpt-tokenizer on the same ≥ 1 MiB of
// mixed text, in one process; then the families' tokenizers (Llama 3.1 and Gemma 3 vs transformers.js,
// o200k vs tiktoken) on 256 KiB of it. Run: npx tsx bench/tokenizer.ts   (prints one JSON object)
import { Tokenizer } from "@llm/tokenizer";
import { decode as gptTokenizerDecode, encode as gptTokenizerEncode } from "gpt-tokenizer/encoding/r50k_base";
import { get_encoding } from "tiktoken";
import { gpt2TokenizerConfig, gpt2TokenizerJson } from "../packages/model-pack/src/tokenizer-files.js";
import { buildMixedText } from "./corpus/corpus.js";
import { versusTiktokenO200k, versusTransformers } from "./tokenizer-families.js";

const TEXT_BYTES = 1 << 20;
const FAMILY_TEXT_BYTES = 1 << 18;
const REPETITIONS = 11;
const COLD_INSTANCES = 3;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

/** Median seconds of `run` over REPETITIONS after one warm-up call. */
function time(run: () => unknown): number {
  run();
  const seconds: number[] = [];
  for (let i = 0; i < REPETITIONS; i++) {
    const start = performance.now();
    run();
    seconds.push((performance.now() - start) / 1000);
  }
  return median(seconds);
}

const text = buildMixedText(TEXT_BYTES);
const tokenizerJson = gpt2TokenizerJson();
const tokenizerConfig = gpt2TokenizerConfig(1024);
const utf8 = new TextDecoder();

// Cold cache: a fresh instance's first pass over the text, so the pre-token cache starts empty. The code
// is JIT-warmed first on different text by another instance, so this measures the cache, not the JIT.
Tokenizer.fromJson(tokenizerJson, tokenizerConfig).encode(buildMixedText(TEXT_BYTES / 4, 2));
const cold: number[] = [];
for (let i = 0; i < COLD_INSTANCES; i++) {
  const fresh = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
  const start = performance.now();
  fresh.encode(text);
  cold.push((performance.now() - start) / 1000);
}

const ours = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
const tiktoken = get_encoding("gpt2");
try {
  const ids = ours.encode(text);
  const tiktokenIds = tiktoken.encode_ordinary(text);
  const gptTokenizerIds = gptTokenizerEncode(text);
  const sameIds = (other: ArrayLike<number>) => other.length === ids.length && ids.every((id, i) => id === other[i]);
  if (!sameIds(tiktokenIds) || !sameIds(gptTokenizerIds)) throw new Error("token ids differ between tokenizers");
  if (ours.decode(ids) !== text) throw new Error("decode(encode(text)) !== text");
  const idList = Array.from(ids);

  const encode = {
    ours: time(() => ours.encode(text)),
    tiktoken: time(() => tiktoken.encode_ordinary(text)),
    gptTokenizer: time(() => gptTokenizerEncode(text)),
  };
  const decode = {
    ours: time(() => ours.decode(ids)),
    tiktoken: time(() => utf8.decode(tiktoken.decode(tiktokenIds))),
    gptTokenizer: time(() => gptTokenizerDecode(idList)),
  };
  const decodeBytes = {
    ours: time(() => ours.decodeBytes(ids)),
    tiktoken: time(() => tiktoken.decode(tiktokenIds)),
  };
  const perSecond = (seconds: number) => Math.round(ids.length / seconds);
  const rates = <K extends string>(times: Record<K, number>) =>
    Object.fromEntries(Object.entries<number>(times).map(([name, s]) => [name, perSecond(s)])) as Record<K, number>;
  const encodeRates = rates(encode);
  const decodeRates = rates(decode);
  const decodeBytesRates = rates(decodeBytes);
  const coldRate = perSecond(median(cold));
  const familyText = buildMixedText(FAMILY_TEXT_BYTES, 5);
  const families = {
    llama3_1VsTransformersJs: await versusTransformers("llama3_1", familyText, time),
    gemma3VsTransformersJs: await versusTransformers("gemma3", familyText, time),
    o200kVsTiktoken: await versusTiktokenO200k(familyText, time),
  };

  console.log(
    JSON.stringify(
      {
        text: { bytes: Buffer.byteLength(text), chars: text.length, tokens: ids.length },
        repetitions: REPETITIONS,
        encodeTokensPerSecond: { ...encodeRates, oursColdCache: coldRate },
        decodeToStringTokensPerSecond: decodeRates,
        decodeToBytesTokensPerSecond: decodeBytesRates,
        ratiosVsTiktoken: {
          encode: round(encodeRates.ours / encodeRates.tiktoken),
          encodeColdCache: round(coldRate / encodeRates.tiktoken),
          decodeToString: round(decodeRates.ours / decodeRates.tiktoken),
          decodeToBytes: round(decodeBytesRates.ours / decodeBytesRates.tiktoken),
          gptTokenizerEncode: round(encodeRates.gptTokenizer / encodeRates.tiktoken),
        },
        families: { textBytes: FAMILY_TEXT_BYTES, ...families },
      },
      null,
      2,
    ),
  );
} finally {
  tiktoken.free();
}
