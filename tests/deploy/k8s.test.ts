// infra/k8s rendered in code (tests/deploy/kustomize.ts), every object validated offline against the Kubernetes
// and KEDA schemas (kubernetes-models), and the wiring between objects and the services' code checked.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REGISTRY } from "@llm/config";
import { runningJobsKey, waitingJobsKey } from "@llm/queue";
import { describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { type Any, deployments, effectiveEnv, find, serviceContainers, sidecars } from "./k8s-objects.js";
import { type K8sObject, objectId, renderKustomization } from "./kustomize.js";
import { namesReadBy, REGISTRY_NAMES, REPO_ROOT, serviceOf } from "./service-config.js";

const K8S = join(REPO_ROOT, "infra/k8s");
const OVERLAYS = ["dev", "gpu", "sampler-pool"] as const;
const GRPC_PORT = 50051;

function kubectlAvailable(): boolean {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The module of kubernetes-models (or its KEDA package) that defines `apiVersion`'s kinds. */
function modelModule(apiVersion: string): string {
  if (apiVersion.startsWith("keda.sh/")) return `@kubernetes-models/keda/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

async function validateObject(object: K8sObject): Promise<void> {
  const module = (await import(modelModule(object.apiVersion))) as Record<string, Any>;
  const Model = module[object.kind];
  if (!Model) throw new Error(`${objectId(object)}: kind ${object.kind} not in ${modelModule(object.apiVersion)}`);
  new Model(object).validate();
}

test("kubernetes-models rejects what the API server would (the validator is not a no-op)", async () => {
  const broken = structuredClone(find(renderKustomization(join(K8S, "overlays/dev")), "Deployment", "gateway"));
  broken.spec.template.spec.containers[0].ports[0].containerPort = "50051";
  await expect(validateObject(broken)).rejects.toThrow(/containerPort must be integer/);
});

describe.each(OVERLAYS)("overlay %s", (overlay) => {
  const objects = renderKustomization(join(K8S, "overlays", overlay));
  const containers = serviceContainers(objects);

  test("renders every service, each object valid against the Kubernetes/KEDA schemas", async () => {
    expect(new Set(containers.map((c) => c.service))).toEqual(
      new Set(["gateway", "tokenizer", "detokenizer", "sampler", "embedder", "model-runner"]),
    );
    for (const object of objects) await validateObject(object);
  });

  test.skipIf(!kubectlAvailable())("renders exactly what `kubectl kustomize` renders", () => {
    const output = execFileSync("kubectl", ["kustomize", join(K8S, "overlays", overlay)], { encoding: "utf8" });
    const byId = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [objectId(o), o]));
    const real = parseAllDocuments(output).map((doc) => doc.toJS() as K8sObject);
    expect(byId(objects)).toEqual(byId(real));
  });

  test("every environment variable exists in the registry and is read by that container's service", () => {
    for (const { container, service } of containers) {
      const read = namesReadBy(service);
      for (const name of effectiveEnv(objects, container).keys()) {
        expect(REGISTRY_NAMES, `${container.name}: ${name}`).toContain(name);
        expect(read, `${container.name} sets ${name}, which ${service} does not read`).toContain(name);
      }
    }
  });

  test("values parse with the registry's parsers; cluster mode is on for the gateway and runners", () => {
    for (const { container, service } of containers) {
      const env = effectiveEnv(objects, container);
      for (const [name, entry] of env) {
        if (entry.value !== undefined) REGISTRY[name as keyof typeof REGISTRY].parse.parse(entry.value);
      }
      if (service === "gateway" || service === "model-runner") expect(env.get("LLM_REDIS_URL")?.secret).toBeDefined();
    }
  });

  test("secrets are referenced, never inlined, and the operations guide creates every key", () => {
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
    const guide = readFileSync(join(REPO_ROOT, "docs/OPERATIONS.md"), "utf8");
    const keys = new Set<string>();
    for (const { container } of containers) {
      for (const entry of effectiveEnv(objects, container).values()) {
        if (entry.secret) keys.add(`${entry.secret.name}/${entry.secret.key}`);
      }
    }
    for (const auth of objects.filter((o) => o.kind === "TriggerAuthentication") as Any[]) {
      for (const ref of auth.spec.secretTargetRef) keys.add(`${ref.name}/${ref.key}`);
    }
    expect(keys.size).toBeGreaterThan(0);
    for (const ref of keys) {
      const [name, key] = ref.split("/");
      expect(guide).toContain(`create secret generic ${name}`);
      expect(guide).toContain(`--from-literal=${key}=`);
    }
  });

  test("probes use gRPC health on the served port (LLM_PORT); Services reach a named container port", () => {
    for (const { container } of containers) {
      const served = Number(effectiveEnv(objects, container).get("LLM_PORT")?.value ?? GRPC_PORT);
      expect(container.ports.find((p: Any) => p.name.endsWith("grpc"))?.containerPort, container.name).toBe(served);
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        expect(container[probe]?.grpc?.port, `${container.name} ${probe}`).toBe(served);
      }
    }
    for (const service of objects.filter((o) => o.kind === "Service") as Any[]) {
      const workloads = objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet") as Any[];
      const pods = workloads.filter((d) =>
        Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
      expect(pods.length, `Service ${service.metadata.name} selects one Deployment or StatefulSet`).toBe(1);
      const portNames = pods[0].spec.template.spec.containers.flatMap((c: Any) => c.ports.map((p: Any) => p.name));
      for (const port of service.spec.ports) expect(portNames).toContain(port.targetPort);
    }
  });

  test("termination grace outlasts the preStop pause plus the service's drain (LLM_SHUTDOWN_GRACE_MS)", () => {
    for (const { deployment, container } of containers) {
      if (sidecars(deployment).includes(container)) continue; // stops after the pod's main containers
      const drainMs = Number(effectiveEnv(objects, container).get("LLM_SHUTDOWN_GRACE_MS")?.value);
      const [command, seconds] = container.lifecycle.preStop.exec.command;
      expect(command).toBe("sleep");
      const graceMs = deployment.spec.template.spec.terminationGracePeriodSeconds * 1000;
      expect(graceMs, container.name).toBeGreaterThan(Number(seconds) * 1000 + drainMs);
    }
  });

  test("autoscalers and disruption budgets point at rendered Deployments; every service has a PDB", () => {
    const names = new Set(deployments(objects).map((d) => d.metadata.name));
    const hpas = objects.filter((o) => o.kind === "HorizontalPodAutoscaler") as Any[];
    for (const hpa of hpas) expect(names).toContain(hpa.spec.scaleTargetRef.name);
    const pool = find(objects, "Deployment", "sampler").spec.replicas > 0 ? ["sampler"] : [];
    expect(hpas.map((h) => h.metadata.name).sort()).toEqual(["detokenizer", "gateway", ...pool, "tokenizer"].sort());
    const pdbs = objects.filter((o) => o.kind === "PodDisruptionBudget") as Any[];
    for (const { deployment } of containers) {
      const labels = deployment.spec.template.metadata.labels;
      const covering = pdbs.filter((p) =>
        Object.entries(p.spec.selector.matchLabels).every(([k, v]) => labels[k] === v),
      );
      expect(covering.length, deployment.metadata.name).toBe(1);
    }
  });

  test("KEDA scales each runner and embedder Deployment from zero on the waiting list of the model it serves", () => {
    const scaled = objects.filter((o) => o.kind === "ScaledObject") as Any[];
    expect(scaled.map((o) => o.spec.scaleTargetRef.name)).toEqual(expect.arrayContaining(["model-runner", "embedder"]));
    for (const scaledObject of scaled) {
      const target = find(objects, "Deployment", scaledObject.spec.scaleTargetRef.name);
      const worker = target.spec.template.spec.containers.find((c: Any) =>
        ["model-runner", "embedder"].includes(serviceOf(c.name) ?? ""),
      );
      const modelId = effectiveEnv(objects, worker).get("LLM_MODEL_ID")?.value;
      expect(modelId).toBeDefined();
      const redis = scaledObject.spec.triggers.filter((t: Any) => t.type === "redis");
      expect(redis.map((t: Any) => t.metadata.listName)).toEqual([
        waitingJobsKey(modelId as string),
        runningJobsKey(modelId as string),
      ]);
      expect(find(objects, "TriggerAuthentication", redis[0].authenticationRef.name)).toBeDefined();
      // From zero: one waiting request activates it, and a runner stays while a job runs.
      expect(scaledObject.spec.minReplicaCount).toBe(0);
      for (const trigger of redis) expect(trigger.metadata.activationListLength).toBe("0");
    }
  });

  test("runners sample in a sidecar through a memory-backed volume, or with the pool on, through the pool", () => {
    const pod = find(objects, "Deployment", "model-runner").spec.template.spec;
    const runnerEnv = effectiveEnv(objects, pod.containers[0]);
    const url = runnerEnv.get("LLM_SAMPLER_URL")?.value;
    const [sidecar] = sidecars({ spec: { template: { spec: pod } } });
    if (!sidecar) {
      expect(url).toBe(`sampler:${GRPC_PORT}`); // the pool's Service
      expect(find(objects, "Deployment", "sampler").spec.replicas).toBeGreaterThan(0);
      expect(runnerEnv.has("LLM_SAMPLER_RING_DIR")).toBe(false);
      return;
    }
    expect(serviceOf(sidecar.name)).toBe("sampler");
    expect(url).toBe(`127.0.0.1:${effectiveEnv(objects, sidecar).get("LLM_PORT")?.value}`);
    const ringDir = runnerEnv.get("LLM_SAMPLER_RING_DIR")?.value;
    const volumeAt = (container: Any) => container.volumeMounts.find((m: Any) => m.mountPath === ringDir)?.name;
    expect(volumeAt(pod.containers[0])).toBeDefined();
    expect(volumeAt(sidecar)).toBe(volumeAt(pod.containers[0]));
    expect(pod.volumes.find((v: Any) => v.name === volumeAt(sidecar))?.emptyDir?.medium).toBe("Memory");
    expect(sidecar.resources.limits.memory).toBeDefined();
  });

  test("Redis keeps an append-only file on a persistent volume (a restart loses no stream in flight)", () => {
    const redis = find(objects, "StatefulSet", "redis");
    const [container] = redis.spec.template.spec.containers;
    expect(container.args.join(" ")).toMatch(/--appendonly yes/);
    const dir = container.args[container.args.indexOf("--dir") + 1];
    const mount = container.volumeMounts.find((m: Any) => m.mountPath === dir);
    expect(redis.spec.volumeClaimTemplates.map((t: Any) => t.metadata.name)).toContain(mount?.name);
  });
});

test("gpu overlay: runners get one GPU each, only on the GPU pool, with the CUDA image", () => {
  const objects = renderKustomization(join(K8S, "overlays/gpu"));
  const pod = find(objects, "Deployment", "model-runner").spec.template.spec;
  const [runner] = pod.containers;
  expect(runner.image).toMatch(/model-runner-gpu:/);
  expect(runner.resources.limits["nvidia.com/gpu"]).toBe(1);
  expect(runner.resources.requests["nvidia.com/gpu"]).toBe(1);
  expect(pod.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
  expect(Object.keys(pod.nodeSelector)).toContain("nvidia.com/gpu.present");
  for (const other of deployments(objects).filter((d) => d.metadata.name !== "model-runner")) {
    expect(JSON.stringify(other.spec.template.spec)).not.toContain("nvidia.com/gpu");
  }
});
