// The one logger contract of the project: a library takes a `Log` and calls it with structured entries; the service
// decides where lines go and how much is written (LLM_LOG_LEVEL). Lines are JSON on stderr, because stdout carries
// only the announcement lines a launcher reads (announce.ts).

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogEntry {
  level: LogLevel;
  msg: string;
  /** Context of the line (ids, addresses, an `err`); Errors are written with name, message, stack and cause. */
  [field: string]: unknown;
}

export type Log = (entry: LogEntry) => void;

/** For tests and benches that do not want the lines. */
export const silentLog: Log = () => {};

/** JSON lines of `minLevel` and more severe levels, each with its time, to `write` (stderr by default). */
export function jsonLog(minLevel: LogLevel = "info", write: (line: string) => void = toStderr): Log {
  const least = LOG_LEVELS.indexOf(minLevel);
  if (least < 0) throw new Error(`unknown log level "${minLevel}": one of ${LOG_LEVELS.join(", ")}`);
  return (entry) => {
    if (LOG_LEVELS.indexOf(entry.level) < least) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), ...entry }, errorFields)}\n`);
  };
}

function toStderr(line: string): void {
  process.stderr.write(line);
}

function errorFields(_key: string, value: unknown): unknown {
  return value instanceof Error
    ? { name: value.name, message: value.message, stack: value.stack, cause: value.cause }
    : value;
}
