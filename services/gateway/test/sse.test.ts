// SseResponse over real loopback sockets: a client that stops reading is cut off after the stall timeout, one
// that reads slowly is not. (The kernel absorbs megabytes before a write waits, more than the tiny model can
// produce within its 1024-token context, hence large events here rather than a generation.)
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { LlmError } from "@llm/errors";
import { afterEach, describe, expect, it } from "vitest";
import { SseResponse } from "../src/http/sse.js";

const STALL_MS = 300;
const EVENT = { text: "x".repeat(64 * 1024) };

let server: Server | undefined;
let client: Socket | undefined;

afterEach(async () => {
  client?.destroy();
  server?.closeAllConnections();
  if (server) await new Promise((resolve) => server?.close(resolve));
});

/** Serves one SSE response that sends `events` large events (or until a send fails) and reports how it ended. */
async function serve(events: number): Promise<{ port: number; ended: Promise<{ sent: number; error?: unknown }> }> {
  let report: (outcome: { sent: number; error?: unknown }) => void = () => {};
  const ended = new Promise<{ sent: number; error?: unknown }>((resolve) => {
    report = resolve;
  });
  server = createServer(async (_req, res) => {
    const sse = new SseResponse(res, STALL_MS);
    sse.open();
    let sent = 0;
    try {
      for (; sent < events; sent++) await sse.send(EVENT);
      await sse.send("[DONE]");
      sse.end();
      report({ sent });
    } catch (error) {
      report({ sent, error });
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  return { port: typeof address === "object" && address ? address.port : 0, ended };
}

async function request(port: number): Promise<Socket> {
  client = connect(port, "127.0.0.1");
  await once(client, "connect");
  client.write("GET /stream HTTP/1.1\r\nhost: test\r\n\r\n");
  return client;
}

describe("SseResponse", () => {
  it("cuts off a client that stopped reading once its buffers are full, after the stall timeout", async () => {
    const { port, ended } = await serve(10_000); // 640 MiB: far more than any socket buffers
    const socket = await request(port);
    socket.pause();
    const { sent, error } = await ended;
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).code).toBe("cancelled");
    expect((error as LlmError).message).toMatch(/read nothing for 300 ms \(LLM_HTTP_STALL_TIMEOUT_MS\)/);
    expect(sent * EVENT.text.length).toBeGreaterThan(256 * 1024); // the kernel's buffers took their share first
    expect(sent).toBeLessThan(10_000);
    const closed = once(socket, "close");
    socket.resume();
    await closed; // the gateway dropped the connection
  });

  it("lets a slow but reading client have every event", async () => {
    const events = 100; // 6.4 MiB: more than the buffers hold, so the writer waits on the reader
    const { port, ended } = await serve(events);
    const socket = await request(port);
    let received = 0;
    let tail = "";
    let nextPause = 0;
    const done = new Promise<void>((resolve) => {
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        tail = (tail + chunk.toString("latin1")).slice(-64);
        if (tail.includes("data: [DONE]")) resolve();
        if (received < nextPause) return;
        // A pause every 512 KiB, shorter than the stall timeout: slow, never stalled.
        nextPause = received + 512 * 1024;
        socket.pause();
        setTimeout(() => socket.resume(), STALL_MS / 5);
      });
    });
    expect(await ended).toEqual({ sent: events });
    await done;
    expect(received).toBeGreaterThan(events * EVENT.text.length);
  });
});
