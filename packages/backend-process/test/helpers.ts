import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DeployRequest, ProcessSpec } from "@mcpfleet/core";

const require = createRequire(import.meta.url);
export const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);

/** The repository (server-everything and the test scripts live in its node_modules), visible read-only in the sandbox. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const SANDBOX = { readOnlyPaths: [REPO_ROOT] };

/** A DeployRequest for a `process` spec (the shape the fleet engine builds). */
export function processRequest(
  id: string,
  spec: Partial<ProcessSpec> & Pick<ProcessSpec, "command">,
  env: Record<string, string> = {},
  secrets: Record<string, string> = {},
): DeployRequest {
  const full: ProcessSpec = { type: "process", environment: {}, transport: "stdio", restartPolicy: "always", ...spec };
  const specHash = createHash("sha256")
    .update(JSON.stringify({ full, env, secrets: Object.keys(secrets) }))
    .digest("hex");
  return {
    instance: { id, name: id, generation: 1, specHash },
    spec: full,
    env,
    secrets: { env: secrets, headers: {} },
  };
}

export const everythingStdio = (id: string, env: Record<string, string> = {}) =>
  processRequest(id, { command: [process.execPath, EVERYTHING, "stdio"] }, env);
