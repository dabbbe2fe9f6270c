// Which models the cluster serves: each runner announces its model (and re-announces, so a Redis that lost its
// data learns it again); gateways read the catalogue instead of asking one runner.
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
