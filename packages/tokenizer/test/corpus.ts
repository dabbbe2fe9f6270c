// The parity corpus: the hand-written samples from bench/corpus plus generated edge cases.
import { readSamples, seededRandom } from "../../../bench/corpus/corpus.js";

function randomLetters(length: number, seed: number): string {
  const random = seededRandom(seed);
  let word = "";
  for (let i = 0; i < length; i++) word += String.fromCharCode(97 + Math.floor(random() * 26));
  return word;
}

/** Named texts that every tokenizer under test must agree on. */
export function parityCorpus(): Record<string, string> {
  return {
    ...readSamples(),
    digits: `Pi is 3.14159265358979323846264338327950288419716939937510 and ${"1234567890".repeat(40)} end`,
    whitespace: "a  b\t\tc\n\n\nd   \n  e \r\n f\u3000g\u00a0h   \t \n  trailing   ",
    leadingWhitespace: "   \n\t leading",
    onlyWhitespace: " \t\n \n\n   ",
    contractions: "it's isn't we're they've I'm we'll he'd IT'S DON'T We'Re 's 't 'll 've 're 'd 'm 'x ''s '",
    punctuation: 'Wait... what?!? (yes) [no] {maybe} <tag/> a->b && c || d; e::f @g #h $i %j ^k *l ~m `n` "q"',
    urls: "See https://example.com/path?q=1&r=two#frag or mailto:someone@example.org.",
    repeatedWord: "supercalifragilistic".repeat(500),
    longRandomWord: randomLetters(10_000, 7),
    longSpaces: `x${" ".repeat(10_000)}y`,
    mixedScripts: "Hello世界مرحباनमस्ते123abc Ελλάδα-Россия_עברית😀ok",
    combining: "e\u0301 n\u0303 a\u030a \u0915\u093f \ud83d\udc4d\ud83c\udffd",
    empty: "",
  };
}

/** The parity corpus plus the scripts, emoji and literals where model families' tokenizers differ most. */
export function familyCorpus(): Record<string, string> {
  return {
    ...parityCorpus(),
    emojiZwj: "Family 👨‍👩‍👧‍👦, couple 👩‍❤️‍💋‍👨, rainbow 🏳️‍🌈 and pirate 🏴‍☠️ flags",
    flagsAndSkinTones: "🇯🇵🇺🇸🇫🇷 🇩🇪 wave 👋🏻👋🏼👋🏽👋🏾👋🏿 thumbs 👍🏽",
    cjk: "日本語のテキストです。中文文本，繁體中文。한국어 문장입니다. ｶﾀｶﾅ ＡＢＣ１２３",
    arabicHindiThai: "مرحبا بالعالم، كيف حالك؟ नमस्ते दुनिया, आप कैसे हैं? สวัสดีชาวโลก สบายดีไหม",
    digitRuns: "1 12 123 1234 12345 123456 0.5 -42 3,141,592 ٣٤٥ ९८७ 2026-12-03T08:15:00Z",
    whitespaceRuns: "a\u0020\u0020b\n\n\nc\t\t\td \r\n\r\n e\u3000\u3000f     \n     g",
    code: 'def f(x):\n    """Doc."""\n    return {"a": [1, 2], \'b\': x ** 2}  # note\n\nfor (let i = 0; i < n; i++) {\n\tconsole.log(`item`, i);\n}\n',
    specialLiterals:
      "<s> </s> <unk> <bos> <eos> <pad> <start_of_turn>user <end_of_turn> <|begin_of_text|><|eot_id|> <|im_start|>x<|im_end|> <|endoftext|> <｜begin▁of▁sentence｜> <think></think>",
    nfd: "Cafe\u0301 re\u0301sume\u0301 an\u0303o u\u0308ber A\u030angstro\u0308m \u1100\u1161\u11a8",
    metaspaceLike: "▁already▁has▁markers ▁ ▁▁ x▁",
    byteFallbackRare: "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀𓀁 🀄 \u{10FFFD} \u0000\u0001\u007f",
  };
}
