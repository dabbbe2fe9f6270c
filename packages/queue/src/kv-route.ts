// The gateway's routing function for ClusterDispatcher: one KvRouter per model, over the hot-block sets the
// model's runners publish under its hash tag.

import type { Log } from "@llm/log";
import type { ModelRunnerServiceGenerateRequest } from "@llm/proto";
import type { RedisClient } from "@llm/redis";
import { clusterKeys } from "./keys.js";
import { KvRouter } from "./kv-router.js";

/** The runner whose own queue should take the request; undefined: the model's shared queue. */
export type RouteRequest = (request: ModelRunnerServiceGenerateRequest) => Promise<string | undefined>;

export function kvAwareRoute(redis: RedisClient, log: Log): RouteRequest {
  const routers = new Map<string, KvRouter>();
  return async (request) => {
    let router = routers.get(request.model);
    if (!router) {
      router = new KvRouter({ redis, keyBase: clusterKeys(request.model).hotBase, log });
      routers.set(request.model, router);
    }
    return (await router.route(request.promptTokenIds, request.cacheSalt))?.runnerId;
  };
}
