// vitest globalSetup: one Redis for the whole run, handed to tests as inject("redisUrl").
import type { TestProject } from "vitest/node";
import { acquireRedis, type RedisFixture } from "./redis.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let redis: RedisFixture | undefined;

export async function setup(project: TestProject): Promise<void> {
  redis = await acquireRedis();
  project.provide("redisUrl", redis.url);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}
