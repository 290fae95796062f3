import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@mcpfleet/core";
import { assembleFleet } from "@mcpfleet/example-host-kit/assemble";
import { ConfigError, loadConfig } from "@mcpfleet/example-host-kit/config";
import { detectRuntime } from "@mcpfleet/example-host-kit/detect";
import { describe, expect, it } from "vitest";
import { parseApiKeys } from "../src/auth/keys.js";

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const c = loadConfig({}, "/srv/app");
    expect(c).toMatchObject({
      FLEET_RUNTIME: "auto",
      FLEET_BUS: "memory",
      FLEET_SECRETS: "file",
      FLEET_STORE: "file",
      FLEET_ROLE: "all",
      PORT: 8080,
      HOST: "127.0.0.1",
      AUTH: ["keys"],
    });
    expect(c.dataDir).toBe("/srv/app/.mcpfleet");
    expect(c.storePath).toBe("/srv/app/.mcpfleet/store.json");
    expect(c.auditPath).toBe("/srv/app/.mcpfleet/audit.log");
  });

  it("reads the legacy Redis source settings; refuses malformed channel maps by name", () => {
    const c = loadConfig({
      LEGACY_REDIS_URL: "redis://10.0.0.5:6379",
      LEGACY_CHANNELS: "created=app:Created, status=app:Status",
      LEGACY_PUBLISH_STATUS: "false",
    });
    expect(c.LEGACY_CHANNELS).toEqual({ created: "app:Created", statusChanged: "app:Status" });
    expect(c.LEGACY_PUBLISH_STATUS).toBe(false);
    expect(loadConfig({}).LEGACY_PUBLISH_STATUS).toBe(true);
    for (const bad of ["created", "removed=x", "deleted=has space", "=x"]) {
      const err = (() => {
        try {
          loadConfig({ LEGACY_CHANNELS: bad });
        } catch (e) {
          return e as ConfigError;
        }
      })();
      expect(err?.issues.map((i) => i.variable)).toEqual(["LEGACY_CHANNELS"]);
    }
    expect(() => loadConfig({ LEGACY_REDIS_URL: "http://x" })).toThrow(/LEGACY_REDIS_URL: must be a URL/);
  });

  it("reports every bad variable at once, by name, without echoing values", () => {
    let err: unknown;
    try {
      loadConfig({
        FLEET_BUS: "kafka",
        PORT: "http",
        FLEET_RUNTIME: "docker",
        RATE_LIMIT_RPS: "-1",
        ALLOW_UNSAFE_ENDPOINTS: "maybe",
        SECRETS_KEY: "shorty",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const vars = (err as ConfigError).issues.map((i) => i.variable).sort();
    expect(vars).toEqual([
      "ALLOW_UNSAFE_ENDPOINTS",
      "FLEET_BUS",
      "FLEET_RUNTIME",
      "PORT",
      "RATE_LIMIT_RPS",
      "SECRETS_KEY",
    ]);
    expect((err as Error).message).toContain("FLEET_BUS: must be one of memory, redis, nats");
    expect((err as Error).message).not.toContain("shorty");
  });

  it("requires each chosen adapter's settings", () => {
    expect(() => loadConfig({ FLEET_BUS: "redis" })).toThrow(/REDIS_URL: is required with FLEET_BUS=redis/);
    expect(() => loadConfig({ FLEET_BUS: "nats", NATS_URL: "http://x" })).toThrow(/NATS_URL: must be a URL/);
    expect(() => loadConfig({ FLEET_SECRETS: "vault", VAULT_ADDR: "https://vault:8200" })).toThrow(
      /VAULT_TOKEN: is required/,
    );
    expect(() => loadConfig({ FLEET_ROLE: "api" })).toThrow(/FLEET_BUS: FLEET_ROLE=api needs a shared bus/);
    expect(loadConfig({ FLEET_BUS: "redis", REDIS_URL: "redis://127.0.0.1:6379" }).REDIS_URL).toBe(
      "redis://127.0.0.1:6379",
    );
  });

  it("parses lists and booleans", () => {
    const c = loadConfig({
      CORS_ORIGINS: "https://a.example, https://b.example",
      ALLOWED_HOST_PATHS: "/srv/data",
      ALLOW_UNSAFE_ENDPOINTS: "yes",
    });
    expect(c.CORS_ORIGINS).toEqual(["https://a.example", "https://b.example"]);
    expect(c.ALLOWED_HOST_PATHS).toEqual(["/srv/data"]);
    expect(c.ALLOW_UNSAFE_ENDPOINTS).toBe(true);
  });
});

describe("LEASE_TTL_MS", () => {
  it("refuses a value that is not a whole number of milliseconds in 1000..86400000, naming the variable", () => {
    for (const [value, message] of [
      ["250", "LEASE_TTL_MS: must be >= 1000"],
      ["ten", "LEASE_TTL_MS: must be a number"],
      ["1500.5", "LEASE_TTL_MS: must be an integer"],
      ["86400001", "LEASE_TTL_MS: must be <= 86400000"],
    ] as const) {
      let err: unknown;
      try {
        loadConfig({ LEASE_TTL_MS: value });
      } catch (e) {
        err = e;
      }
      expect(err, value).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual([{ variable: "LEASE_TTL_MS", message: message.slice(14) }]);
      expect((err as Error).message).toContain(message);
    }
  });

  it("reaches the engine: the lease a worker takes on an instance lasts LEASE_TTL_MS, not the 15 s default", async () => {
    const leaseEnd = async (env: Record<string, string>) => {
      const dir = mkdtempSync(join(tmpdir(), "mcpfleet-lease-"));
      const config = loadConfig(
        { FLEET_RUNTIME: "memory", FLEET_STORE: "memory", FLEET_SECRETS: "memory", ...env },
        dir,
      );
      const a = await assembleFleet(config, silentLogger(), "all");
      try {
        await a.fleet.start();
        const inst = await a.fleet.instances.create({
          name: "leased",
          json_spec: { type: "docker", image: "mcp/leased:1", port: 8000 },
        });
        await a.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 10_000 });
        const before = Date.now();
        const lease = (await a.store.leases!.list()).find((l) => l.key === inst.id);
        expect(lease).toMatchObject({ holder: "local", live: true });
        return Date.parse(lease!.expiresAt) - before;
      } finally {
        await a.close();
      }
    };
    const configured = await leaseEnd({ LEASE_TTL_MS: "4000" });
    expect(configured).toBeGreaterThan(0);
    expect(configured).toBeLessThanOrEqual(4000);
    // the default lease ends well past 4 s, so the bound above holds only because the value arrived
    expect(await leaseEnd({})).toBeGreaterThan(10_000);
  });
});

describe("API_KEYS", () => {
  it("hashes keys and verifies them; accepts sha256 entries", () => {
    const ring = parseApiKeys("a:admin:aaaaaaaaaaaaaaaaaaaa, v:viewer:sha256:" + "0".repeat(64));
    expect(ring.verify("aaaaaaaaaaaaaaaaaaaa")).toEqual({ id: "a", role: "admin" });
    expect(ring.verify("aaaaaaaaaaaaaaaaaaab")).toBeUndefined();
    expect(JSON.stringify(ring.toFile())).not.toContain("aaaaaaaaaaaaaaaaaaaa");
  });
  it("names the bad entry without the key", () => {
    expect(() => parseApiKeys("x:root:bbbbbbbbbbbbbbbbbbbb")).toThrow(
      "API_KEYS entry 1 (x): role must be viewer, operator or admin",
    );
    expect(() => parseApiKeys("x:admin:short")).toThrow(/entry 1 \(x\): key must be at least 16/);
    expect(() => parseApiKeys("x:admin:bbbbbbbbbbbbbbbbbbbb,x:viewer:cccccccccccccccccccc")).toThrow(/duplicate id/);
  });
});

describe("runtime detection", () => {
  it("prefers in-cluster Kubernetes", async () => {
    const d = await detectRuntime({
      env: { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" },
      fileExists: (p) => p.endsWith("/token"),
    });
    expect(d.runtime).toBe("k8s");
  });
  it("picks podman when a socket answers /_ping (a real unix-socket HTTP server)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-sock-"));
    const sock = join(dir, "engine.sock");
    const pings: string[] = [];
    const server = createServer((req, res) => {
      pings.push(req.url ?? "");
      res.writeHead(req.url === "/_ping" ? 200 : 404).end("OK");
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const silent = join(dir, "silent.sock");
      const d = await detectRuntime({ env: { CONTAINER_HOST: `unix://${silent}`, DOCKER_HOST: `unix://${sock}` } });
      expect(d.runtime).toBe("podman");
      expect(d.socket).toBe(sock);
      expect(d.reason).toContain("DOCKER_HOST");
      expect(d.steps.join(";")).toContain(`CONTAINER_HOST ${silent}: no socket`);
      expect(pings).toEqual(["/_ping"]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("falls back to processes when no socket answers, saying what it tried", async () => {
    const d = await detectRuntime({
      env: { CONTAINER_HOST: "unix:///nonexistent/podman.sock" },
      fileExists: () => false,
    });
    expect(d.runtime).toBe("process");
    expect(d.reason).toContain("CONTAINER_HOST /nonexistent/podman.sock: no socket");
  });
});
