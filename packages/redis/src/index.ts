export { connectRedis, type RedisClient, type RedisClientOptions, type RedisTarget, redisTarget } from "./target.js";
