import { ConfigError, loadConfig } from "@mcpfleet/example-host-kit/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canCreateSpec } from "../src/auth/spec-roles.js";
import { REPO_ROOT, startTestHost, type TestHost } from "./helpers.js";

/** Finding 1 of issue 14: process specs are admin-only on every REST path, and off beside containers. */
describe("process specs through the real host", () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost({ FLEET_RUNTIME: "memory" });
  });
  afterAll(() => host?.close());
  const spec = { type: "process", command: ["sh", "-c", "id"], restart_policy: "no" };

  it("operators may not create or update one (spec or secrets); admins may; operators still stop it", async () => {
    expect(canCreateSpec("operator", spec)).toBe(false);
    expect(canCreateSpec("admin", spec)).toBe(true);
    expect(canCreateSpec("operator", { type: "docker", image: "x" })).toBe(true);
    const denied = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "p", json_spec: spec },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe("FORBIDDEN");
    const created = await host.call("POST", "/v1/mcp-server-instances", { body: { name: "p", json_spec: spec } });
    expect(created.status).toBe(201);
    for (const method of ["PATCH", "PUT"]) {
      const env = await host.call(method, `/v1/mcp-server-instances/${created.body.id}`, {
        role: "operator",
        body: { json_spec: { ...spec, environment: { NODE_OPTIONS: "--require /tmp/x.js" } } },
      });
      expect(env.status, method).toBe(403);
      // a body without json_spec cannot slip secrets (env) into a process instance either
      const secrets = await host.call(method, `/v1/mcp-server-instances/${created.body.id}`, {
        role: "operator",
        body: { secrets: { LD_PRELOAD: "/tmp/x.so" } },
      });
      expect(secrets.status, method).toBe(403);
    }
    expect((await host.call("GET", `/v1/mcp-server-instances/${created.body.id}`)).body.generation).toBe(1);
    // operators still start, stop and delete what an admin created
    expect(
      (await host.call("POST", `/v1/mcp-server-instances/${created.body.id}/stop`, { role: "operator" })).status,
    ).toBe(202);
  });
});

describe("the process runtime beside a container runtime", () => {
  it("is off unless FLEET_PROCESS_RUNTIME=on: a process create answers 501 UNSUPPORTED", async () => {
    const off = await startTestHost({ FLEET_RUNTIME: "podman", CONTAINER_HOST: "unix:///nonexistent/podman.sock" });
    try {
      const res = await off.call("POST", "/v1/mcp-server-instances", {
        body: { name: "p", json_spec: { type: "process", command: ["true"] } },
      });
      expect(res.status).toBe(501);
      expect(res.body.code).toBe("UNSUPPORTED");
      expect(res.body.detail).toMatch(/FLEET_PROCESS_RUNTIME=on/);
      expect(off.fleet.runtimeFor("process")).toBeUndefined();
    } finally {
      await off.close();
    }
    const on = await startTestHost({
      FLEET_RUNTIME: "podman",
      CONTAINER_HOST: "unix:///nonexistent/podman.sock",
      FLEET_PROCESS_RUNTIME: "on",
    });
    try {
      expect(on.fleet.runtimeFor("process")).toBeDefined();
    } finally {
      await on.close();
    }
  });

  it("refuses contradicting settings at start", () => {
    const bad = () => loadConfig({ FLEET_RUNTIME: "process", FLEET_PROCESS_RUNTIME: "off" }, REPO_ROOT);
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/FLEET_PROCESS_RUNTIME: off contradicts FLEET_RUNTIME=process/);
    expect(() => loadConfig({ FLEET_PROCESS_ALLOW_ROOT: "true" }, REPO_ROOT)).toThrow(
      /only applies with FLEET_PROCESS_SANDBOX=none/,
    );
  });
});
