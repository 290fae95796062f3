/**
 * pnpm bench host-api: 64 concurrent HTTP clients against the example Express host (child process,
 * memory runtime/bus/store/secrets, API-key auth on) for 20 s: each client loops create instance ->
 * get it -> list instances (limit 20) -> get status. Prints req/s and the median/99th percentile latency.
 * Baseline measured side by side: the same request loop against a bare node:http server (child
 * process) answering a canned JSON body of the same size, so `ratio` = host req/s / bare req/s.
 * The two are measured in alternating slices (4 each) so both see the same machine conditions;
 * req/s is the median over slices, latency percentiles are over every request.
 * Only loopback traffic. Env: HOST_API_SECONDS (default 20), HOST_API_BASELINE_SECONDS (default 10),
 * HOST_API_CONCURRENCY (default 64), HOST_API_CPU_PROF (directory: CPU-profile the host child).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SECONDS = Number(process.env.HOST_API_SECONDS ?? 20);
const BASELINE_SECONDS = Number(process.env.HOST_API_BASELINE_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.HOST_API_CONCURRENCY ?? 64);
const KEY = "bench-operator-key-000000000000000000";
const log = (s: string) => process.stderr.write(`[host-api] ${s}\n`);

interface Result {
  requests: number;
  errors: number;
  seconds: number;
  latencies: Float64Array;
  created: number;
}

let runSeq = 0;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function call(port: number, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: {
          authorization: `Bearer ${KEY}`,
          ...(body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function load(port: number, seconds: number, label: string): Promise<Result> {
  const runId = runSeq++;
  const lat: number[] = [];
  let errors = 0;
  let created = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const timed = async (method: string, path: string, body?: string) => {
    const s = performance.now();
    try {
      const r = await call(port, method, path, body);
      lat.push(performance.now() - s);
      if (r.status >= 400) {
        errors++;
        if (errors <= 3) log(`${label}: ${method} ${path} -> ${r.status} ${r.body.slice(0, 200)}`);
      }
      return r;
    } catch {
      errors++;
      return undefined;
    }
  };
  const client = async (c: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const spec = {
        type: "docker",
        image: "mcp/echo:1",
        port: 8000,
        environment: { CLIENT: String(c), N: String(i) },
      };
      const r = await timed(
        "POST",
        "/v1/mcp-server-instances",
        JSON.stringify({ name: `${label.split(" ")[0]}-${runId}-${c}-${i}`, json_spec: spec }),
      );
      let id = "missing";
      if (r && r.status === 201) {
        created++;
        id = (JSON.parse(r.body) as { id: string }).id;
      }
      await timed("GET", `/v1/mcp-server-instances/${id}`);
      await timed("GET", "/v1/mcp-server-instances?limit=20");
      await timed("GET", `/v1/mcp-server-instances/${id}/status`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, c) => client(c)));
  const secondsTaken = (performance.now() - t0) / 1000;
  log(`${label}: ${lat.length} requests in ${secondsTaken.toFixed(1)} s, ${errors} errors, ${created} created`);
  return { requests: lat.length, errors, seconds: secondsTaken, latencies: Float64Array.from(lat).sort(), created };
}

const pct = (xs: Float64Array, p: number) =>
  xs.length ? xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]! : Number.NaN;
const r2 = (x: number) => Math.round(x * 100) / 100;

function child(args: string[], env: Record<string, string>): { proc: ChildProcess; ready: Promise<number> } {
  const prof = process.env.HOST_API_CPU_PROF ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.HOST_API_CPU_PROF}`] : [];
  const proc = spawn(process.execPath, [...prof, "--conditions=@mcpfleet/source", "--import", "tsx", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stderr!.on("data", (d) => process.env.HOST_API_VERBOSE && process.stderr.write(d));
  const ready = new Promise<number>((resolve, reject) => {
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (code) => reject(new Error(`child exited ${code} before listening`)));
  });
  return { proc, ready };
}

const BARE_SERVER = `
import { createServer } from "node:http";
const doc = ${JSON.stringify(
  JSON.stringify({
    id: "0b9f3c1e-8a7d-4c2b-9e1f-123456789abc",
    name: "b-0-0",
    server_spec_id: null,
    json_spec: { type: "docker", image: "mcp/echo:1", port: 8000, environment: { CLIENT: "0", N: "0" } },
    status: "running",
    status_reason: null,
    desired_state: "running",
    generation: 1,
    observed_generation: 1,
    spec_hash: "4f1c2a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b",
    endpoint: "memory://0b9f3c1e-8a7d-4c2b-9e1f-123456789abc",
    observed_by: "bench-1234",
    restart_count: 0,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    revision: 3,
  }),
)};
const list = "[" + Array(20).fill(doc).join(",") + "]";
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = req.url.includes("?") ? list : doc;
    res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65000;
server.listen(0, "127.0.0.1", () => process.stdout.write("listening on http://127.0.0.1:" + server.address().port + "\\n"));
`;

const SLICES = 4;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function merge(results: Result[]): { rps: number; latencies: Float64Array; errors: number; created: number } {
  const all = new Float64Array(results.reduce((n, r) => n + r.latencies.length, 0));
  let o = 0;
  for (const r of results) {
    all.set(r.latencies, o);
    o += r.latencies.length;
  }
  return {
    rps: median(results.map((r) => r.requests / r.seconds)),
    latencies: all.sort(),
    errors: results.reduce((n, r) => n + r.errors, 0),
    created: results.reduce((n, r) => n + r.created, 0),
  };
}

async function main(): Promise<void> {
  log(`starting the host (memory runtime) and the bare node:http baseline; ${CONCURRENCY} clients`);
  const host = child(["examples/express-host/src/main.ts"], {
    FLEET_RUNTIME: "memory",
    FLEET_BUS: "memory",
    FLEET_STORE: "memory",
    FLEET_SECRETS: "memory",
    PORT: "0",
    API_KEYS: `bench:operator:${KEY}`,
    RATE_LIMIT_RPS: "1000000",
    RATE_LIMIT_BURST: "1000000",
    AUDIT_LOG: "/dev/null",
    DATA_DIR: join(ROOT, "node_modules/.cache/host-api-bench"),
    LOG_LEVEL: "warn",
  });
  const bare = child(["--input-type=module", "-e", BARE_SERVER], {});
  const hostRuns: Result[] = [];
  const bareRuns: Result[] = [];
  try {
    const [hostPort, barePort] = await Promise.all([host.ready, bare.ready]);
    await load(hostPort, 2, "host warm-up");
    await load(barePort, 1, "bare warm-up");
    // Alternate slices so both servers see the same machine conditions (the machine may be shared).
    for (let i = 0; i < SLICES; i++) {
      hostRuns.push(await load(hostPort, SECONDS / SLICES, `host slice ${i + 1}/${SLICES}`));
      bareRuns.push(await load(barePort, BASELINE_SECONDS / SLICES, `bare slice ${i + 1}/${SLICES}`));
    }
  } finally {
    host.proc.kill("SIGTERM");
    bare.proc.kill("SIGTERM");
  }
  agent.destroy();
  const h = merge(hostRuns);
  const b = merge(bareRuns);
  const p99 = pct(h.latencies, 0.99);
  const out = {
    bench: "host-api",
    req_per_s: Math.round(h.rps),
    p50_ms: r2(pct(h.latencies, 0.5)),
    p99_ms: r2(p99),
    errors: h.errors,
    instances_created: h.created,
    baseline_req_per_s: Math.round(b.rps),
    baseline_p50_ms: r2(pct(b.latencies, 0.5)),
    baseline_p99_ms: r2(pct(b.latencies, 0.99)),
    ratio: r2(h.rps / b.rps),
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    target_met: h.rps >= 2000 && p99 <= 50,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
