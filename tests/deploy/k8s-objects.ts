// Reading rendered manifests the way the kubelet would: objects by kind and name, the service containers, and
// a container's environment built from its envFrom ConfigMaps and env entries.
import type { K8sObject } from "./kustomize.js";
import { type ServiceName, serviceOf } from "./service-config.js";

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML until validated
export type Any = any;

export interface EnvEntry {
  value?: string;
  secret?: { name: string; key: string };
}

export function find(objects: K8sObject[], kind: string, name: string): Any {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

export function deployments(objects: K8sObject[]): Any[] {
  return objects.filter((o) => o.kind === "Deployment");
}

/** A container's environment as the kubelet builds it: envFrom in order (later wins), then env on top. */
export function effectiveEnv(objects: K8sObject[], container: Any): Map<string, EnvEntry> {
  const env = new Map<string, EnvEntry>();
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) throw new Error(`${container.name}: only configMapRef envFrom is expected`);
    const configMap = find(objects, "ConfigMap", source.configMapRef.name);
    if (!configMap) throw new Error(`${container.name}: ConfigMap ${source.configMapRef.name} is not rendered`);
    for (const [name, value] of Object.entries(configMap.data ?? {})) env.set(name, { value: value as string });
  }
  for (const entry of container.env ?? []) {
    const from = entry.valueFrom;
    if (from?.configMapKeyRef) {
      const value = find(objects, "ConfigMap", from.configMapKeyRef.name)?.data?.[from.configMapKeyRef.key];
      if (value === undefined) throw new Error(`${container.name}: ${entry.name} refers to a missing ConfigMap key`);
      env.set(entry.name, { value });
    } else if (from?.secretKeyRef) env.set(entry.name, { secret: from.secretKeyRef });
    else env.set(entry.name, { value: entry.value });
  }
  return env;
}

/** Every service container, native sidecars (init containers that keep running) included. */
export function serviceContainers(objects: K8sObject[]): { deployment: Any; container: Any; service: ServiceName }[] {
  return deployments(objects).flatMap((deployment) =>
    [...deployment.spec.template.spec.containers, ...sidecars(deployment)].flatMap((container: Any) => {
      const service = serviceOf(container.name);
      return service ? [{ deployment, container, service }] : [];
    }),
  );
}

/** A Deployment's native sidecars: init containers with restartPolicy Always (they run beside the main ones). */
export function sidecars(deployment: Any): Any[] {
  return (deployment.spec.template.spec.initContainers ?? []).filter((c: Any) => c.restartPolicy === "Always");
}
