// The gateway's OpenAI-compatible HTTP API (node:http): routes, keys, limits, and the one generation path.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isLlmError, LlmError, toLlmError } from "@llm/errors";
import { checkHealth } from "@llm/rpc";
import type { ApiKeys } from "../api-keys.js";
import type { EmbeddingModels } from "../embeddings.js";
import { type GenerationContext, type GenerationDeps, generate, generateWhole } from "../generation.js";
import { serveEmbeddings } from "./embeddings-route.js";
import { errorResponse } from "./error-body.js";
import { inHttpSpan } from "./http-span.js";
import { readJsonBody } from "./json-body.js";
import { type Endpoint, type OpenAiRequest, parseOpenAiRequest } from "./openai-request.js";
import { OpenAiShaper } from "./openai-response.js";
import { SseResponse } from "./sse.js";

export interface HttpLimits {
  maxBodyBytes: number;
  /** Deadline of each generation; the `X-Request-Timeout-Ms` header may shorten it. */
  requestTimeoutMs: number;
  stallTimeoutMs: number;
}

export interface HttpApiDeps {
  generation: GenerationDeps;
  embeddings: EmbeddingModels;
  keys: ApiKeys;
  limits: HttpLimits;
  /** Upstream name → gRPC address, all SERVING for `/ready` to answer 200. */
  upstreamAddresses: Record<string, string>;
}

const ENDPOINTS: Record<string, Endpoint> = { "/v1/completions": "completions", "/v1/chat/completions": "chat" };
const ID_PREFIX: Record<Endpoint, string> = { completions: "cmpl", chat: "chatcmpl" };
const OWNER = "llm-serving";

export function createHttpApi(deps: HttpApiDeps): Server {
  return createServer((req, res) => {
    inHttpSpan(req, res, routeName(req), () => route(req, res, deps)).catch((err: unknown) => {
      if (!isLlmError(err)) deps.generation.log({ level: "error", msg: "http handler failed", path: req.url, err });
      if (res.headersSent || res.destroyed) return; // a stream already reported it, or the client is gone
      const { status, headers, body } = errorResponse(err);
      sendJson(res, status, body, headers);
    });
  });
}

const ROUTES = new Set([...Object.keys(ENDPOINTS), "/v1/embeddings", "/v1/models", "/health", "/ready"]);

/** The route a request matched, for its span's name (a path may hold ids; a route names the shape). */
function routeName(req: IncomingMessage): string {
  const path = pathOf(req);
  if (ROUTES.has(path)) return path;
  return path.startsWith("/v1/models/") ? "/v1/models/{model}" : "(unknown)";
}

/** The request target's path; a target no URL parser accepts (`//[`) is a path no route has. */
function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? "/", "http://gateway").pathname;
  } catch {
    return req.url ?? "/";
  }
}

async function route(req: IncomingMessage, res: ServerResponse, deps: HttpApiDeps): Promise<void> {
  const path = pathOf(req);
  const endpoint = ENDPOINTS[path];
  if (req.method === "POST" && endpoint) return serveGeneration(req, res, deps, endpoint);
  if (req.method === "POST" && path === "/v1/embeddings") {
    const routeDeps = { ...deps, maxBodyBytes: deps.limits.maxBodyBytes, log: deps.generation.log };
    return sendJson(
      res,
      200,
      await serveEmbeddings(req, clientGone(res), Date.now() + timeoutMs(req, deps.limits), routeDeps),
    );
  }
  if (req.method === "GET" && path === "/health") return sendJson(res, 200, { status: "ok" });
  if (req.method === "GET" && path === "/ready") return sendJson(res, 200, await readiness(deps.upstreamAddresses));
  if (req.method === "GET" && path.startsWith("/v1/models")) {
    deps.keys.authenticate(req.headers.authorization);
    const ids = [...(await deps.generation.models.list()).map(({ id }) => id), ...(await deps.embeddings.ids())];
    const card = (id: string) => ({ id, object: "model", created: 0, owned_by: OWNER });
    if (path === "/v1/models") return sendJson(res, 200, { object: "list", data: ids.map(card) });
    const named = modelInPath(path.slice("/v1/models/".length));
    if (ids.includes(named)) return sendJson(res, 200, card(named));
    return sendJson(res, 200, card((await deps.generation.models.resolve(named)).id));
  }
  throw new LlmError(
    "not_found",
    `no route ${req.method} ${path}: the API serves POST /v1/completions, POST /v1/chat/completions, ` +
      "POST /v1/embeddings, GET /v1/models, GET /health and GET /ready",
  );
}

function modelInPath(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new LlmError("invalid_argument", `the model id in the path, "${encoded}", is not percent-encoded UTF-8`, {
      details: { field: "model" },
    });
  }
}

/** 200 when every upstream reports SERVING; else UNAVAILABLE naming the ones that do not. */
async function readiness(upstreams: Record<string, string>): Promise<object> {
  const statuses = await Promise.all(
    Object.entries(upstreams).map(async ([name, address]) => {
      const status = await checkHealth(address, "", 1000).catch((err: Error) => err.message);
      return [name, status] as const;
    }),
  );
  const down = statuses.filter(([, status]) => status !== "SERVING");
  if (down.length > 0) {
    throw new LlmError("unavailable", `not ready: ${down.map(([name, status]) => `${name}: ${status}`).join("; ")}`, {
      retryAfterMs: 1000,
    });
  }
  return { status: "ready", upstreams: Object.fromEntries(statuses) };
}

async function serveGeneration(
  req: IncomingMessage,
  res: ServerResponse,
  deps: HttpApiDeps,
  endpoint: Endpoint,
): Promise<void> {
  const caller = deps.keys.authenticate(req.headers.authorization); // before reading a byte of the body
  const body = await readJsonBody(req, deps.limits.maxBodyBytes);
  const requestId = randomUUID();
  const parsed = parseOpenAiRequest(endpoint, body, requestId);
  const model = await deps.generation.models.resolve(parsed.request.model);
  parsed.request.model = model.id;
  const release = caller.acquire(requestId);
  try {
    // The client going away (mid-stream or while waiting for a whole answer) cancels the generation at the runner.
    const ctx: GenerationContext = {
      signal: clientGone(res),
      deadline: Date.now() + timeoutMs(req, deps.limits),
      caller: caller.id,
    };
    deps.generation.log({
      level: "info",
      msg: "http request",
      requestId,
      endpoint,
      caller: caller.id,
      user: parsed.user,
      stream: parsed.stream,
    });
    res.setHeader("x-request-id", requestId); // names it in a gRPC Cancel
    const shaper = new OpenAiShaper(endpoint, `${ID_PREFIX[endpoint]}-${requestId}`, model.id, parsed.includeUsage);
    if (parsed.stream) {
      await streamEvents(parsed, ctx, new SseResponse(res, deps.limits.stallTimeoutMs), shaper, deps.generation);
    } else {
      sendJson(res, 200, shaper.whole(await generateWhole(parsed.request, ctx, deps.generation)));
    }
  } finally {
    release();
  }
}

/**
 * The generation as SSE chunks, then `data: [DONE]`. The status line waits for the first event, so a request
 * refused up front (validation, capacity, context length) still gets its HTTP status and error body.
 */
async function streamEvents(
  { request, includeUsage }: OpenAiRequest,
  ctx: GenerationContext,
  sse: SseResponse,
  shaper: OpenAiShaper,
  deps: GenerationDeps,
): Promise<void> {
  let opened = false;
  try {
    for await (const { event } of generate(request, ctx, deps)) {
      if (!opened) {
        opened = true;
        sse.open();
        const role = shaper.roleChunk();
        if (role) await sse.send(role);
      }
      if (event.case === "delta") {
        for (const chunk of shaper.deltaChunks(event.value)) await sse.send(chunk);
      } else {
        for (const chunk of shaper.finishChunks(event.value)) await sse.send(chunk);
        if (includeUsage) await sse.send(shaper.usageChunk(event.value));
      }
    }
    await sse.send("[DONE]");
    sse.end();
  } catch (err) {
    if (!opened) throw err;
    const { code, message } = toLlmError(err);
    deps.log({
      level: code === "cancelled" ? "info" : "warn", // a client going away is routine
      msg: "http stream ended early",
      requestId: request.requestId,
      err: message,
    });
    sse.fail(errorResponse(err).body);
  }
}

/** Aborts when the client goes away before the response is finished. */
function clientGone(res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) gone.abort(new LlmError("cancelled", "the HTTP client disconnected"));
  });
  return gone.signal;
}

function timeoutMs(req: IncomingMessage, limits: HttpLimits): number {
  const asked = Number(req.headers["x-request-timeout-ms"]);
  return Number.isFinite(asked) && asked > 0 ? Math.min(asked, limits.requestTimeoutMs) : limits.requestTimeoutMs;
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
