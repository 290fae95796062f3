import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { type FleetEvent, recordingLogger } from "@mcpfleet/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, startTestHost, type TestHost, type TestRole } from "../helpers.js";

// Issue 14: secret values passed every way never appear in a REST or MCP answer, log, audit line, event,
// metric, stored document or data file of the listening host (file store, encrypted file secrets).
const require = createRequire(import.meta.url);
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);
const CANARIES = {
  env: "canary-sweep-env-51c0f2",
  token: "canary-sweep-token-9e77ab",
  header: "canary-sweep-header-3d2a18",
};

const logger = recordingLogger();
const events: FleetEvent[] = [];
const answers: string[] = [];
let host: TestHost;
let upstream: Server;
const upstreamSaw: IncomingHttpHeaders[] = [];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

async function get(path: string, role: TestRole = "admin") {
  const r = await host.call("GET", path, { role });
  answers.push(r.text);
  return r;
}

async function mcp(url: string, role: TestRole) {
  const client = new Client({ name: "sweep", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${KEYS[role]}` } },
    }),
  );
  return client;
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    upstreamSaw.push(req.headers);
    res.statusCode = req.url === "/health" ? 200 : 404;
    res.end();
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  host = await startTestHost(
    {
      FLEET_RUNTIME: "process",
      FLEET_STORE: "file",
      FLEET_SECRETS: "file",
      SECRETS_KEY: "sweep-passphrase-0123456789",
      ALLOW_UNSAFE_ENDPOINTS: "true",
      ENDPOINT_ALLOW: "loopback",
    },
    { logger },
  );
  host.fleet.subscribe((e) => events.push(e));
  const proc = await host.call("POST", "/v1/mcp-server-instances", {
    role: "admin",
    body: {
      name: "everything",
      json_spec: { type: "process", command: [process.execPath, EVERYTHING, "stdio"], transport: "stdio" },
      secrets: { API_KEY: CANARIES.env },
    },
  });
  answers.push(proc.text);
  expect(proc.status).toBe(201);
  const port = (upstream.address() as AddressInfo).port;
  const url = await host.call("POST", "/v1/mcp-server-instances", {
    role: "operator",
    body: {
      name: "remote",
      json_spec: {
        type: "url",
        endpoint: `http://127.0.0.1:${port}/mcp`,
        health_check: { path: "/health", interval: 0.05 },
        authentication: { type: "bearer", token: CANARIES.token },
        headers: { "X-Api-Key": CANARIES.header },
      },
    },
  });
  answers.push(url.text);
  expect(url.status).toBe(201);
  await host.fleet.instances.waitFor(proc.body.id, "running", { timeoutMs: 30_000 });
  await host.fleet.instances.waitFor(url.body.id, "running", { timeoutMs: 30_000 });
}, 60_000);

afterAll(async () => {
  await host?.close();
  await new Promise((r) => upstream?.close(r));
});

describe("canary sweep", () => {
  it("the secrets reach only where they are used (the url instance's upstream got its token and header)", () => {
    const used = upstreamSaw.find((h) => h.authorization === `Bearer ${CANARIES.token}`);
    expect(used?.["x-api-key"]).toBe(CANARIES.header);
  });

  it("no canary in any REST answer, for every role", async () => {
    const list = await get("/v1/mcp-server-instances");
    const ids = (list.body as Array<{ id: string }>).map((i) => i.id);
    for (const role of ["viewer", "operator", "admin"] as const) {
      await get("/v1/mcp-server-instances", role);
      for (const id of ids) {
        for (const sub of ["", "/status", "/logs?tail=500", "/tools"])
          await get(`/v1/mcp-server-instances/${id}${sub}`, role);
      }
      await get("/v1/mcp-servers", role);
      await get("/metrics", role);
    }
    await get("/ready");
    await get("/openapi.json");
  });

  it("no canary in any MCP answer (gateway, aggregate, control plane)", async () => {
    const agg = await mcp(`${host.url}/mcp`, "operator");
    answers.push(JSON.stringify(await agg.listTools()));
    answers.push(JSON.stringify(await agg.callTool({ name: "everything__echo", arguments: { message: "hi" } })));
    await agg.close();
    for (const role of ["viewer", "operator", "admin"] as const) {
      const control = await mcp(`${host.url}/control/mcp`, role);
      for (const name of ["list_instances", "list_servers"]) {
        answers.push(JSON.stringify(await control.callTool({ name, arguments: {} })));
      }
      for (const id of ["everything", "remote"]) {
        for (const name of ["get_instance", "instance_status", "instance_logs"]) {
          answers.push(JSON.stringify(await control.callTool({ name, arguments: { id } })));
        }
      }
      await control.close();
    }
  });

  it("no canary in any answer, log line, audit line, event, or file under the data directory", async () => {
    await new Promise((r) => setTimeout(r, 100)); // the audit stream is asynchronous
    expect(answers.length).toBeGreaterThan(50);
    const places: Array<[string, string]> = [
      ["answers", answers.join("\n")],
      ["logs", JSON.stringify(logger.lines)],
      ["events", JSON.stringify(events)],
      ...filesUnder(host.dir).map((f): [string, string] => [f, readFileSync(f).toString("latin1")]),
    ];
    expect(places.some(([p]) => p.endsWith("audit.log"))).toBe(true);
    for (const [where, text] of places) {
      for (const canary of Object.values(CANARIES)) expect(text, `${where} holds ${canary}`).not.toContain(canary);
    }
  });
});
