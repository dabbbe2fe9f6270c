// Which models the cluster serves: each runner announces its model (and re-announces, so a Redis that lost its
// data learns it again); gateways read the catalogue instead of asking one runner.
import type { Log } from "@llm/log";
import { fromBinary, type InfoResponse, InfoResponseSchema, toBinary } from "@llm/proto";
import type { RedisClient } from "@llm/redis";
import { QUEUE_PREFIX } from "./keys.js";

const CATALOG_KEY = `${QUEUE_PREFIX}:models`;

export interface AnnouncedModel {
  id: string;
  /** Most tokens, prompt plus output, one request may hold. */
  contextLength: number;
  vocabSize: number;
}

export async function announceModel(redis: RedisClient, model: AnnouncedModel): Promise<void> {
  await redis.hset(CATALOG_KEY, model.id, JSON.stringify(model));
}

export async function announcedModels(redis: RedisClient): Promise<AnnouncedModel[]> {
  const entries = await redis.hgetall(CATALOG_KEY);
  return Object.values(entries)
    .map((json) => JSON.parse(json) as AnnouncedModel)
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Embedders announce their models here (a separate catalogue: a generation request may not name one). */
const EMBEDDING_CATALOG_KEY = `${QUEUE_PREFIX}:embedding-models`;

export async function announceEmbeddingModel(redis: RedisClient, info: InfoResponse): Promise<void> {
  await redis.hset(EMBEDDING_CATALOG_KEY, info.model, Buffer.from(toBinary(InfoResponseSchema, info)));
}

export async function announcedEmbeddingModels(redis: RedisClient): Promise<InfoResponse[]> {
  const entries = await redis.hgetallBuffer(EMBEDDING_CATALOG_KEY);
  return Object.values(entries)
    .map((bytes) => fromBinary(InfoResponseSchema, bytes))
    .sort((a, b) => a.model.localeCompare(b.model));
}

/** How often a worker re-announces its model (a restarted Redis forgets it). */
const ANNOUNCE_EVERY_MS = 5000;

/** Announces now, then every few seconds until the returned timer is cleared; failures are logged and retried. */
export async function keepAnnouncing(announce: () => Promise<void>, log: Log): Promise<NodeJS.Timeout> {
  const once = () =>
    announce().catch((err) => log({ level: "warn", msg: "cannot announce the model to Redis; retrying", err }));
  await once();
  return setInterval(once, ANNOUNCE_EVERY_MS).unref();
}
