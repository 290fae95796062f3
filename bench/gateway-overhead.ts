/**
 * gateway-overhead: `tools/call echo` through the mcpfleet gateway vs directly against the same
 * server-everything Streamable HTTP instance, 16 concurrent clients (raw keep-alive HTTP clients,
 * one MCP session each). The gateway (with its fleet) runs in its own process, as deployed. Short
 * phases alternate direct/gateway; figures are medians over rounds (ratios and added latencies per
 * round, then the median). With `GATEWAY_OVERHEAD_ROW=jwt-policy` (bench/gateway-overhead-jwt-policy.ts)
 * a third row joins the same rounds: bearer JWT verified by the host's OIDC verifier and a policy on
 * the principal, and the line printed is that row beside the unauthenticated gateway row.
 */
import { spawn } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFleet, silentLogger } from "@mcpfleet/core";
import { createGateway, mcpProbe, setPrincipal } from "@mcpfleet/mcp";
import { OidcVerifier } from "../examples/express-host/src/auth/oidc.js";
import { agent, bearerTokens, freePort, median, openSession, phase, round } from "./lib/mcp-load.js";

const CLIENTS = 16;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const JWT_ROW = process.env.GATEWAY_OVERHEAD_ROW === "jwt-policy";

const require = createRequire(join(process.cwd(), "packages/mcp/package.json"));
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);
const log = (...a: unknown[]) => console.error("[gateway-overhead]", ...a);

/** Child role: a fleet with one url instance behind the gateway, in its own process like a real deployment. */
async function gatewayChild(): Promise<void> {
  const fleet = createFleet({
    probes: [mcpProbe()],
    health: { defaultIntervalMs: 60_000 },
    // the upstream is a local server-everything
    endpointPolicy: { allow: ["loopback"] },
  });
  await fleet.start();
  await fleet.instances.create({ name: "everything", json_spec: { type: "url", endpoint: process.env.UPSTREAM_URL! } });
  await fleet.instances.waitFor("everything", "running", { timeoutMs: 20_000 });
  const gateway = createGateway(fleet, { aggregate: false });
  const server = createServer(gateway);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  // the JWT-authenticated, policy-checked row: the host's OIDC verifier (jose, discovery + JWKS from a
  // local issuer) and a policy on the principal, in front of the same gateway
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const issuerServer = createServer((req, res) => {
    const issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration")
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    else
      res.end(
        JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" }] }),
      );
  });
  await new Promise<void>((r) => issuerServer.listen(0, "127.0.0.1", r));
  const issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const signing = `${b64({ alg: "RS256", kid: "k1", typ: "JWT" })}.${b64({ iss: issuer, aud: "bench", sub: "bench", roles: ["operator"], iat: now, exp: now + 3600 })}`;
  const token = `${signing}.${sign("sha256", Buffer.from(signing), privateKey).toString("base64url")}`;
  const verifier = new OidcVerifier({
    issuer,
    audience: "bench",
    rolesClaim: "roles",
    groupsClaim: "groups",
    scopeClaim: "scope",
    algorithms: ["RS256"],
    clockSkewS: 30,
    logger: silentLogger(),
  });
  const policy = { instances: { names: ["every*"] }, tools: { allow: ["echo", "get-*"], deny: ["*delete*"] } };
  const authed = createServer(async (req, res) => {
    const auth = req.headers.authorization ?? "";
    const r = await verifier.verify(auth.slice(7));
    if (!r.ok) {
      res.statusCode = 401;
      res.end();
      return;
    }
    setPrincipal(req, { ...r.principal, policy, policyName: "bench" });
    gateway(req, res);
  });
  authed.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => authed.listen(0, "127.0.0.1", r));
  process.stdout.write(
    `READY http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp/everything AUTHED http://127.0.0.1:${(authed.address() as AddressInfo).port}/mcp/everything TOKEN ${token}\n`,
  );
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
  const [viaGateway, viaJwt] = await new Promise<[URL, URL]>((resolve, reject) => {
    let out = "";
    gw.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = out.match(/READY (\S+) AUTHED (\S+) TOKEN (\S+)\n/);
      if (m) {
        bearerTokens.set(new URL(m[2]!).href, m[3]!);
        resolve([new URL(m[1]!), new URL(m[2]!)]);
      }
    });
    gw.once("exit", (code) => reject(new Error(`gateway process exited ${code}`)));
  });
  try {
    const directSessions = await Promise.all(Array.from({ length: CLIENTS }, () => openSession(direct)));
    const gatewaySessions = await Promise.all(Array.from({ length: CLIENTS }, () => openSession(viaGateway)));
    const jwtSessions = JWT_ROW ? await Promise.all(Array.from({ length: CLIENTS }, () => openSession(viaJwt))) : [];
    log("warm-up");
    await phase(direct, directSessions, 800);
    await phase(viaGateway, gatewaySessions, 800);
    if (JWT_ROW) await phase(viaJwt, jwtSessions, 800);
    const d: Awaited<ReturnType<typeof phase>>[] = [];
    const g: Awaited<ReturnType<typeof phase>>[] = [];
    const j: Awaited<ReturnType<typeof phase>>[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      d.push(await phase(direct, directSessions, PHASE_MS));
      g.push(await phase(viaGateway, gatewaySessions, PHASE_MS));
      if (JWT_ROW) j.push(await phase(viaJwt, jwtSessions, PHASE_MS));
      log(
        `round ${i + 1}: direct ${d.at(-1)!.perSec.toFixed(0)}/s p50 ${d.at(-1)!.p50.toFixed(2)} ms, gateway ${g.at(-1)!.perSec.toFixed(0)}/s p50 ${g.at(-1)!.p50.toFixed(2)} ms`,
      );
    }
    // one client alone: the hop's own latency, without queueing at the saturated server
    const serial = { d: [] as number[], g: [] as number[], j: [] as number[] };
    for (let i = 0; i < 10; i++) {
      serial.d.push((await phase(direct, directSessions.slice(0, 1), 300)).p50);
      serial.g.push((await phase(viaGateway, gatewaySessions.slice(0, 1), 300)).p50);
      if (JWT_ROW) serial.j.push((await phase(viaJwt, jwtSessions.slice(0, 1), 300)).p50);
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
    if (!JWT_ROW) console.log(JSON.stringify(result));
    // the JWT-authenticated, policy-checked gateway row beside its baseline (the unauthenticated
    // gateway row), measured in the same rounds
    else
      console.log(
        JSON.stringify({
          bench: "gateway-overhead-jwt-policy",
          clients: CLIENTS,
          rounds: ROUNDS,
          direct_p50_ms: result.direct_p50_ms,
          baseline_gateway_p50_ms: result.gateway_p50_ms,
          jwt_policy_p50_ms: round(median(j.map((x) => x.p50))),
          baseline_gateway_calls_per_s: result.gateway_calls_per_s,
          jwt_policy_calls_per_s: round(median(j.map((x) => x.perSec)), 1),
          throughput_ratio_vs_gateway: round(median(j.map((x, i) => x.perSec / g[i]!.perSec))),
          added_p50_ms: round(median(j.map((x, i) => x.p50 - d[i]!.p50))),
          added_over_gateway_p50_ms: round(median(j.map((x, i) => x.p50 - g[i]!.p50))),
          serial_baseline_gateway_added_p50_ms: result.serial_added_p50_ms,
          serial_added_over_gateway_p50_ms: round(median(serial.j.map((x, i) => x - serial.g[i]!))),
          targets: { added_over_gateway_p50_ms: "<= 0.5" },
        }),
      );
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
