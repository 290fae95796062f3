/**
 * gateway-overhead: `tools/call echo` through the mcpfleet gateway vs directly against the same
 * server-everything Streamable HTTP instance, 16 concurrent clients (raw keep-alive HTTP clients,
 * one MCP session each). The gateway (with its fleet) runs in its own process, as deployed. Short phases alternate direct/gateway; figures are medians over rounds
 * (ratios and added latencies per round, then the median).
 */
import { spawn } from "node:child_process";
import { Agent, createServer, request } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFleet } from "@mcpfleet/core";
import { createGateway, mcpProbe } from "@mcpfleet/mcp";

const CLIENTS = 16;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);

const require = createRequire(join(process.cwd(), "packages/mcp/package.json"));
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);
const log = (...a: unknown[]) => console.error("[gateway-overhead]", ...a);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(url: URL, body: unknown, session?: string): Promise<{ status: number; session?: string; text: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "content-length": Buffer.byteLength(data),
          "mcp-protocol-version": "2025-06-18",
          ...(session ? { "mcp-session-id": session } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, session: res.headers["mcp-session-id"] as string | undefined, text }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

async function openSession(url: URL): Promise<string | undefined> {
  const init = await post(url, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
  });
  if (init.status !== 200) throw new Error(`initialize answered ${init.status}: ${init.text.slice(0, 200)}`);
  await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, init.session);
  return init.session;
}

async function phase(url: URL, sessions: (string | undefined)[], ms: number) {
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const end = performance.now() + ms;
  let id = 1;
  await Promise.all(
    sessions.map(async (session) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const r = await post(
          url,
          { jsonrpc: "2.0", id: id++, method: "tools/call", params: { name: "echo", arguments: { message: "bench" } } },
          session,
        );
        if (r.status !== 200 || !r.text.includes("Echo: bench"))
          throw new Error(`bad answer ${r.status}: ${r.text.slice(0, 200)}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  if (process.env.BENCH_DEBUG)
    log(url.pathname, "bench-process cpu us/call", ((cpu.user + cpu.system) / latencies.length).toFixed(0));
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return { perSec: latencies.length / (ms / 1000), p50: q(0.5), p99: q(0.99) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;

/** Child role: a fleet with one url instance behind the gateway, in its own process like a real deployment. */
async function gatewayChild(): Promise<void> {
  const fleet = createFleet({ probes: [mcpProbe()], health: { defaultIntervalMs: 60_000 } });
  await fleet.start();
  await fleet.instances.create({ name: "everything", json_spec: { type: "url", endpoint: process.env.UPSTREAM_URL! } });
  await fleet.instances.waitFor("everything", "running", { timeoutMs: 20_000 });
  const gateway = createGateway(fleet, { aggregate: false });
  const server = createServer(gateway);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp/everything\n`);
  // never outlive the benchmark
  setInterval(() => process.ppid === 1 && process.kill(process.pid, "SIGTERM"), 1000).unref();
  process.on("SIGTERM", () => {
    server.closeAllConnections();
    server.close();
    void gateway.close().then(() => process.exit(0));
  });
}

async function main() {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, "streamableHttp"], {
    env: { PATH: process.env.PATH ?? "", PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (c: Buffer) => /listening/i.test(c.toString()) && resolve());
    child.once("exit", (code) => reject(new Error(`server-everything exited ${code}`)));
  });
  const direct = new URL(`http://127.0.0.1:${port}/mcp`);
  // BENCH_CHILD_ARGS: extra node flags for the gateway process (e.g. `--cpu-prof`)
  const extra = (process.env.BENCH_CHILD_ARGS ?? "").split(" ").filter(Boolean);
  const gw = spawn(process.execPath, [...process.execArgv, ...extra, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_ROLE: "gateway", UPSTREAM_URL: direct.href },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const viaGateway = await new Promise<URL>((resolve, reject) => {
    let out = "";
    gw.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = out.match(/READY (\S+)/);
      if (m) resolve(new URL(m[1]!));
    });
    gw.once("exit", (code) => reject(new Error(`gateway process exited ${code}`)));
  });
  try {
    const directSessions = await Promise.all(Array.from({ length: CLIENTS }, () => openSession(direct)));
    const gatewaySessions = await Promise.all(Array.from({ length: CLIENTS }, () => openSession(viaGateway)));
    log("warm-up");
    await phase(direct, directSessions, 800);
    await phase(viaGateway, gatewaySessions, 800);
    const d: Awaited<ReturnType<typeof phase>>[] = [];
    const g: Awaited<ReturnType<typeof phase>>[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      d.push(await phase(direct, directSessions, PHASE_MS));
      g.push(await phase(viaGateway, gatewaySessions, PHASE_MS));
      log(
        `round ${i + 1}: direct ${d.at(-1)!.perSec.toFixed(0)}/s p50 ${d.at(-1)!.p50.toFixed(2)} ms, gateway ${g.at(-1)!.perSec.toFixed(0)}/s p50 ${g.at(-1)!.p50.toFixed(2)} ms`,
      );
    }
    // one client alone: the hop's own latency, without queueing at the saturated server
    const serial = { d: [] as number[], g: [] as number[] };
    for (let i = 0; i < 10; i++) {
      serial.d.push((await phase(direct, directSessions.slice(0, 1), 300)).p50);
      serial.g.push((await phase(viaGateway, gatewaySessions.slice(0, 1), 300)).p50);
    }
    // short alternating phases, then medians of per-round figures: robust to load drifting on a shared machine
    const directRate = median(d.map((x) => x.perSec));
    const gatewayRate = median(g.map((x) => x.perSec));
    const result = {
      bench: "gateway-overhead",
      clients: CLIENTS,
      rounds: ROUNDS,
      direct_calls_per_s: round(directRate, 1),
      gateway_calls_per_s: round(gatewayRate, 1),
      throughput_ratio: round(median(g.map((x, i) => x.perSec / d[i]!.perSec))),
      direct_p50_ms: round(median(d.map((x) => x.p50))),
      gateway_p50_ms: round(median(g.map((x) => x.p50))),
      added_p50_ms: round(median(g.map((x, i) => x.p50 - d[i]!.p50))),
      added_p99_ms: round(median(g.map((x, i) => x.p99 - d[i]!.p99))),
      serial_direct_p50_ms: round(median(serial.d)),
      serial_added_p50_ms: round(median(serial.g.map((x, i) => x - serial.d[i]!))),
      targets: { throughput_ratio: ">= 0.85", added_p50_ms: "<= 0.5" },
    };
    console.log(JSON.stringify(result));
  } finally {
    gw.kill("SIGTERM");
    agent.destroy();
    child.kill("SIGKILL");
  }
}

if (process.env.BENCH_ROLE === "gateway") void gatewayChild();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
