/**
 * aggregate-overhead: the aggregated endpoint against its baselines, two JSON lines.
 * 1. `tools/call echo` through `/mcp` (as `everything__echo`), through `/mcp/everything`, and directly
 *    against the same server-everything, 16 concurrent 2025-era sessions; short alternating phases,
 *    medians of per-round figures (ratios and added latencies per round, then the median).
 *    Beside them, the same call on `/mcp` as 2026-07-28 requests (no sessions), reported as its own
 *    figures and its ratio to the 2025-era sessions on `/mcp`.
 * 2. `tools/list` on `/mcp` over 5 and over 50 instances (all on one server-everything), one client,
 *    against `tools/list` directly: p50s and how the list grows from 5 to 50.
 * The gateway (with its fleet) runs in its own process, as deployed.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFleet } from "@mcpfleet/core";
import { createGateway, mcpProbe } from "@mcpfleet/mcp";
import {
  agent,
  echoCall,
  freePort,
  median,
  modernCall,
  openSession,
  phase,
  round,
  log as say,
} from "./lib/mcp-load.js";

const CLIENTS = 16;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const log = (...a: unknown[]) => say("aggregate-overhead", ...a);

const require = createRequire(join(process.cwd(), "packages/mcp/package.json"));
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);

/** Child role: a fleet of INSTANCES url instances (`everything`, `everything-2`, ...) behind the gateway. */
async function gatewayChild(): Promise<void> {
  const n = Number(process.env.INSTANCES ?? 1);
  const fleet = createFleet({
    probes: [mcpProbe()],
    health: { defaultIntervalMs: 60_000 },
    allowUnsafeEndpoints: true,
  });
  await fleet.start();
  const names = Array.from({ length: n }, (_, i) => (i === 0 ? "everything" : `everything-${i + 1}`));
  for (const name of names) {
    await fleet.instances.create({ name, json_spec: { type: "url", endpoint: process.env.UPSTREAM_URL! } });
  }
  for (const name of names) await fleet.instances.waitFor(name, "running", { timeoutMs: 60_000 });
  const gateway = createGateway(fleet);
  const server = createServer(gateway);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp\n`);
  setInterval(() => process.ppid === 1 && process.kill(process.pid, "SIGTERM"), 1000).unref();
  process.on("SIGTERM", () => {
    server.closeAllConnections();
    server.close();
    void gateway.close().then(() => process.exit(0));
  });
}

async function startGateway(upstream: URL, instances: number) {
  const gw = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_ROLE: "gateway", UPSTREAM_URL: upstream.href, INSTANCES: String(instances) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = "";
    gw.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = out.match(/READY (\S+)/);
      if (m) resolve(m[1]!);
    });
    gw.once("exit", (code) => reject(new Error(`gateway process exited ${code}`)));
  });
  return { base, stop: () => gw.kill("SIGTERM") };
}

async function callBench(direct: URL) {
  const gw = await startGateway(direct, 1);
  try {
    const instance = new URL(`${gw.base}/everything`);
    const aggregate = new URL(gw.base);
    const open = (u: URL) => Promise.all(Array.from({ length: CLIENTS }, () => openSession(u)));
    const s = { d: await open(direct), i: await open(instance), a: await open(aggregate) };
    const viaAggregate = echoCall("everything__echo");
    const modern = modernCall(viaAggregate);
    const stateless = Array.from({ length: CLIENTS }, () => undefined);
    log("warm-up");
    await phase(direct, s.d, 800);
    await phase(instance, s.i, 800);
    await phase(aggregate, s.a, 800, viaAggregate);
    await phase(aggregate, stateless, 800, modern);
    const d: Awaited<ReturnType<typeof phase>>[] = [];
    const i: typeof d = [];
    const a: typeof d = [];
    const m: typeof d = [];
    for (let r = 0; r < ROUNDS; r++) {
      d.push(await phase(direct, s.d, PHASE_MS));
      i.push(await phase(instance, s.i, PHASE_MS));
      a.push(await phase(aggregate, s.a, PHASE_MS, viaAggregate));
      m.push(await phase(aggregate, stateless, PHASE_MS, modern));
      log(
        `round ${r + 1}: direct ${d.at(-1)!.perSec.toFixed(0)}/s, /mcp/<instance> ${i.at(-1)!.perSec.toFixed(0)}/s, /mcp ${a.at(-1)!.perSec.toFixed(0)}/s, /mcp 2026 ${m.at(-1)!.perSec.toFixed(0)}/s`,
      );
    }
    return {
      bench: "aggregate-overhead",
      clients: CLIENTS,
      rounds: ROUNDS,
      direct_calls_per_s: round(median(d.map((x) => x.perSec)), 1),
      instance_calls_per_s: round(median(i.map((x) => x.perSec)), 1),
      aggregate_calls_per_s: round(median(a.map((x) => x.perSec)), 1),
      ratio_vs_instance: round(median(a.map((x, k) => x.perSec / i[k]!.perSec))),
      ratio_vs_direct: round(median(a.map((x, k) => x.perSec / d[k]!.perSec))),
      direct_p50_ms: round(median(d.map((x) => x.p50))),
      instance_p50_ms: round(median(i.map((x) => x.p50))),
      aggregate_p50_ms: round(median(a.map((x) => x.p50))),
      added_p50_vs_instance_ms: round(median(a.map((x, k) => x.p50 - i[k]!.p50))),
      added_p50_vs_direct_ms: round(median(a.map((x, k) => x.p50 - d[k]!.p50))),
      aggregate_2026_calls_per_s: round(median(m.map((x) => x.perSec)), 1),
      aggregate_2026_p50_ms: round(median(m.map((x) => x.p50))),
      ratio_2026_vs_2025_sessions: round(median(m.map((x, k) => x.perSec / a[k]!.perSec))),
      targets: { ratio_vs_instance: ">= 0.85", added_p50_vs_instance_ms: "<= 1" },
    };
  } finally {
    gw.stop();
  }
}

async function listBench(direct: URL) {
  const list = (expect: string) => ({ method: "tools/list", params: {}, expect });
  const [directSession] = await Promise.all([openSession(direct)]);
  const out: Record<string, number> = {};
  out.direct_p50_ms = round(median(await rounds(() => phase(direct, [directSession], 300, list('"echo"')))));
  for (const n of [5, 50]) {
    const gw = await startGateway(direct, n);
    try {
      const url = new URL(gw.base);
      const session = await openSession(url);
      const last = n === 1 ? "everything__echo" : `everything-${n}__echo`;
      await phase(url, [session], 500, list(last)); // warm: every upstream connected, lists merged
      out[`aggregate_${n}_p50_ms`] = round(median(await rounds(() => phase(url, [session], 300, list(last)))));
    } finally {
      gw.stop();
    }
  }
  return {
    bench: "aggregate-tools-list",
    ...out,
    growth_5_to_50: round(out.aggregate_50_p50_ms! / out.aggregate_5_p50_ms!),
  };
}

async function rounds(fn: () => Promise<{ p50: number }>) {
  const xs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) xs.push((await fn()).p50);
  return xs;
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
  try {
    console.log(JSON.stringify(await callBench(direct)));
    console.log(JSON.stringify(await listBench(direct)));
  } finally {
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
