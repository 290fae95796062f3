/** Load helpers the MCP benchmarks share: raw keep-alive HTTP clients, one MCP session each. */
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export const log = (bench: string, ...a: unknown[]) => console.error(`[${bench}]`, ...a);

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

export const agent = new Agent({ keepAlive: true, maxSockets: 64 });
/** Bearer tokens by endpoint URL (a row that authenticates, e.g. gateway-overhead's JWT row). */
export const bearerTokens = new Map<string, string>();

export function post(
  url: URL,
  body: unknown,
  session?: string,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; session?: string; text: string }> {
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
          ...(bearerTokens.has(url.href) ? { authorization: `Bearer ${bearerTokens.get(url.href)}` } : {}),
          ...extraHeaders,
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

export async function openSession(url: URL): Promise<string | undefined> {
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

/** `tools/call echo` on server-everything (the tool name as the endpoint shows it). */
export const echoCall = (name = "echo") => ({
  method: "tools/call",
  params: { name, arguments: { message: "bench" } },
  expect: "Echo: bench",
});
const ECHO = echoCall();

/**
 * The same call as a 2026-07-28 request (no session: the `_meta` envelope and the version, method
 * and name headers the revision requires).
 */
export const modernCall = (call: { method: string; params: Record<string, unknown>; expect: string }) => ({
  ...call,
  params: {
    ...call.params,
    _meta: {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": {},
      "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1" },
    },
  },
  headers: {
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": call.method,
    ...(typeof call.params.name === "string" ? { "mcp-name": call.params.name } : {}),
  },
});

export async function phase(
  url: URL,
  sessions: (string | undefined)[],
  ms: number,
  call: { method: string; params: Record<string, unknown>; expect: string; headers?: Record<string, string> } = ECHO,
) {
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
          { jsonrpc: "2.0", id: id++, method: call.method, params: call.params },
          session,
          call.headers,
        );
        if (r.status !== 200 || !r.text.includes(call.expect))
          throw new Error(`bad answer ${r.status}: ${r.text.slice(0, 200)}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  if (process.env.BENCH_DEBUG)
    log("bench", url.pathname, "cpu us/call", ((cpu.user + cpu.system) / latencies.length).toFixed(0));
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return { perSec: latencies.length / (ms / 1000), p50: q(0.5), p99: q(0.99) };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;
