// The tokenizer's text corpus (hand-written samples in this folder) and a deterministic generator of
// large mixed text from it, shared by the tokenizer's parity tests and its benchmark.
import { readFileSync } from "node:fs";

const SAMPLES = {
  prose: "prose-en.txt",
  typescript: "code-ts.ts.txt",
  python: "code-py.py.txt",
  rust: "code-rs.rs.txt",
  json: "data.json.txt",
  cjk: "cjk.txt",
  arabicHindi: "arabic-hindi.txt",
  emoji: "emoji.txt",
} as const;

export type SampleName = keyof typeof SAMPLES;

export function readSamples(): Record<SampleName, string> {
  const read = (file: string) => readFileSync(new URL(file, import.meta.url), "utf8");
  return Object.fromEntries(Object.entries(SAMPLES).map(([name, file]) => [name, read(file)])) as Record<
    SampleName,
    string
  >;
}

/** Mulberry32: a tiny seeded PRNG, so generated text is identical on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = "ka ri to ne mo sha lin dor vel qua ex stra ph th ion ent ar bo gu zi".split(" ");

/**
 * About `targetBytes` of text: mostly English prose (sentences reshuffled, 15% of words swapped for
 * pseudo-words drawn from a 50,000-word Zipf-like lexicon so the text has a realistic long tail of
 * rare words), plus blocks of code, JSON, CJK, Arabic/Hindi and emoji.
 */
export function buildMixedText(targetBytes: number, seed = 1): string {
  const random = seededRandom(seed);
  const samples = readSamples();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const lexicon = Array.from({ length: 50_000 }, () => {
    let word = "";
    for (let n = 2 + Math.floor(random() * 3); n > 0; n--) word += pick(SYLLABLES);
    return word;
  });
  const sentences = samples.prose.split(/(?<=[.!?"])\s+/).filter((s) => s.length > 0);
  const rareWord = () => lexicon[Math.floor(lexicon.length ** random()) - 1];
  const paragraph = () =>
    Array.from({ length: 5 }, () =>
      pick(sentences).replace(/\p{L}+/gu, (word) => (random() < 0.15 ? rareWord() : word)),
    ).join(" ");
  const lines = (text: string) => {
    const all = text.split("\n");
    const start = Math.floor(random() * all.length);
    return all.slice(start, start + 4 + Math.floor(random() * 12)).join("\n");
  };
  const blocks: [weight: number, make: () => string][] = [
    [0.78, paragraph],
    [0.04, () => lines(samples.typescript)],
    [0.02, () => lines(samples.python)],
    [0.02, () => lines(samples.rust)],
    [0.03, () => lines(samples.json)],
    [0.04, () => lines(samples.cjk)],
    [0.04, () => lines(samples.arabicHindi)],
    [0.03, () => lines(samples.emoji)],
  ];
  const parts: string[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    const block = `${pickWeighted(blocks, random())()}\n\n`;
    parts.push(block);
    bytes += Buffer.byteLength(block);
  }
  return parts.join("");
}

/** The item whose cumulative weight first exceeds `roll` (in [0, 1)). */
function pickWeighted<T>(items: readonly [weight: number, item: T][], roll: number): T {
  let remaining = roll;
  for (const [weight, item] of items) {
    remaining -= weight;
    if (remaining < 0) return item;
  }
  return items[0][1];
}
