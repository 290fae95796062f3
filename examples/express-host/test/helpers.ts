import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Logger, silentLogger } from "@mcpfleet/core";
import { loadConfig } from "@mcpfleet/example-host-kit/config";
import { type RunningHost, type StartOptions, startHost } from "../src/host.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** The seed documents, kept in the repo (packages/core/test/fixtures/seeds): a fresh clone needs nothing beside it. */
export const SEEDS = resolve(REPO_ROOT, "packages/core/test/fixtures/seeds");
export const seed = (name: string): any => JSON.parse(readFileSync(join(SEEDS, name), "utf8"));
/** A seed body with `{{server_id}}` replaced, otherwise as written. */
export const seedWith = (name: string, serverId: string): any =>
  JSON.parse(readFileSync(join(SEEDS, name), "utf8").replaceAll("{{server_id}}", serverId));

export const KEYS = {
  admin: "test-admin-key-0123456789abcdef",
  operator: "test-operator-key-0123456789abcd",
  viewer: "test-viewer-key-0123456789abcdef",
} as const;
export type TestRole = keyof typeof KEYS;
export const API_KEYS = `adm:admin:${KEYS.admin},op:operator:${KEYS.operator},view:viewer:${KEYS.viewer}`;

export interface TestHost extends RunningHost {
  dir: string;
  auditPath: string;
  call(
    method: string,
    path: string,
    options?: { role?: TestRole | "none"; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: any; text: string }>;
}

/** A host in this process on a loopback port (memory runtime, bus, store and secrets unless overridden). */
export async function startTestHost(
  env: Record<string, string> = {},
  options: { logger?: Logger } & Pick<StartOptions, "endpointResolver" | "events"> = {},
): Promise<TestHost> {
  const dir = mkdtempSync(join(tmpdir(), "mcpfleet-host-test-"));
  const config = loadConfig(
    {
      FLEET_RUNTIME: "memory",
      FLEET_STORE: "memory",
      FLEET_SECRETS: "memory",
      FLEET_BUS: "memory",
      PORT: "0",
      DATA_DIR: dir,
      API_KEYS,
      RATE_LIMIT_RPS: "10000",
      RATE_LIMIT_BURST: "10000",
      // server-everything and test scripts live in the repository's node_modules
      FLEET_PROCESS_READONLY_PATHS: REPO_ROOT,
      ...env,
    },
    dir,
  );
  const host = await startHost(config, {
    logger: options.logger ?? silentLogger(),
    print: () => {},
    ...(options.endpointResolver ? { endpointResolver: options.endpointResolver } : {}),
    ...(options.events ? { events: options.events } : {}),
  });
  return {
    ...host,
    dir,
    auditPath: config.auditPath,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const role = o.role ?? "admin";
      if (role !== "none") headers.authorization = `Bearer ${KEYS[role]}`;
      let body: string | undefined;
      if (o.raw !== undefined) {
        body = o.raw;
        headers["content-type"] ??= "application/json";
      } else if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers["content-type"] = "application/json";
      }
      const res = await fetch(`${host.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
  };
}
