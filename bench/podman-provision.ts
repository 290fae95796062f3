/**
 * pnpm bench podman-provision: time from "create" to "MCP initialize answered" for server-everything
 * (Streamable HTTP) in Podman.
 * - fleet: createFleet + podmanRuntime + mcpProbe; fleet.instances.create() until the instance is `running`
 *   (the probe's initialize + ping answered).
 * - raw (baseline, same run): `podman run -d -p 127.0.0.1:<port>:3001 <image>` then polling MCP `initialize`
 *   at the fleet's readiness rate (first at once, then 10 ms doubling to 1 s).
 * 20 sequential (fleet and raw alternating) and 10 concurrent of each. Delete latency: fleet
 * instances.delete() until the container is gone, vs `podman rm -f`. Medians. Loopback only.
 * Needs scripts/podman-env.sh (run here; idempotent).
 */
import { execFile, execFileSync } from "node:child_process";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { podmanRuntime } from "@mcpfleet/backend-podman";
import { createFleet, memoryStore } from "@mcpfleet/core";
import { mcpProbe } from "@mcpfleet/mcp";

const SEQ = Number(process.env.PODMAN_BENCH_SEQ ?? 20);
const CONC = Number(process.env.PODMAN_BENCH_CONC ?? 10);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);
const log = (msg: string) => process.stderr.write(`[podman-provision] ${msg}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : Number.NaN;
};
const round = (x: number) => Math.round(x * 10) / 10;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

const envOut = execFileSync("bash", [join(root, "scripts/podman-env.sh")], {
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
});
const vars = Object.fromEntries(
  envOut
    .split("\n")
    .map((l) => /^export ([A-Z_]+)=(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1] as string, m[2] as string]),
);
process.env.CONTAINERS_CONF = vars.CONTAINERS_CONF;
const IMAGE = vars.MCPFLEET_TEST_IMAGE_HTTP as string;
const SOCKET = vars.MCPFLEET_PODMAN_SOCKET as string;
const owner = `bench-${process.pid}`;

function initialize(url: string): Promise<boolean> {
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
  });
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: "POST",
        timeout: 2000,
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve(res.statusCode === 200 && text.includes("serverInfo")));
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end(body);
  });
}

async function pollInitialize(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  while (!(await initialize(url))) {
    if (Date.now() > deadline) throw new Error(`no initialize answer from ${url}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

let rawSeq = 0;
async function rawOnce(): Promise<{ up: number; del: number }> {
  const name = `${owner}-raw-${rawSeq++}`;
  const port = await freePort();
  const t0 = performance.now();
  await run("podman", [
    "run",
    "-d",
    "--name",
    name,
    "--label",
    `mcpfleet.bench=${owner}`,
    "-p",
    `127.0.0.1:${port}:3001`,
    IMAGE,
  ]);
  await pollInitialize(`http://127.0.0.1:${port}/mcp`);
  const up = performance.now() - t0;
  const t1 = performance.now();
  await run("podman", ["rm", "-f", "-t", "2", name]);
  return { up, del: performance.now() - t1 };
}

const runtime = podmanRuntime({ owner, network: `${owner}-net`, socketPath: SOCKET, stopTimeoutSeconds: 2 });
const fleet = createFleet({
  runtimes: { docker: runtime },
  store: memoryStore(),
  probes: [mcpProbe()],
  reconciler: { concurrency: 32, resyncIntervalMs: 30_000 },
});

let fleetSeq = 0;
async function fleetOnce(): Promise<{ up: number; del: number }> {
  const name = `f${fleetSeq++}`;
  const t0 = performance.now();
  const inst = await fleet.instances.create({ name, json_spec: { type: "docker", image: IMAGE, port: 3001 } });
  await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 30_000 });
  const up = performance.now() - t0;
  const t1 = performance.now();
  await fleet.instances.delete(inst.id);
  while (await runtime.inspect(inst.id)) await new Promise((r) => setTimeout(r, 10));
  return { up, del: performance.now() - t1 };
}

async function main(): Promise<void> {
  await fleet.start();
  const started = performance.now();
  await fleetOnce(); // warm-up: network creation, first connection
  await rawOnce();
  const fleetUp: number[] = [];
  const rawUp: number[] = [];
  const fleetDel: number[] = [];
  const rawDel: number[] = [];
  for (let i = 0; i < SEQ; i++) {
    const order = i % 2 === 0 ? [fleetOnce, rawOnce] : [rawOnce, fleetOnce];
    for (const f of order) {
      const r = await f();
      if (f === fleetOnce) {
        fleetUp.push(r.up);
        fleetDel.push(r.del);
      } else {
        rawUp.push(r.up);
        rawDel.push(r.del);
      }
    }
    log(`sequential ${i + 1}/${SEQ}: fleet ${round(fleetUp.at(-1) ?? 0)} ms, raw ${round(rawUp.at(-1) ?? 0)} ms`);
  }
  const fleetConc = (await Promise.all(Array.from({ length: CONC }, () => fleetOnce()))).map((r) => r.up);
  log(`concurrent fleet: p50 ${round(median(fleetConc))} ms`);
  const rawConc = (await Promise.all(Array.from({ length: CONC }, () => rawOnce()))).map((r) => r.up);
  log(`concurrent raw: p50 ${round(median(rawConc))} ms`);
  const conn = await runtime.connection();
  const fleetP50 = median(fleetUp);
  const rawP50 = median(rawUp);
  process.stdout.write(
    `${JSON.stringify({
      bench: "podman-provision",
      engine: `${conn.podman ? "podman" : "docker"} ${conn.version}`,
      sequential: SEQ,
      concurrent: CONC,
      fleet_p50_ms: round(fleetP50),
      raw_p50_ms: round(rawP50),
      ratio: ratio(fleetP50, rawP50),
      fleet_concurrent_p50_ms: round(median(fleetConc)),
      raw_concurrent_p50_ms: round(median(rawConc)),
      concurrent_ratio: ratio(median(fleetConc), median(rawConc)),
      fleet_delete_p50_ms: round(median(fleetDel)),
      raw_delete_p50_ms: round(median(rawDel)),
      delete_ratio: ratio(median(fleetDel), median(rawDel)),
      total_s: round((performance.now() - started) / 1000),
    })}\n`,
  );
}

try {
  await main();
} finally {
  await fleet.close();
  await runtime.close();
  await run("podman", [
    "rm",
    "-f",
    "-t",
    "0",
    ...(await run("podman", ["ps", "-aq", "--filter", `label=mcpfleet.bench=${owner}`])).stdout
      .split("\n")
      .filter(Boolean),
  ]).catch(() => {});
  await run("podman", ["network", "rm", "-f", `${owner}-net`]).catch(() => {});
}
