import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./helpers.js";

const MAIN = join(REPO_ROOT, "examples/express-host/src/main.ts");

/** The real host as its own OS process (main.ts), so a test can kill -9 it and attack its /proc. */
export interface SpawnedHost {
  proc: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  call(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any; text: string }>;
}

/**
 * The settings of an API replica on a shared PostgreSQL (memory runtime, bus and secrets; limits out
 * of the way), with its own data directory; `extra` adds to or overrides them.
 */
export function postgresReplicaEnv(
  databaseUrl: string,
  dataDir: string,
  apiKeys: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    FLEET_STORE: "postgres",
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: "fleet",
    FLEET_RUNTIME: "memory",
    FLEET_SECRETS: "memory",
    FLEET_BUS: "memory",
    PORT: "0",
    DATA_DIR: dataDir,
    API_KEYS: apiKeys,
    RATE_LIMIT_RPS: "10000",
    RATE_LIMIT_BURST: "10000",
    ...extra,
  };
}

export async function spawnHost(env: Record<string, string>): Promise<SpawnedHost> {
  let out = "";
  const proc = spawn(process.execPath, ["--conditions=@mcpfleet/source", "--import", "tsx", MAIN], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  let url: string | undefined;
  for (let i = 0; i < 600 && !url; i++) {
    url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    if (proc.exitCode !== null) throw new Error(`host exited ${proc.exitCode}: ${out}`);
    if (!url) await new Promise((r) => setTimeout(r, 100));
  }
  if (!url) throw new Error(`host did not listen: ${out}`);
  const base = url;
  return {
    proc,
    url: base,
    output: () => out,
    exited,
    async call(method, path, key, body) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text };
    },
  };
}

/** SIGTERMs every started host and waits for each to exit (absent ones are skipped). */
export async function stopHosts(hosts: Array<SpawnedHost | undefined>): Promise<void> {
  for (const h of hosts) {
    if (!h) continue;
    if (h.proc.exitCode === null) h.proc.kill("SIGTERM");
    await h.exited;
  }
}

/** Host pids whose environment holds `marker=value` (the test runs as the same user or root). */
export function pidsWithEnv(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(marker)) out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

export async function until<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
