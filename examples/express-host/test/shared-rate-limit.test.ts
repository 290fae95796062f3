import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { ConfigError, loadConfig } from "@mcpfleet/example-host-kit/config";
import { afterAll, describe, expect, it } from "vitest";
import { API_KEYS, KEYS, startTestHost } from "./helpers.js";
import { type SpawnedHost, spawnHost } from "./spawned-host.js";

/**
 * Rate limits shared across replicas: two host processes on one real Redis draw from one token
 * bucket per caller, so a caller cannot double its budget by spreading requests over replicas.
 */

const redis = await checkService(
  "redis",
  () =>
    new Promise<boolean | string>((resolve) => {
      const s = netConnect({ host: "127.0.0.1", port: 6379 }, () => s.write("PING\r\n"));
      s.setTimeout(1000, () => {
        s.destroy();
        resolve("timeout");
      });
      s.on("data", (d) => {
        s.destroy();
        resolve(d.toString().startsWith("+PONG") || d.toString().slice(0, 80));
      });
      s.on("error", (e) => resolve(e.message));
    }),
);

describe("RATE_LIMIT_STORE / RATE_LIMIT_REDIS_URL", () => {
  it("refuses a bad store or URL by name, and redis without any Redis URL", () => {
    let err: unknown;
    try {
      loadConfig({ RATE_LIMIT_STORE: "memcached", RATE_LIMIT_REDIS_URL: "http://127.0.0.1:6379" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { variable: "RATE_LIMIT_STORE", message: "must be one of auto, memory, redis" },
      { variable: "RATE_LIMIT_REDIS_URL", message: "must be a URL (redis: or rediss:)" },
    ]);
    expect(() => loadConfig({ RATE_LIMIT_STORE: "redis" })).toThrow(
      /RATE_LIMIT_REDIS_URL: is required with RATE_LIMIT_STORE=redis/,
    );
    expect(loadConfig({ RATE_LIMIT_STORE: "redis", FLEET_BUS: "redis", REDIS_URL: "redis://r:6379" })).toMatchObject({
      RATE_LIMIT_STORE: "redis",
    });
  });

  it("keeps limiting per replica when the shared Redis does not answer", async () => {
    const host = await startTestHost({
      RATE_LIMIT_REDIS_URL: "redis://127.0.0.1:1",
      RATE_LIMIT_RPS: "0.01",
      RATE_LIMIT_BURST: "3",
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await host.call("GET", "/v1/mcp-servers", { role: "viewer" })).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
    } finally {
      await host.close();
    }
  }, 30_000);
});

describeWith([redis], "two host processes on real Redis share one rate-limit budget", () => {
  const hosts: SpawnedHost[] = [];
  afterAll(async () => {
    for (const h of hosts) h.proc.kill("SIGTERM");
    await Promise.all(hosts.map((h) => h.exited));
  });

  it("a caller's burst holds across both replicas: 10 requests pass in all, then 429 with Retry-After on each", async () => {
    const prefix = `t-rl-${randomBytes(4).toString("hex")}:`;
    const base = {
      FLEET_RUNTIME: "memory",
      FLEET_STORE: "memory",
      FLEET_SECRETS: "memory",
      FLEET_BUS: "redis",
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_PREFIX: prefix,
      PORT: "0",
      API_KEYS,
      LOG_LEVEL: "info",
      // a token every 100 s: the test sees the burst, not the refill
      RATE_LIMIT_RPS: "0.01",
      RATE_LIMIT_BURST: "10",
    };
    const started = await Promise.all(
      ["a", "b"].map((n) => spawnHost({ ...base, DATA_DIR: mkdtempSync(join(tmpdir(), `mcpfleet-rl-${n}-`)) })),
    );
    hosts.push(...started);
    const [a, b] = started as [SpawnedHost, SpawnedHost];
    for (const h of started) expect(h.output()).toContain("shared through Redis (redis://127.0.0.1:6379)");
    const seen: Array<{ host: string; status: number; retryAfter: string | null }> = [];
    for (let i = 0; i < 24; i++) {
      const [name, h] = i % 2 === 0 ? ["a", a] : ["b", b];
      const res = await fetch(`${h.url}/v1/mcp-servers`, { headers: { authorization: `Bearer ${KEYS.viewer}` } });
      await res.arrayBuffer();
      seen.push({ host: name, status: res.status, retryAfter: res.headers.get("retry-after") });
    }
    // per-process buckets would let 20 through (10 on each)
    expect(seen.filter((s) => s.status === 200)).toHaveLength(10);
    expect(seen.slice(0, 10).every((s) => s.status === 200)).toBe(true);
    expect(seen.slice(10).every((s) => s.status === 429 && Number(s.retryAfter) >= 1)).toBe(true);
    expect(new Set(seen.slice(10).map((s) => s.host))).toEqual(new Set(["a", "b"]));
    // another caller has its own budget, shared the same way
    const admin = await fetch(`${b.url}/v1/mcp-servers`, { headers: { authorization: `Bearer ${KEYS.admin}` } });
    expect(admin.status).toBe(200);
  }, 90_000);
});
