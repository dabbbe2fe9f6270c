// One generation through the pipeline: tokenizer → model runner → detokenizer, streamed back as deltas and a final.
// The upstream calls are in upstreams.ts, the events it yields in generation-events.ts.
import { randomUUID } from "node:crypto";
import { LlmError, toLlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import {
  clone,
  create,
  type DecodeStreamResponse,
  FinishReason,
  type GenerateRequest,
  GenerateRequestSchema,
  ModelRunnerServiceGenerateRequestSchema,
  type ModelRunnerServiceGenerateResponse,
  type SamplingParams,
  SamplingParamsSchema,
  type TokenEvent,
  ToolCallSyntax,
  timestampFromMs,
} from "@llm/proto";
import type { CallContext } from "@llm/rpc";
import { randomSeed64 } from "@llm/sampling";
import { LLM_ATTR } from "@llm/telemetry";
import { trace } from "@opentelemetry/api";
import { traceContent } from "./content-trace.js";
import type { Dispatch, DispatchCall } from "./dispatch.js";
import type { GenerationDelta, GenerationFinal, ResponseEvent, UsageInit } from "./generation-events.js";
import type { InflightRequests } from "./inflight.js";
import { RequestMetrics } from "./request-metrics.js";
import type { ModelInfo, ServedModels } from "./served-models.js";
import type { ParsedText } from "./tools/tool-call-parser.js";
import { toolConstraint } from "./tools/tool-choice.js";
import { OutputText, parsesToolCalls } from "./tools/tool-output.js";
import { callSyntax } from "./tools/tool-syntax.js";
import { type DecodeSession, encodePrompt, openDetokenizer, type Upstreams } from "./upstreams.js";
import { checkContextFits, type InputLimits, validateRequest } from "./validate-request.js";

export interface GenerationDeps {
  upstreams: Upstreams;
  /** Where tokens are generated: the runner (local mode) or the cluster's queue. */
  dispatch: Dispatch;
  models: ServedModels;
  inflight: InflightRequests;
  limits: InputLimits;
  /** LLM_TRACE_CONTENT: prompt and completion text on the request span. */
  traceContent: boolean;
  log: Log;
}

/** What a generation needs from its call, whichever API it came through (gRPC or HTTP). */
export type GenerationContext = Pick<CallContext, "signal" | "deadline"> & {
  /** Who sent it (an API key's id, or "local" with keys off): only the same caller may resume the request. */
  caller?: string;
};

/**
 * Runs `request` and yields its deltas, then exactly one final message. Every upstream call shares one
 * signal: the client going away (or its deadline), a Cancel naming the request, or the end of the output
 * (a stop sequence) cancels the runner's call at once, which frees its batch slot within one step.
 */
export async function* generate(
  request: GenerateRequest,
  ctx: GenerationContext,
  deps: GenerationDeps,
): AsyncGenerator<ResponseEvent> {
  const requestId = request.requestId || randomUUID();
  trace.getActiveSpan()?.setAttribute(LLM_ATTR.requestId, requestId); // a request's trace found by its id
  const admission = deps.inflight.admit(requestId);
  const done = new AbortController();
  const call: DispatchCall = {
    signal: AbortSignal.any([ctx.signal, admission.signal, done.signal]),
    deadline: ctx.deadline,
    caller: ctx.caller,
  };
  const usage: UsageInit = {
    promptTokens: 0,
    completionTokens: 0,
    cachedPromptTokens: 0,
    proposedTokens: 0,
    acceptedTokens: 0,
  };
  let outcome = "failed";
  const content = traceContent(deps.traceContent, request);
  let output: OutputText | undefined; // known once the request is admitted
  const final = (reason: FinishReason, matchedStop = ""): ResponseEvent => {
    const finishReason = output?.finishReason(reason) ?? reason;
    outcome = FinishReason[finishReason].toLowerCase();
    content.finish(outcome);
    const toolCalls = output?.calls ?? [];
    return { event: { case: "final", value: { finishReason, usage, matchedStop, requestId, toolCalls } } };
  };
  const started = performance.now();
  const metrics = new RequestMetrics();
  let status = "ok";
  try {
    const model = await deps.models.resolve(request.model);
    const resumeFrom = request.resumeFromIndex;
    const { admitted, events, detokenizer, toolSyntax } =
      resumeFrom === undefined
        ? await start(request, requestId, model, ctx, call, deps, usage)
        : await resume(request, requestId, model, call, deps);
    output = new OutputText(admitted, toolSyntax);
    let index = 0;
    for await (const { event } of events) {
      if (event.case === "token") {
        // Known from the first token on: a stop sequence ends the request before the runner's final arrives.
        if (event.value.index === 0) usage.cachedPromptTokens = event.value.cachedPromptTokens;
        const decoded = await detokenizer.push(event.value.tokenId, logprobIds(event.value, admitted));
        metrics.token(); // once decoded: the token is ready to leave, as the client will see it
        usage.completionTokens += 1; // counted once decoded, so a cancel never counts a token the client missed
        index = event.value.index;
        // A resumed stream replays every token through the detokenizer (and the tool-call parser) but sends
        // only what the client lacks.
        const parsed = output.push(decoded.text);
        const delta = index >= (resumeFrom ?? 0) ? deltaOf(parsed, decoded, event.value, admitted) : undefined;
        content.completion(decoded.text);
        if (delta) yield delta;
        if (decoded.finished) {
          done.abort(); // The output has ended: free the runner's slot before anything else.
          const rest = restDelta(output, "", index);
          if (rest) yield rest;
          yield final(FinishReason.STOP, decoded.matchedStop);
          return;
        }
      } else if (event.case === "final") {
        const flushed = await detokenizer.flush();
        content.completion(flushed.text);
        const rest = restDelta(output, flushed.text, index);
        if (rest) yield rest;
        usage.promptTokens = event.value.usage?.promptTokens ?? usage.promptTokens;
        usage.completionTokens = event.value.usage?.completionTokens ?? usage.completionTokens;
        usage.cachedPromptTokens = event.value.usage?.cachedPromptTokens ?? usage.cachedPromptTokens;
        usage.proposedTokens = event.value.usage?.proposedTokens ?? 0;
        usage.acceptedTokens = event.value.usage?.acceptedTokens ?? 0;
        yield final(event.value.finishReason);
        return;
      }
    }
    throw new LlmError("unavailable", "the model runner ended its stream without a final event; retry the request");
  } catch (err) {
    // A Cancel by id is an ending the client asked for, not a failure: the stream ends with its final.
    if (admission.signal.aborted && !ctx.signal.aborted) {
      yield final(FinishReason.CANCELLED);
      return;
    }
    outcome = ctx.signal.aborted ? "client gone" : `failed: ${toLlmError(err).code}`;
    status = ctx.signal.aborted ? "cancelled" : toLlmError(err).code;
    throw err;
  } finally {
    metrics.end(status);
    done.abort(); // Ends whatever upstream call is still open.
    admission.release();
    deps.log({
      level: "info",
      msg: "request ended",
      requestId,
      outcome,
      ...usage,
      ms: Math.round(performance.now() - started),
    });
  }
}

/** Every delta's fields but the tool-call pieces (the final has the calls whole). */
export type WholeText = Omit<GenerationDelta, "toolCalls">;

/** A generation collected whole: every delta joined, with the final's fields (the unary answer, by construction). */
export async function generateWhole(
  request: GenerateRequest,
  ctx: GenerationContext,
  deps: GenerationDeps,
): Promise<WholeText & GenerationFinal> {
  const whole: WholeText = { text: "", tokenIds: [], logprobs: [], tokenTexts: [] };
  let final: GenerationFinal | undefined;
  for await (const { event } of generate(request, ctx, deps)) {
    if (event.case === "final") {
      final = event.value;
    } else {
      whole.text += event.value.text;
      whole.tokenIds.push(...event.value.tokenIds);
      whole.logprobs.push(...event.value.logprobs);
      whole.tokenTexts.push(...event.value.tokenTexts);
    }
  }
  if (final === undefined) throw new LlmError("internal", "a generation ended without its final event");
  return { ...whole, ...final };
}

interface Started {
  /** The request as admitted: the seed fixed, the id set (a resume gets it back from the cluster). */
  admitted: GenerateRequest;
  events: AsyncIterable<ModelRunnerServiceGenerateResponse>;
  detokenizer: DecodeSession;
  /** How the model writes tool calls (from its chat template). */
  toolSyntax: ToolCallSyntax;
}

/** Checks, encodes and dispatches a new request. */
async function start(
  request: GenerateRequest,
  requestId: string,
  model: ModelInfo,
  ctx: GenerationContext,
  call: DispatchCall,
  deps: GenerationDeps,
  usage: UsageInit,
): Promise<Started> {
  validateRequest(request, model, deps.limits);
  const detokenizer = openDetokenizer(deps.upstreams, model, request, call);
  const [{ tokenIds: promptIds, toolSyntax }] = await Promise.all([
    encodePrompt(deps.upstreams, model, request, call),
    detokenizer.opened,
  ]);
  checkContextFits(promptIds.length, request.maxTokens, model);
  usage.promptTokens = promptIds.length;
  const admitted = clone(GenerateRequestSchema, request);
  admitted.requestId = requestId;
  admitted.sampling = withSeed(request.sampling);
  const tools = toolConstraint(request, callSyntax(toolSyntax));
  if (tools) admitted.sampling.constraint = { case: "structuralTag", value: tools };
  const runnerRequest = create(ModelRunnerServiceGenerateRequestSchema, {
    requestId,
    model: model.id,
    promptTokenIds: promptIds,
    maxTokens: request.maxTokens,
    sampling: admitted.sampling,
    cacheSalt: request.cacheSalt,
    speculative: request.speculative,
    deadline: ctx.deadline === undefined ? undefined : timestampFromMs(ctx.deadline),
  });
  return { admitted, events: deps.dispatch.generate(runnerRequest, admitted, call), detokenizer, toolSyntax };
}

/** Reattaches to a request another gateway admitted (cluster mode), replaying its tokens from the first. */
async function resume(
  request: GenerateRequest,
  requestId: string,
  model: ModelInfo,
  call: DispatchCall,
  deps: GenerationDeps,
): Promise<Started> {
  if (request.requestId === "") {
    throw new LlmError("invalid_argument", "resume_from_index needs the request_id of the stream to resume", {
      details: { field: "request_id" },
    });
  }
  const { admitted, events } = await deps.dispatch.resume(model.id, requestId, call);
  const detokenizer = openDetokenizer(deps.upstreams, model, admitted, call);
  await detokenizer.opened;
  // The template's call syntax is the tokenizer's to tell: asked again only when the output has calls to parse.
  const toolSyntax = parsesToolCalls(admitted)
    ? (await encodePrompt(deps.upstreams, model, admitted, call)).toolSyntax
    : ToolCallSyntax.UNSPECIFIED;
  return { admitted, events, detokenizer, toolSyntax };
}

/** The sampling params with a seed: fixed here when the client gave none, so a retry reproduces the tokens. */
function withSeed(sampling: SamplingParams | undefined): SamplingParams {
  const seeded = sampling ? clone(SamplingParamsSchema, sampling) : create(SamplingParamsSchema);
  seeded.seed ??= randomSeed64();
  return seeded;
}

function wantsLogprobs(request: GenerateRequest): boolean {
  return Boolean(request.sampling?.logprobs) || (request.sampling?.topLogprobs ?? 0) > 0;
}

/** The ids whose own text a logprobs entry shows: the token, then its alternatives; none without logprobs. */
function logprobIds(token: TokenEvent, request: GenerateRequest): number[] {
  return wantsLogprobs(request) ? [token.tokenId, ...token.topLogprobs.map((alt) => alt.tokenId)] : [];
}

/** A delta for the parsed text and the token behind it, or undefined when it would carry nothing asked for. */
function deltaOf(
  { content: text, calls: toolCalls }: ParsedText,
  { tokenTexts }: DecodeStreamResponse,
  token: TokenEvent,
  request: GenerateRequest,
): ResponseEvent | undefined {
  const tokenIds = request.includeTokenIds ? [token.tokenId] : [];
  const logprobs = wantsLogprobs(request)
    ? [{ tokenId: token.tokenId, logprob: token.logprob, topLogprobs: token.topLogprobs }]
    : [];
  if (text === "" && tokenIds.length === 0 && logprobs.length === 0 && toolCalls.length === 0) return undefined;
  return { event: { case: "delta", value: { text, tokenIds, logprobs, tokenTexts, toolCalls, index: token.index } } };
}

/** The end of the output: the detokenizer's held-back `text` and what the tool-call parser held back. */
function restDelta(output: OutputText, text: string, index: number): ResponseEvent | undefined {
  const pushed = output.push(text);
  const rest = pushed.content + output.finish().content;
  if (rest === "" && pushed.calls.length === 0) return undefined;
  const value = { text: rest, tokenIds: [], logprobs: [], tokenTexts: [], toolCalls: pushed.calls, index };
  return { event: { case: "delta", value } };
}
