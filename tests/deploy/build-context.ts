// The files `docker build` would send for infra/docker/Dockerfile: the repository's files filtered by
// .dockerignore with Docker's matching rules.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./service-config.js";

/** Docker's .dockerignore matching: Go path patterns plus `**`, `!` re-includes, last match wins, parents count. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const include = line.startsWith("!");
      const pattern = (include ? line.slice(1) : line).replace(/^\/+/, "");
      const source = pattern
        .split("/")
        .map((part) =>
          part === "**"
            ? "(?:.*)"
            : part
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, "[^/]*")
                .replace(/\?/g, "[^/]"),
        )
        .join("/")
        .replace(/\(\?:\.\*\)\//g, "(?:.*/)?");
      return { include, regex: new RegExp(`^${source}$`) };
    });
  return (path) => {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.regex.test(prefix))) excluded = !rule.include;
    }
    return excluded;
  };
}

/** Tracked and untracked-but-not-ignored files of the working tree, relative to the repository root. */
export function repositoryFiles(): string[] {
  return execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  })
    .split("\n")
    .filter(Boolean);
}

/** The paths of `paths` that .dockerignore lets into the build context. */
export function buildContext(paths: string[]): string[] {
  const excluded = dockerignore(readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8"));
  return paths.filter((path) => !excluded(path));
}
