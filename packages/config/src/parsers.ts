// Parsers turn one environment string into a typed value. `form` says what is accepted, for errors and docs.

export interface Parser<T> {
  readonly form: string;
  /** Returns the value, or throws an Error whose message says what was wrong with `raw`. */
  parse(raw: string): T;
}

function parser<T>(form: string, parse: (raw: string) => T): Parser<T> {
  return { form, parse };
}

export function int({ min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}): Parser<number> {
  const form = `an integer from ${min} to ${max}`;
  return parser(form, (raw) => {
    const value = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new Error(`expected ${form}`);
    return value;
  });
}

export function float({ min = -Infinity, max = Infinity } = {}): Parser<number> {
  const form = `a number from ${min} to ${max}`;
  return parser(form, (raw) => {
    const value = raw.trim() === "" ? Number.NaN : Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) throw new Error(`expected ${form}`);
    return value;
  });
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

export const bool: Parser<boolean> = parser("true/false (also 1/0, yes/no, on/off)", (raw) => {
  const word = raw.trim().toLowerCase();
  if (TRUE.has(word)) return true;
  if (FALSE.has(word)) return false;
  throw new Error("expected true or false (also 1/0, yes/no, on/off)");
});

export const string: Parser<string> = parser("any text", (raw) => raw);

export function oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
  const form = `one of ${choices.join(", ")}`;
  return parser(form, (raw) => {
    const word = raw.trim() as T;
    if (!choices.includes(word)) throw new Error(`expected ${form}`);
    return word;
  });
}

/** An absolute URL whose scheme is one of `schemes` (e.g. redis://host:6379). */
export function url(schemes: readonly string[]): Parser<string> {
  const form = `a URL starting with ${schemes.map((s) => `${s}://`).join(" or ")}`;
  return parser(form, (raw) => {
    const text = raw.trim();
    if (!URL.canParse(text) || !schemes.includes(new URL(text).protocol.slice(0, -1))) {
      throw new Error(`expected ${form}`);
    }
    return text;
  });
}

/** A gRPC target as grpc-js takes it: host:port, [ipv6]:port or unix:/path. */
export const address: Parser<string> = parser("host:port (or unix:/path)", (raw) => {
  const text = raw.trim();
  if (/^unix:.+/.test(text)) return text;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65_535) {
    throw new Error("expected host:port (or unix:/path), e.g. 127.0.0.1:50051");
  }
  return text;
});

/** Comma-separated items, each parsed by `item`; blanks around commas are ignored. */
export function list<T>(item: Parser<T>): Parser<T[]> {
  const form = `a comma-separated list, each ${item.form}`;
  return parser(form, (raw) => {
    const items = raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    if (items.length === 0) throw new Error(`expected ${form}`);
    return items.map((s) => {
      try {
        return item.parse(s);
      } catch {
        throw new Error(`item "${s}": expected ${form}`);
      }
    });
  });
}
