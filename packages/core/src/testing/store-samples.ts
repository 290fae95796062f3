import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { FleetError } from "../errors.js";
import type { Instance, ServerDefinition } from "../model/types.js";
import type { ApiKeyRecord, StoredRecord, StoredTemplate } from "../plugins/store.js";

export function sampleInstance(overrides: Partial<Instance> = {}): Omit<Instance, "revision"> {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    name: `inst-${randomUUID().slice(0, 8)}`,
    server_spec_id: null,
    json_spec: { type: "docker", image: "mcp/filesystem:latest", port: 8001, environment: { A: "1" } },
    status: "pending",
    status_reason: null,
    desired_state: "running",
    generation: 1,
    observed_generation: 0,
    spec_hash: "abc",
    endpoint: null,
    observed_by: null,
    restart_count: 0,
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}

export function sampleServer(overrides: Partial<ServerDefinition> = {}): Omit<ServerDefinition, "revision"> {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    name: `srv-${randomUUID().slice(0, 8)}`,
    description: "test server",
    docker_image_url: "mcp/filesystem:latest",
    tags: [],
    status: "active",
    is_public: false,
    env_schema: [{ name: "A", type: "string", required: true, secret: false }],
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}

export function sampleTemplate(overrides: Partial<StoredTemplate> = {}): Omit<StoredTemplate, "revision"> {
  const key = overrides.key ?? `tpl-${randomUUID().slice(0, 8)}`;
  return {
    id: key,
    key,
    name: `Template ${key}`,
    json_spec: { type: "docker", image: "mcp/filesystem:latest", port: 8001 },
    env_schema: [],
    capabilities: ["tools"],
    ...overrides,
  };
}

export function sampleApiKey(overrides: Partial<ApiKeyRecord> = {}): Omit<ApiKeyRecord, "revision"> {
  const now = new Date().toISOString();
  return {
    id: `key_${randomUUID().replaceAll("-", "").slice(0, 16)}`,
    name: `ci-${randomUUID().slice(0, 8)}`,
    role: "operator",
    sha256: randomUUID().replaceAll("-", "").repeat(2),
    policy: { tools: { deny: ["*delete*"] } },
    created_at: now,
    created_by: "adm",
    expires_at: null,
    revoked_at: null,
    last_used_at: null,
    ...overrides,
  };
}

export function sampleRecord(overrides: Partial<StoredRecord> = {}): Omit<StoredRecord, "revision"> {
  const key = randomUUID().slice(0, 8);
  return {
    id: `sample:${key}`,
    kind: "sample",
    name: `target-${key}`,
    data: { key, nested: { list: ["a", "b"], n: 1 } },
    ...overrides,
  };
}

/** The code of the FleetError `p` rejects with (fails the test on any other rejection); undefined when it resolves. */
export async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    expect(FleetError.isInstance(err), `expected a FleetError, got ${String(err)}`).toBe(true);
    return (err as FleetError).code;
  }
}
