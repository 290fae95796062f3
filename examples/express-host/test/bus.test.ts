import { randomBytes } from "node:crypto";
import { connect as netConnect } from "node:net";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { expect, it } from "vitest";
import { startTestHost } from "./helpers.js";

/** The host wired to the real Redis and NATS buses (memory runtime): adapters load, events flow, metrics count them. */

function tcp(port: number, hello: string, expectPrefix: string): Promise<boolean | string> {
  return new Promise((resolve) => {
    const s = netConnect({ host: "127.0.0.1", port }, () => hello && s.write(hello));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve("timeout");
    });
    s.on("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith(expectPrefix) || d.toString().slice(0, 80));
    });
    s.on("error", (e) => resolve(e.message));
  });
}

/** Raw NATS protocol: delete a JetStream stream (and wait for the API reply). */
function natsDeleteStream(name: string): Promise<void> {
  return new Promise((resolve) => {
    const s = netConnect({ host: "127.0.0.1", port: 4222 }, () => {
      s.write(
        `CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.cleanup 1\r\nPUB $JS.API.STREAM.DELETE.${name} _INBOX.cleanup 0\r\n\r\n`,
      );
    });
    s.setTimeout(3000, () => s.destroy());
    s.on("data", (d) => {
      if (d.toString().includes("MSG _INBOX.cleanup")) s.end();
    });
    s.on("close", () => resolve());
    s.on("error", () => resolve());
  });
}

function redisDeletePrefix(prefix: string): Promise<void> {
  const args = [
    "EVAL",
    "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1",
    "0",
    `${prefix}*`,
  ];
  const resp = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
  return new Promise((resolve) => {
    const s = netConnect({ host: "127.0.0.1", port: 6379 }, () => s.write(resp));
    s.setTimeout(3000, () => s.destroy());
    s.on("data", () => s.end());
    s.on("close", () => resolve());
    s.on("error", () => resolve());
  });
}

const redis = await checkService("redis", () => tcp(6379, "PING\r\n", "+PONG"));
const nats = await checkService("nats", () => tcp(4222, "", "INFO"));

async function exercise(env: Record<string, string>) {
  const host = await startTestHost(env);
  try {
    expect(host.choices.find((c) => c.what === "bus")?.value).toBe(env.FLEET_BUS);
    const c = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "on-bus", json_spec: { type: "docker", image: "mcp/echo:1", port: 8000 } },
    });
    expect(c.status).toBe(201);
    await host.fleet.instances.waitFor(c.body.id, "running", { timeoutMs: 20_000 });
    const ready = await host.call("GET", "/ready", { role: "none" });
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.checks)).toContain(`bus:${env.FLEET_BUS}`);
    const m = await host.call("GET", "/metrics", { role: "viewer" });
    expect(m.text).toMatch(/mcpfleet_bus_published_total\{type="MCPServerInstanceStatusChanged"\} [1-9]/);
  } finally {
    await host.close();
  }
}

describeWith([redis], "host on the Redis bus", () => {
  it("creates and runs an instance with events over Redis Streams", async () => {
    const prefix = `thost-${randomBytes(3).toString("hex")}:`;
    try {
      await exercise({ FLEET_BUS: "redis", REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: prefix });
    } finally {
      await redisDeletePrefix(prefix);
    }
  }, 60_000);
});

describeWith([nats], "host on the NATS JetStream bus", () => {
  it("creates and runs an instance with events over JetStream", async () => {
    const id = randomBytes(3).toString("hex");
    const stream = `THOST_${id}`;
    try {
      await exercise({
        FLEET_BUS: "nats",
        NATS_URL: "nats://127.0.0.1:4222",
        NATS_STREAM: stream,
        NATS_SUBJECT_PREFIX: `thost.${id}`,
      });
    } finally {
      await natsDeleteStream(stream);
      await natsDeleteStream(`${stream}_DEAD`);
    }
  }, 60_000);
});
