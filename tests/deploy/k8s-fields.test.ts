// Unknown fields: the Kubernetes JSON schemas allow extra properties, so a misspelt field (`readinesProbe`) would
// validate and be dropped by the API server. The rendered objects are typechecked instead as object literals
// against kubernetes-models' TypeScript interfaces, whose excess-property check refuses any field the API lacks.
import { join } from "node:path";
import ts from "typescript";
import { expect, test } from "vitest";
import { type K8sObject, renderKustomization } from "./kustomize.js";
import { REPO_ROOT } from "./service-config.js";

const VIRTUAL_FILE = join(REPO_ROOT, "tests/deploy/rendered-manifests.generated.ts");

function modelModule(apiVersion: string): string {
  return apiVersion.startsWith("keda.sh/")
    ? `@kubernetes-models/keda/${apiVersion}`
    : `kubernetes-models/${apiVersion}`;
}

/** TypeScript's complaints about `objects` typed as their kubernetes-models interfaces (one string each). */
function typeErrors(objects: K8sObject[]): string[] {
  const source = objects
    .map((object, i) => {
      const type = `import("${modelModule(object.apiVersion)}").I${object.kind}`;
      return `// ${object.kind}/${object.metadata.name}\nexport const o${i}: ${type} = ${JSON.stringify(object)};`;
    })
    .join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (file) => (file === VIRTUAL_FILE ? source : readFile(file));
  host.fileExists = (file) => file === VIRTUAL_FILE || ts.sys.fileExists(file);
  host.getSourceFile = (file, language, ...rest) =>
    file === VIRTUAL_FILE ? ts.createSourceFile(file, source, language) : getSourceFile(file, language, ...rest);
  const program = ts.createProgram([VIRTUAL_FILE], options, host);
  const file = program.getSourceFile(VIRTUAL_FILE);
  return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => {
    const line = file && d.start !== undefined ? file.getLineAndCharacterOfPosition(d.start).line : 0;
    const where = source.split("\n")[line - 1] ?? ""; // the comment naming the object
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
  });
}

test("no rendered object of either overlay has a field the Kubernetes or KEDA API does not define", () => {
  const objects = ["dev", "gpu"].flatMap((overlay) =>
    renderKustomization(join(REPO_ROOT, "infra/k8s/overlays", overlay)),
  );
  const misspelt = structuredClone(objects.find((o) => o.kind === "Deployment") as K8sObject & { spec: object });
  misspelt.spec = { ...misspelt.spec, strategyy: {} };
  const errors = typeErrors([...objects, misspelt]);
  // Only the planted mistake is reported.
  expect(errors, errors.join("\n")).toHaveLength(1);
  expect(errors[0]).toMatch(/strategyy.*does not exist in type 'IDeploymentSpec'/);
}, 60_000);
