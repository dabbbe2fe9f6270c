// Hugging Face `Split` semantics: the pattern's matches and the gaps between them cover the text;
// `invert` swaps which of the two is the delimiter; `behavior` says what happens to delimiters.
// Empty pieces are dropped, as `tokenizers` drops them.

export type SplitBehavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

export const SPLIT_BEHAVIORS: readonly SplitBehavior[] = [
  "Removed",
  "Isolated",
  "MergedWithPrevious",
  "MergedWithNext",
  "Contiguous",
];

/** Splits `text` at the matches of `pattern` (a global RegExp) the way `tokenizers`' Split does. */
export function splitText(text: string, pattern: RegExp, behavior: SplitBehavior, invert: boolean): string[] {
  // (start, end, isDelimiter) runs covering the text.
  const starts: number[] = [];
  const ends: number[] = [];
  const delimiter: boolean[] = [];
  const push = (start: number, end: number, isMatch: boolean) => {
    starts.push(start);
    ends.push(end);
    delimiter.push(isMatch !== invert);
  };
  let last = 0;
  pattern.lastIndex = 0;
  for (const match of text.matchAll(pattern)) {
    if (match[0].length === 0) continue;
    if (match.index > last) push(last, match.index, false);
    push(match.index, match.index + match[0].length, true);
    last = match.index + match[0].length;
  }
  if (last < text.length) push(last, text.length, false);

  const pieces: [number, number][] = [];
  const n = starts.length;
  switch (behavior) {
    case "Removed":
      for (let i = 0; i < n; i++) if (!delimiter[i]) pieces.push([starts[i], ends[i]]);
      break;
    case "Isolated":
      for (let i = 0; i < n; i++) pieces.push([starts[i], ends[i]]);
      break;
    case "Contiguous":
      for (let i = 0; i < n; i++) {
        if (i > 0 && delimiter[i] === delimiter[i - 1]) pieces[pieces.length - 1][1] = ends[i];
        else pieces.push([starts[i], ends[i]]);
      }
      break;
    case "MergedWithPrevious":
      for (let i = 0; i < n; i++) {
        const joins = delimiter[i] && i > 0 && !delimiter[i - 1];
        if (joins) pieces[pieces.length - 1][1] = ends[i];
        else pieces.push([starts[i], ends[i]]);
      }
      break;
    case "MergedWithNext":
      for (let i = n - 1; i >= 0; i--) {
        const joins = delimiter[i] && i < n - 1 && !delimiter[i + 1];
        if (joins) pieces[pieces.length - 1][0] = starts[i];
        else pieces.push([starts[i], ends[i]]);
      }
      pieces.reverse();
      break;
  }
  return pieces.map(([start, end]) => text.slice(start, end));
}
