// The Grafana dashboard shipped in infra/grafana: it plots every metric of design §6 by the name the services
// export, through the datasource the provisioning file defines.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { METRICS } from "@llm/telemetry";
import { expect, test } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "./service-config.js";

const read = (path: string) => readFileSync(join(REPO_ROOT, "infra/grafana", path), "utf8");
const dashboard = JSON.parse(read("dashboards/llm-serving.json"));
const queries: string[] = dashboard.panels.flatMap((panel: { targets: { expr: string }[] }) =>
  panel.targets.map((target) => target.expr),
);

test("every query names only exported metrics, and every exported metric is plotted", () => {
  const exported = new Map<string, string>(Object.values(METRICS).map((metric) => [metric.name, metric.kind]));
  const used = new Set<string>();
  for (const expr of queries) {
    for (const [name] of expr.matchAll(/\bllm_[a-z_]+/g)) {
      const base = name.replace(/_(bucket|sum|count)$/, "");
      expect(exported.has(base), `${name} in ${expr}`).toBe(true);
      if (base !== name)
        expect(exported.get(base), `${name}: only histograms have ${name.slice(base.length)}`).toBe("histogram");
      used.add(base);
    }
  }
  expect([...used].sort()).toEqual([...exported.keys()].sort());
});

test("panels use the provisioned Prometheus datasource", () => {
  const { datasources } = parse(read("provisioning/datasources/prometheus.yaml"));
  const uids = new Set(datasources.map((source: { uid: string }) => source.uid));
  for (const panel of dashboard.panels) expect(uids.has(panel.datasource.uid), panel.title).toBe(true);
});
