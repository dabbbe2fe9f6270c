// The bound on a model's waiting work, checked and taken in ONE script with the request stream's admission entry,
// so concurrent gateways never overshoot it: waiting requests and waiting tokens (prompt + max_tokens) of every
// admitted request that no runner has taken yet, whichever queue it waits on (the shared one or a runner's own).
// Both are counted from the reservations, never from the queues' lists: a job reaches its list only after its
// admission (and a routed job never reaches the shared one), so a burst would pass a bound read from a list.
// A request is reserved as a sorted-set member `<tokens>:<request id>` (both sides can name it), scored with the
// time its stream would expire; it leaves when a runner takes the job or the gateway ends the request, and a
// reservation left by a gateway that died before either is dropped once that time has passed.
import type { RedisClient } from "@llm/redis";
import type { ClusterKeys } from "./keys.js";
import { ADMISSION_ID, FIELD } from "./stream-entries.js";

// KEYS: waiting-token total, reservations, request stream.
// ARGV: max waiting, max waiting tokens, tokens, member, stream ttl ms, admission id, request field, admitted
// request, owner field, owner.
const ADMIT = `
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, member in ipairs(expired) do
  redis.call('DECRBY', KEYS[1], tonumber(string.match(member, '^(%d+):')))
end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'duplicate', 0, 0} end
local waiting = redis.call('ZCARD', KEYS[2])
local tokens = tonumber(redis.call('GET', KEYS[1]) or '0')
if waiting >= tonumber(ARGV[1]) then return {'requests', waiting, tokens} end
if tokens + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return {'tokens', waiting, tokens} end
redis.call('XADD', KEYS[3], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
redis.call('INCRBY', KEYS[1], ARGV[3])
return {'admitted', waiting, tokens}
`;

// KEYS: reservations, waiting-token total. ARGV: member, tokens.
const LEAVE = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('DECRBY', KEYS[2], ARGV[2]) end
return 0
`;

interface Scripts {
  llmAdmit(...args: (string | number | Buffer)[]): Promise<[string, number, number]>;
  llmLeave(...args: (string | number)[]): Promise<number>;
}

function scripts(redis: RedisClient): Scripts {
  if (!("llmAdmit" in redis)) {
    redis.defineCommand("llmAdmit", { numberOfKeys: 3, lua: ADMIT });
    redis.defineCommand("llmLeave", { numberOfKeys: 2, lua: LEAVE });
  }
  return redis as unknown as Scripts;
}

export interface WaitingBounds {
  maxWaiting: number;
  maxWaitingTokens: number;
  streamTtlMs: number;
}

export interface Admission {
  outcome: "admitted" | "duplicate" | "requests" | "tokens";
  /** Requests waiting for a runner (on any of the model's queues) and their tokens, before this request. */
  waiting: number;
  waitingTokens: number;
}

/** The tokens a request holds in the bound: its KV reservation on a runner, prompt + max_tokens. */
export function reservedTokens(request: { promptTokenIds: readonly number[]; maxTokens: number }): number {
  return request.promptTokenIds.length + request.maxTokens;
}

/** Checks both bounds and, when they hold, writes the stream's admission entry and reserves the tokens. */
export async function admit(
  redis: RedisClient,
  keys: ClusterKeys,
  /** `field`: the admission entry's field (stream-entries.ts FIELD; a generation's request by default). */
  request: { requestId: string; tokens: number; entry: Buffer; owner: string; field?: string },
  bounds: WaitingBounds,
): Promise<Admission> {
  const [outcome, waiting, waitingTokens] = await scripts(redis).llmAdmit(
    keys.waitingTokens,
    keys.reservations,
    keys.tokens(request.requestId),
    bounds.maxWaiting,
    bounds.maxWaitingTokens,
    request.tokens,
    `${request.tokens}:${request.requestId}`,
    bounds.streamTtlMs,
    ADMISSION_ID,
    request.field ?? FIELD.request,
    request.entry,
    FIELD.owner,
    request.owner,
  );
  return { outcome: outcome as Admission["outcome"], waiting, waitingTokens };
}

/** Gives a request's tokens back (a runner took it, or it ended); a no-op the second time. */
export function leave(redis: RedisClient, keys: ClusterKeys, requestId: string, tokens: number): Promise<number> {
  return scripts(redis).llmLeave(keys.reservations, keys.waitingTokens, `${tokens}:${requestId}`, tokens);
}
