// POST /v1/embeddings in OpenAI's shape: `input` as a string, a list of strings, token ids or lists of token
// ids; `encoding_format` float or base64 (little-endian float32, what the openai clients ask for by default);
// `dimensions`; `user`; usage. Our extension `truncate: false` refuses an over-long input instead of cutting it.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { LlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import type { EmbedResponse } from "@llm/proto";
import type { ApiKeys } from "../api-keys.js";
import type { EmbeddingModels, EmbedRequestInit } from "../embeddings.js";
import { shown } from "../shown.js";
import { readJsonBody } from "./json-body.js";
import { Fields } from "./openai-request.js";

type EncodingFormat = "float" | "base64";
type EmbedInputInit = EmbedRequestInit["inputs"];

export interface EmbeddingsRouteDeps {
  embeddings: EmbeddingModels;
  keys: ApiKeys;
  maxBodyBytes: number;
  log: Log;
}

/** Answers one POST /v1/embeddings with its JSON body (errors are thrown, shaped by the caller). */
export async function serveEmbeddings(
  req: IncomingMessage,
  signal: AbortSignal,
  deadline: number,
  deps: EmbeddingsRouteDeps,
): Promise<object> {
  const caller = deps.keys.authenticate(req.headers.authorization); // before reading a byte of the body
  const body = await readJsonBody(req, deps.maxBodyBytes);
  const { request, encodingFormat, user } = parseEmbeddingsBody(body);
  const requestId = randomUUID();
  const release = caller.acquire(requestId);
  try {
    deps.log({
      level: "info",
      msg: "http embeddings",
      requestId,
      caller: caller.id,
      user,
      inputs: request.inputs?.length,
    });
    const response = await deps.embeddings.embed(request, { signal, deadline });
    return openAiBody(response, encodingFormat);
  } finally {
    release();
  }
}

export function parseEmbeddingsBody(body: Record<string, unknown>): {
  request: EmbedRequestInit;
  encodingFormat: EncodingFormat;
  user: string | undefined;
} {
  const fields = new Fields(body);
  const model = fields.string("model");
  if (model === undefined || model === "")
    fields.problem("model", "model is required: name an embedding model (see GET /v1/models)");
  const inputs = inputsOf(body.input, fields);
  const encodingFormat = fields.string("encoding_format") ?? "float";
  if (encodingFormat !== "float" && encodingFormat !== "base64") {
    fields.problem("encoding_format", `encoding_format must be "float" or "base64", got ${shown(encodingFormat)}`);
  }
  const dimensions = fields.integer("dimensions");
  if (dimensions !== undefined && dimensions < 1)
    fields.problem("dimensions", `dimensions must be at least 1, got ${dimensions}`);
  const truncate = fields.boolean("truncate") ?? true;
  const user = fields.string("user");
  if (fields.problems.length > 0) {
    throw new LlmError("invalid_argument", `invalid request: ${fields.problems.map((p) => p.message).join("; ")}`, {
      details: { problems: fields.problems },
    });
  }
  return {
    request: { model, inputs, dimensions, refuseTruncation: !truncate, user: user ?? "" },
    encodingFormat: encodingFormat as EncodingFormat,
    user,
  };
}

/** OpenAI's four shapes of `input`; an empty string or list is refused here, naming where it is. */
function inputsOf(input: unknown, fields: Fields): EmbedInputInit {
  const isIds = (value: unknown): value is number[] =>
    Array.isArray(value) && value.every((v) => typeof v === "number");
  const text = (value: string, field: string) => {
    if (value === "") fields.problem(field, `${field} is an empty string: there is nothing to embed`);
    return { input: { case: "text" as const, value } };
  };
  const ids = (value: number[], field: string) => {
    if (value.length === 0) fields.problem(field, `${field} is an empty list of token ids`);
    const bad = value.findIndex((id) => !(Number.isSafeInteger(id) && id >= 0 && id < 2 ** 32));
    if (bad >= 0)
      fields.problem(field, `${field}[${bad}] is ${shown(value[bad])}: token ids are non-negative integers`);
    return { input: { case: "tokenIds" as const, value: { ids: value } } };
  };
  if (typeof input === "string") return [text(input, "input")];
  if (!Array.isArray(input)) {
    fields.problem(
      "input",
      `input must be a string, a list of strings, token ids or lists of token ids, got ${shown(input)}`,
    );
    return [];
  }
  if (input.length === 0) {
    fields.problem("input", "input is an empty list: give at least one input to embed");
    return [];
  }
  if (isIds(input)) return [ids(input, "input")];
  return input.map((item, i) => {
    if (typeof item === "string") return text(item, `input[${i}]`);
    if (isIds(item)) return ids(item, `input[${i}]`);
    fields.problem(`input[${i}]`, `input[${i}] must be a string or a list of token ids, got ${shown(item)}`);
    return {};
  });
}

function openAiBody(response: EmbedResponse, format: EncodingFormat): object {
  return {
    object: "list",
    data: response.embeddings.map(({ values }, index) => ({
      object: "embedding",
      index,
      embedding: format === "base64" ? Buffer.from(Float32Array.from(values).buffer).toString("base64") : values,
    })),
    model: response.model,
    usage: { prompt_tokens: response.promptTokens, total_tokens: response.promptTokens },
  };
}
