import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { memorySecrets } from "../../src/index.js";
import { type Harness, harness } from "./harness.js";

/** The test servers listen on loopback: allowed explicitly (refused by default). */
const LOOPBACK = { allow: ["loopback"] };
const TOKEN = "tok-canary-1b2c";
let h: Harness | undefined;
let server: Server;
let base: string;
let healthy = true;
const seen: IncomingHttpHeaders[] = [];

beforeEach(async () => {
  healthy = true;
  seen.length = 0;
  server = createServer((req, res) => {
    seen.push(req.headers);
    res.statusCode = req.url === "/health" ? (healthy ? 200 : 503) : 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await h?.fleet.close();
  h = undefined;
  await new Promise((r) => server.close(r));
});

describe("url instances", () => {
  it("are health-checked, become running, and only the gateway connection carries the token", async () => {
    h = await harness({ health: { defaultIntervalMs: 20, defaultRetries: 2 }, endpointPolicy: LOOPBACK });
    const inst = await h.fleet.instances.create({
      name: "remote",
      json_spec: {
        type: "url",
        endpoint: `${base}/mcp`,
        health_check: { path: "/health", interval: 0.02, retries: 2 },
        authentication: { type: "bearer" },
      },
      secrets: { AUTH_TOKEN: TOKEN },
    });
    await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    expect(seen.length).toBeGreaterThan(0);
    const conn = await h.fleet.connection("remote");
    expect(conn.endpoint).toBe(`${base}/mcp`);
    expect(conn.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.stringify(await h.fleet.instances.get(inst.id)).includes(TOKEN)).toBe(false);
    expect(JSON.stringify(h.events).includes(TOKEN)).toBe(false);

    healthy = false;
    await h.fleet.instances.waitFor(inst.id, "unhealthy", { timeoutMs: 5000 });
    healthy = true;
    await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
  });

  it("readiness is detected by fast polling, not a full interval", async () => {
    h = await harness({ endpointPolicy: LOOPBACK });
    const inst = await h.fleet.instances.create({
      name: "fast",
      json_spec: { type: "url", endpoint: `${base}/mcp`, health_check: { path: "/health", interval: 3600 } },
    });
    await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 }); // an hour-long interval would time out
  });

  it("a missing token secret fails the instance naming the ref", async () => {
    h = await harness({ secrets: memorySecrets(), endpointPolicy: LOOPBACK });
    const inst = await h.fleet.instances.create({
      name: "notoken",
      json_spec: {
        type: "url",
        endpoint: `${base}/mcp`,
        authentication: { type: "bearer", token: "secret_ref:instance_123:AUTH_TOKEN" },
      },
      secret_scopes: ["instance_123"],
    });
    await h.fleet.instances.waitFor(inst.id, "failed");
    expect((await h.fleet.instances.get(inst.id)).status_reason).toMatch(/secret_ref:instance_123:AUTH_TOKEN/);
  });

  it("link-local and cloud-metadata endpoints are refused by default", async () => {
    h = await harness({ endpointPolicy: LOOPBACK });
    const err = await h.fleet.instances
      .create({ name: "ssrf", json_spec: { type: "url", endpoint: "http://169.254.169.254/latest/meta-data" } })
      .catch((e) => e);
    expect(err.code).toBe("ENDPOINT_REFUSED");
    expect(err.path).toBe("json_spec.endpoint");
  });
});
