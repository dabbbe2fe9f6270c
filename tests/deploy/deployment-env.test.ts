// The environment docker-compose.yml and the dev overlay give each service is enough to run the pipeline in
// cluster mode: every service starts from its main.ts with exactly the variables its container gets (other
// containers' host names rewritten to the processes started here, Redis to the test Redis, Secrets to test
// values), each is health-gated and the images' probe script reports the gateway SERVING, and a completion goes through the gateway's HTTP API
// and a runner on the Redis queue with the configured API key, while a request without a key is refused.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureModel } from "@llm/model-pack";
import { type RunningService, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { DOT_ENV, projectServices } from "./compose-file.js";
import { effectiveEnv, serviceContainers } from "./k8s-objects.js";
import { renderKustomization } from "./kustomize.js";
import { REPO_ROOT, type ServiceName } from "./service-config.js";

const run = promisify(execFile);
const TEST_API_KEY = "deploy-test-key";
/** Start order, in waves: what a service calls must be up before it starts. */
const WAVES: ServiceName[][] = [["sampler", "tokenizer", "detokenizer"], ["model-runner"], ["gateway"]];

interface Container {
  /** The container's host name in its deployment (compose service / Kubernetes Service name). */
  host: string;
  service: ServiceName;
  env: Record<string, string>;
}

/**
 * What the image's ENV would set is replaced by loopback and free ports; LLM_OTLP_ENDPOINT is left out (no
 * collector here, and export is the telemetry tests' subject).
 */
function localEnv(env: Record<string, string>, hosts: Map<string, string>, redisUrl: string): Record<string, string> {
  const local: Record<string, string> = { LLM_HOST: "127.0.0.1", LLM_PORT: "0", LLM_HTTP_PORT: "0" };
  for (const [name, raw] of Object.entries(env)) {
    if (name === "LLM_OTLP_ENDPOINT") continue;
    const value = String(raw); // compose's YAML numbers reach the container as text
    local[name] = value.startsWith("redis://")
      ? redisUrl
      : value.replace(/^([\w-]+):50051$/, (whole, host: string) => hosts.get(host) ?? whole);
  }
  return local;
}

function composeContainers(): Container[] {
  return projectServices
    .filter(({ definition }) => !definition.profiles?.includes("gpu")) // no CUDA here
    .map(({ name, definition, service }) => ({ host: name, service, env: definition.environment }));
}

function devOverlayContainers(): Container[] {
  const objects = renderKustomization(join(REPO_ROOT, "infra/k8s/overlays/dev"));
  const secrets: Record<string, string> = { "api-keys": TEST_API_KEY, "redis-url": "redis://redis:6379" };
  return serviceContainers(objects).map(({ deployment, container, service }) => {
    const env: Record<string, string> = {};
    for (const [name, entry] of effectiveEnv(objects, container)) {
      const value = entry.secret ? secrets[entry.secret.key] : entry.value;
      if (value === undefined) throw new Error(`${container.name}: no test value for ${name}`);
      env[name] = value;
    }
    return { host: deployment.metadata.name, service, env };
  });
}

async function probe(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return run(process.execPath, ["--import", "tsx", "scripts/health-probe.ts", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
  }).then(
    () => ({ code: 0, stderr: "" }),
    (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
  );
}

const DEPLOYMENTS = [
  { name: "docker-compose.yml", containers: composeContainers, apiKey: DOT_ENV.get("LLM_API_KEYS"), database: 11 },
  { name: "overlays/dev", containers: devOverlayContainers, apiKey: TEST_API_KEY, database: 12 },
];

describe.each(DEPLOYMENTS)("$name", ({ containers, apiKey, database }) => {
  const running: { container: Container; process: RunningService }[] = [];

  beforeAll(async () => {
    await ensureModel("tiny");
    const hosts = new Map<string, string>();
    const redisUrl = `${inject("redisUrl")}/${database}`;
    for (const wave of WAVES) {
      const started = await Promise.all(
        containers()
          .filter((container) => wave.includes(container.service))
          .map(async (container) => {
            const process = await startService(`services/${container.service}/src/main.ts`, {
              name: container.host,
              env: localEnv(container.env, hosts, redisUrl),
              timeoutMs: 60_000,
            });
            return { container, process };
          }),
      );
      for (const entry of started) hosts.set(entry.container.host, entry.process.address);
      running.push(...started);
    }
  }, 240_000);

  afterAll(async () => {
    await Promise.all(running.map(({ process }) => process.stop()));
  });

  test("every container's service starts (each health-gated); the image's probe sees the gateway SERVING", async () => {
    expect(new Set(running.map(({ container }) => container.service))).toEqual(new Set(WAVES.flat()));
    // As in the image: no argument, the port from LLM_PORT.
    const gateway = running.find(({ container }) => container.service === "gateway")?.process;
    const [, port = ""] = (gateway?.address ?? "").split(":");
    expect(await probe([], { LLM_PORT: port })).toEqual({ code: 0, stderr: "" });
  });

  test("a completion runs through the gateway's HTTP API and a queued runner; no key, no completion", async () => {
    const gateway = running.find(({ container }) => container.service === "gateway")?.process;
    const http = await gateway?.listening("gateway-http"); // the HTTP API's URL
    const body = JSON.stringify({ model: "tiny", prompt: "Once upon a time", max_tokens: 4 });
    const headers = { "content-type": "application/json" };
    const refused = await fetch(`${http}/v1/completions`, { method: "POST", headers, body });
    expect(refused.status).toBe(401);
    const response = await fetch(`${http}/v1/completions`, {
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${apiKey}` },
      body,
    });
    expect(response.status).toBe(200);
    const completion = (await response.json()) as { choices: { text: string }[]; usage: { completion_tokens: number } };
    expect(completion.usage.completion_tokens).toBeGreaterThan(0);
    expect(typeof completion.choices[0]?.text).toBe("string");
  });
});

test("the health probe fails, saying why, when nothing serves or no port is known", async () => {
  const closed = await probe(["127.0.0.1:1"]);
  expect(closed.code).toBe(1);
  expect(closed.stderr).toMatch(/127\.0\.0\.1:1: not healthy/);
  const unset = await probe([], { LLM_PORT: "0" });
  expect(unset.code).toBe(1);
  expect(unset.stderr).toMatch(/pass host:port or set LLM_PORT/);
});
