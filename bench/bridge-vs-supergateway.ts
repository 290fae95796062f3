/**
 * bridge-vs-supergateway: the same stdio server-everything behind the mcpfleet stdio bridge and behind
 * supergateway's Streamable HTTP output (stateless default and --stateful; its better one is kept),
 * each gateway in its own process, 16 concurrent raw keep-alive HTTP clients calling `tools/call echo`.
 */

import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { Agent, createServer, request } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const CLIENTS = 16;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(ROOT, "packages/mcp/package.json"));
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);
const SUPERGATEWAY = join(dirname(require.resolve("supergateway/package.json")), "dist/index.js");
const log = (...a: unknown[]) => console.error("[bridge-vs-supergateway]", ...a);

/** Child role: serve server-everything through our bridge and print the URL. */
async function bridgeChild(): Promise<void> {
  const { serveStdioBridge } = await import("@mcpfleet/mcp");
  const child = spawn(process.execPath, [EVERYTHING, "stdio"], { stdio: ["pipe", "pipe", "ignore"] });
  const served = await serveStdioBridge(child, { port: Number(process.env.BRIDGE_PORT) });
  await served.bridge.initialized();
  process.stdout.write(`READY ${served.url}\n`);
  // never outlive the benchmark
  setInterval(() => process.ppid === 1 && process.kill(process.pid, "SIGTERM"), 1000).unref();
  process.on("SIGTERM", () => {
    child.kill("SIGKILL");
    process.exit(0);
  });
}

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
  let calls = 0;
  let errors = 0;
  const latencies: number[] = [];
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
        ).catch(() => undefined);
        if (r?.status === 200 && r.text.includes("Echo: bench")) {
          calls++;
          latencies.push(performance.now() - t0);
        } else errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { perSec: calls / (ms / 1000), errors, p50: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN };
}

async function startProcess(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const on = (c: Buffer) => {
      out += c.toString();
      if (ready.test(out)) resolve();
    };
    child.stdout!.on("data", on);
    child.stderr!.on("data", on);
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out.slice(-500)}`)));
    setTimeout(() => reject(new Error(`not ready after 30 s: ${out.slice(-500)}`)), 30_000).unref();
  });
  return child;
}

async function measure(name: string, url: URL): Promise<{ perSec: number; p50: number; errors: number }> {
  const sessions = await Promise.all(Array.from({ length: CLIENTS }, () => openSession(url)));
  await phase(url, sessions, 800);
  const runs = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await phase(url, sessions, PHASE_MS));
  runs.sort((a, b) => a.perSec - b.perSec);
  const best = runs[Math.floor(runs.length / 2)]!;
  log(
    `${name}: ${runs.map((r) => r.perSec.toFixed(0)).join(", ")} calls/s (median ${best.perSec.toFixed(0)}), p50 ${best.p50.toFixed(2)} ms, errors ${best.errors}`,
  );
  return best;
}

async function main(): Promise<void> {
  const results: Record<string, { perSec: number; p50: number; errors: number }> = {};
  const self = fileURLToPath(import.meta.url);
  const variants: [string, () => Promise<{ child: ChildProcess; url: URL }>][] = [
    [
      "mcpfleet",
      async () => {
        const port = await freePort();
        const child = await startProcess([...process.execArgv, self], /READY/, {
          BENCH_ROLE: "bridge",
          BRIDGE_PORT: String(port),
        });
        return { child, url: new URL(`http://127.0.0.1:${port}/mcp`) };
      },
    ],
    ...(["stateless", "stateful"] as const).map(
      (mode) =>
        [
          `supergateway_${mode}`,
          async () => {
            const port = await freePort();
            const args = [
              SUPERGATEWAY,
              "--stdio",
              `${process.execPath} ${EVERYTHING} stdio`,
              "--outputTransport",
              "streamableHttp",
              "--port",
              String(port),
              "--logLevel",
              "none",
            ];
            if (mode === "stateful") args.push("--stateful");
            const child = spawn(process.execPath, args, { stdio: "ignore" });
            for (let i = 0; i < 100; i++) {
              const up = await post(new URL(`http://127.0.0.1:${port}/mcp`), {
                jsonrpc: "2.0",
                id: 0,
                method: "ping",
              }).catch(() => undefined);
              if (up) break;
              await new Promise((r) => setTimeout(r, 100));
            }
            return { child, url: new URL(`http://127.0.0.1:${port}/mcp`) };
          },
        ] as [string, () => Promise<{ child: ChildProcess; url: URL }>],
    ),
  ];
  for (const [name, start] of variants) {
    const { child, url } = await start();
    try {
      results[name] = await measure(name, url);
    } catch (err) {
      log(`${name} failed: ${(err as Error).message}`);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      child.kill("SIGKILL");
    }
  }
  const ours = results.mcpfleet?.perSec ?? 0;
  const stateless = results.supergateway_stateless?.perSec ?? 0;
  const stateful = results.supergateway_stateful?.perSec ?? 0;
  const theirs = Math.max(stateless, stateful);
  const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
  console.log(
    JSON.stringify({
      bench: "bridge-vs-supergateway",
      clients: CLIENTS,
      mcpfleet_calls_per_s: round(ours),
      supergateway_calls_per_s: round(theirs),
      supergateway_mode: stateful >= stateless ? "stateful" : "stateless",
      supergateway_stateless_calls_per_s: round(stateless),
      supergateway_stateful_calls_per_s: round(stateful),
      mcpfleet_p50_ms: round(results.mcpfleet?.p50 ?? Number.NaN, 3),
      supergateway_p50_ms: round(
        (stateful >= stateless ? results.supergateway_stateful : results.supergateway_stateless)?.p50 ?? Number.NaN,
        3,
      ),
      throughput_ratio: theirs > 0 ? round(ours / theirs, 3) : null,
      target: { throughput_ratio: ">= 1.5" },
    }),
  );
  agent.destroy();
}

if (process.env.BENCH_ROLE === "bridge") void bridgeChild();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
