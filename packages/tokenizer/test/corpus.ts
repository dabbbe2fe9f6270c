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
