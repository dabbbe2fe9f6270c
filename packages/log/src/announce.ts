// The only lines a service writes to stdout: where it listens, for whoever started it (packages/launcher reads them).

export interface Announcement {
  /** "listening": a server's address (gRPC host:port, or the gateway's HTTP URL); "metrics": the /metrics port. */
  event: "listening" | "metrics";
  /** The name a launcher asks for, e.g. "tokenizer", "gateway-http". */
  service: string;
  address: string;
}

export function announce(announcement: Announcement, write: (line: string) => void = toStdout): void {
  const { event, service, address } = announcement;
  write(`${JSON.stringify({ event, service, address })}\n`);
}

function toStdout(line: string): void {
  process.stdout.write(line);
}
