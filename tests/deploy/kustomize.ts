// The part of kustomize that infra/k8s uses, in code, so tests render the overlays without a kustomize binary:
// `resources` (YAML files and kustomization folders), `patches` (JSON 6902 operations from `path` or inline
// `patch`, chosen by kind and an anchored name regex), `namespace`, and `images`, applied in kustomize's order
// (patches, namespace, images). Any other field is refused, so the manifests cannot use a feature this renderer
// would silently skip.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface PatchOp {
  op: "add" | "replace" | "remove";
  path: string;
  value?: unknown;
}

interface Patch {
  path?: string;
  patch?: string;
  target: { kind?: string; name?: string };
}

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  patches?: Patch[];
  namespace?: string;
  images?: ImageRule[];
}

const FIELDS = new Set(["apiVersion", "kind", "resources", "patches", "namespace", "images"]);
const CLUSTER_SCOPED = new Set(["Namespace", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding"]);

/** Renders the kustomization in `dir` the way `kubectl kustomize dir` would, for the subset described above. */
export function renderKustomization(dir: string): K8sObject[] {
  const kustomization = parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Kustomization;
  for (const field of Object.keys(kustomization)) {
    if (!FIELDS.has(field)) throw new Error(`${dir}: kustomization field "${field}" is outside the rendered subset`);
  }
  const objects = (kustomization.resources ?? []).flatMap((resource) => loadResource(join(dir, resource)));
  for (const patch of kustomization.patches ?? []) applyPatch(objects, patch, dir);
  if (kustomization.namespace) {
    for (const object of objects) {
      if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = kustomization.namespace;
    }
  }
  for (const object of objects) rewriteImages(object, kustomization.images ?? []);
  const ids = objects.map(objectId);
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (repeated.length > 0) throw new Error(`${dir}: resources defined twice: ${repeated.join(", ")}`);
  return objects;
}

export function objectId(object: K8sObject): string {
  return `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

function loadResource(path: string): K8sObject[] {
  if (statSync(path).isDirectory()) return renderKustomization(path);
  return parseAllDocuments(readFileSync(path, "utf8"))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

function applyPatch(objects: K8sObject[], patch: Patch, dir: string): void {
  const { kind, name, ...rest } = patch.target;
  if (Object.keys(rest).length > 0) throw new Error(`${dir}: patch target fields ${Object.keys(rest)} unsupported`);
  const text = patch.path ? readFileSync(join(dir, patch.path), "utf8") : patch.patch;
  const ops = parse(text ?? "") as PatchOp[];
  if (!Array.isArray(ops)) throw new Error(`${dir}: only JSON 6902 patches (a list of operations) are rendered`);
  const nameRegex = name === undefined ? undefined : new RegExp(`^(?:${name})$`);
  const targets = objects.filter(
    (object) => (kind === undefined || object.kind === kind) && (!nameRegex || nameRegex.test(object.metadata.name)),
  );
  if (targets.length === 0) throw new Error(`${dir}: patch ${patch.path ?? "(inline)"} matches no resource`);
  for (const object of targets) {
    for (const op of ops) applyOp(object, op, `${dir} ${patch.path ?? "(inline)"} on ${object.metadata.name}`);
  }
}

/** RFC 6902 add/replace/remove on an RFC 6901 path. */
function applyOp(object: K8sObject, op: PatchOp, where: string): void {
  if (!["add", "replace", "remove"].includes(op.op)) throw new Error(`${where}: operation ${op.op} unsupported`);
  const tokens = op.path
    .split("/")
    .slice(1)
    .map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"));
  const last = tokens.pop();
  if (last === undefined) throw new Error(`${where}: empty path`);
  let parent: unknown = object;
  for (const token of tokens) {
    parent = (parent as Record<string, unknown>)?.[token];
    if (parent === undefined) throw new Error(`${where}: ${op.op} ${op.path}: parent does not exist`);
  }
  if (Array.isArray(parent)) {
    const container: unknown[] = parent;
    const index = last === "-" ? container.length : Number(last);
    const exists = index < container.length;
    if (op.op === "add") container.splice(index, 0, structuredClone(op.value));
    else if (!exists) throw new Error(`${where}: ${op.op} ${op.path}: no element ${last}`);
    else if (op.op === "replace") container[index] = structuredClone(op.value);
    else container.splice(index, 1);
    return;
  }
  const container = parent as Record<string, unknown>;
  if (op.op !== "add" && !(last in container)) throw new Error(`${where}: ${op.op} ${op.path}: no member ${last}`);
  if (op.op === "remove") delete container[last];
  else container[last] = structuredClone(op.value);
}

/** kustomize's image transformer: every `image` of a `containers`/`initContainers` entry, matched by name. */
function rewriteImages(node: unknown, rules: ImageRule[], key = ""): void {
  if (Array.isArray(node)) {
    for (const item of node) {
      if ((key === "containers" || key === "initContainers") && typeof item?.image === "string") {
        item.image = rewriteImage(item.image, rules);
      }
      rewriteImages(item, rules);
    }
  } else if (node && typeof node === "object") {
    for (const [childKey, child] of Object.entries(node)) rewriteImages(child, rules, childKey);
  }
}

function rewriteImage(image: string, rules: ImageRule[]): string {
  const match = /^(.*?)(?::([^:/@]+))?(@.+)?$/.exec(image);
  const [, name = image, tag, digest = ""] = match ?? [];
  const rule = rules.find((candidate) => candidate.name === name);
  if (!rule) return image;
  const newTag = rule.newTag ?? tag;
  return `${rule.newName ?? name}${newTag ? `:${newTag}` : ""}${digest}`;
}
