// Reading a request's JSON body within a byte limit: the checks every POST of the HTTP API shares.
import { isUtf8 } from "node:buffer";
import type { IncomingMessage } from "node:http";
import { LlmError } from "@llm/errors";
import { checkJsonText, decodeUtf8Marking, notUtf8Text } from "./json-text.js";

/**
 * The body as a JSON object; INVALID_ARGUMENT for a wrong content type, bad JSON or text that is not UTF-8 (naming
 * the field), PAYLOAD_TOO_LARGE past `maxBytes`.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const mediaType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw new LlmError(
      "invalid_argument",
      `Content-Type is "${req.headers["content-type"] ?? ""}": send the body as JSON with Content-Type: application/json`,
      { details: { field: "content-type" } },
    );
  }
  const tooLarge = () =>
    new LlmError(
      "payload_too_large",
      `the request body is over ${maxBytes} bytes, the limit (LLM_HTTP_MAX_BODY_BYTES); send a shorter prompt`,
      { details: { limit: maxBytes } },
    );
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and dropped, not kept: closing the socket instead would fail the client's
    // upload (EPIPE) before it reads the 413. The server's request timeout bounds how long that may take.
    let over = Number(req.headers["content-length"] ?? 0) > maxBytes;
    if (over) reject(tooLarge());
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (over) return;
      if (size > maxBytes) {
        over = true;
        chunks.length = 0;
        reject(tooLarge());
      } else {
        chunks.push(chunk);
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    // The client hung up before sending the whole body: nobody is left to answer.
    req.on("error", () => reject(new LlmError("cancelled", "the client disconnected while sending the body")));
  });
  let body: unknown;
  try {
    body = JSON.parse(decodeUtf8Marking(bytes));
  } catch (err) {
    throw new LlmError("invalid_argument", `the request body is not valid JSON: ${(err as Error).message}`, {
      details: { field: "body" },
    });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new LlmError("invalid_argument", "the request body must be a JSON object", { details: { field: "body" } });
  }
  checkJsonText(body);
  // A marked byte can only have gone unseen by pairing with an escaped high surrogate ("\ud800" then 0xff).
  if (!isUtf8(bytes)) throw notUtf8Text("body");
  return body as Record<string, unknown>;
}
