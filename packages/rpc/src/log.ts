/** A structured log line; libraries take a Log so services decide where lines go. */
export type Log = (entry: {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  [field: string]: unknown;
}) => void;

/** JSON lines on stderr: stdout is kept for the machine-read `listening` line. */
export const stderrLog: Log = (entry) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry }, errorFields)}\n`);
};

function errorFields(_key: string, value: unknown): unknown {
  return value instanceof Error
    ? { name: value.name, message: value.message, stack: value.stack, cause: value.cause }
    : value;
}
