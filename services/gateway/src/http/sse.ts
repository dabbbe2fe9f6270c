// A Server-Sent Events response that never lets a client who stopped reading hold its generation for long.
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { LlmError } from "@llm/errors";

export class SseResponse {
  /** `stallTimeoutMs`: how long a write may wait for the client to read (LLM_HTTP_STALL_TIMEOUT_MS). */
  constructor(
    private readonly res: ServerResponse,
    private readonly stallTimeoutMs: number,
  ) {}

  open(): void {
    this.res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no", // proxies (nginx) must pass each event on at once
    });
  }

  /**
   * Writes one `data:` event. Once the socket's buffer is full (the client reads slower than we generate), waits
   * for it to drain; past the stall timeout it throws, which ends the generation and frees its batch slot.
   */
  async send(data: object | "[DONE]"): Promise<void> {
    const text = typeof data === "string" ? data : JSON.stringify(data);
    if (this.res.write(`data: ${text}\n\n`)) return;
    const waited = new AbortController(); // a plain timer: an AbortSignal.timeout may be collected before firing
    const timer = setTimeout(() => waited.abort(), this.stallTimeoutMs);
    const { signal } = waited;
    try {
      await Promise.race([once(this.res, "drain", { signal }), once(this.res, "close", { signal })]);
    } catch {
      this.res.destroy(); // the unread backlog is dropped with the connection
      throw new LlmError(
        "cancelled",
        `the client read nothing for ${this.stallTimeoutMs} ms (LLM_HTTP_STALL_TIMEOUT_MS): generation cancelled`,
      );
    } finally {
      clearTimeout(timer);
      waited.abort(); // removes the listener that lost the race
    }
    if (this.res.destroyed) throw new LlmError("cancelled", "the HTTP client disconnected");
  }

  end(): void {
    this.res.end();
  }

  /** Ends the stream with the error as an event (the status line is long sent); the openai clients raise it. */
  fail(error: object): void {
    if (this.res.destroyed) return;
    this.res.end(`data: ${JSON.stringify(error)}\n\n`);
  }
}
