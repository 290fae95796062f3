import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers.js";

const MAIN = join(REPO_ROOT, "examples/express-host/src/main.ts");

interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>, file = MAIN): Child {
  let out = "";
  let err = "";
  const proc = spawn(process.execPath, ["--conditions=@mcpfleet/source", "--import", "tsx", file], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function listening(c: Child): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const m = /listening on (http:\/\/\S+)/.exec(c.stdout());
    if (m) return m[1]!;
    if (c.proc.exitCode !== null) throw new Error(`exited ${c.proc.exitCode}: ${c.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no listening line: ${c.stdout()} ${c.stderr()}`);
}

describe("the host as a process (defaults: file store, file secrets, generated admin key)", () => {
  it("prints the first admin key once, serves with it across restarts, keeps data, and stops on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-host-proc-"));
    const env = { DATA_DIR: dir, PORT: "0", FLEET_RUNTIME: "memory", LOG_LEVEL: "info" };
    const first = run(env);
    const url = await listening(first);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.stdout()).toContain("runtime=memory");
    const key = /generated the first admin API key[^\n]*\n\s+(mcpf_\S+)/.exec(first.stdout())?.[1];
    expect(key).toBeDefined();
    expect(readFileSync(join(dir, "api-keys.json"), "utf8")).not.toContain(key!);
    expect(first.stderr()).not.toContain(key!);
    const canary = "CANARY-proc-7c1d";
    const created = await fetch(`${url}/v1/mcp-server-instances`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "persisted",
        json_spec: { type: "docker", image: "mcp/echo:1", port: 8000 },
        secrets: { TOKEN: canary },
      }),
    });
    expect(created.status).toBe(201);
    first.proc.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toContain("host stopped");

    const second = run(env);
    const url2 = await listening(second);
    expect(second.stdout()).not.toContain("generated the first admin API key");
    const got = await fetch(`${url2}/v1/mcp-server-instances/persisted`, { headers: { "x-api-key": key! } });
    expect(got.status).toBe(200);
    const body = (await got.json()) as { json_spec: { environment: Record<string, string> } };
    expect(body.json_spec.environment.TOKEN).toMatch(/^secret_ref:/);
    second.proc.kill("SIGINT");
    expect(await second.exited).toBe(0);
    for (const f of ["store.json", "secrets.enc", "audit.log"])
      expect(readFileSync(join(dir, f)).toString("utf8")).not.toContain(canary);
    expect(second.stderr() + first.stderr()).not.toContain(canary);
  });

  it("exits 2 naming every bad variable", async () => {
    const c = run({ FLEET_BUS: "kafka", PORT: "-1" });
    expect(await c.exited).toBe(2);
    expect(c.stderr()).toContain("FLEET_BUS: must be one of memory, redis, nats");
    expect(c.stderr()).toContain("PORT: must be >= 0");
  });
});
