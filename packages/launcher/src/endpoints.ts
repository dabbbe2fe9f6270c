// Where `npm start` left its services, so the CLI finds the gateway without being told.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ENDPOINTS_FILE = fileURLToPath(new URL("../../../.cache/endpoints.json", import.meta.url));

export type Endpoints = Record<string, string>;

export async function writeEndpoints(endpoints: Endpoints): Promise<void> {
  await mkdir(dirname(ENDPOINTS_FILE), { recursive: true });
  await writeFile(ENDPOINTS_FILE, `${JSON.stringify({ pid: process.pid, ...endpoints }, null, 2)}\n`);
}

export async function clearEndpoints(): Promise<void> {
  await rm(ENDPOINTS_FILE, { force: true });
}

/** The endpoints of a running `npm start`, or undefined when none is running. */
export async function readEndpoints(): Promise<Endpoints | undefined> {
  const text = await readFile(ENDPOINTS_FILE, "utf8").catch(() => undefined);
  if (!text) return undefined;
  const { pid, ...endpoints } = JSON.parse(text) as { pid: number } & Endpoints;
  return isAlive(pid) ? endpoints : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
