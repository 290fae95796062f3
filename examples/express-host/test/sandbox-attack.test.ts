import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers.js";
import { type SpawnedHost, spawnHost, until } from "./spawned-host.js";

/**
 * Finding 1 of issue 14, replayed against the real host as its own process: an operator may not
 * run commands on the host at all, and what an admin runs cannot read the host's environment,
 * /proc, data directory or write outside its own home.
 */
const bwrap = await checkService("bubblewrap", async () => {
  const r = spawnSync("bwrap", ["--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "true"], { stdio: "ignore" });
  return r.status === 0 || "bwrap is missing or cannot create namespaces (apt-get install bubblewrap)";
});

const R = randomBytes(6).toString("hex");
const ADMIN = `adm-key-${R}-0123456789abcdef`;
const OPERATOR = `op-key-${R}-0123456789abcdef`;
const HOST_CANARY = `HOST-ONLY-CANARY-${R}`;
const DATA_CANARY = `DATA-DIR-CANARY-${R}`;

describeWith([bwrap], "sandbox attack on the real host (process runtime, bubblewrap)", () => {
  let host: SpawnedHost;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpfleet-attack-"));
    writeFileSync(join(dir, "canary.txt"), DATA_CANARY, { mode: 0o644 });
    host = await spawnHost({
      DATA_DIR: dir,
      PORT: "0",
      FLEET_RUNTIME: "process",
      API_KEYS: `adm:admin:${ADMIN},op:operator:${OPERATOR}`,
      FLEET_PASSPHRASE: HOST_CANARY,
      LOG_LEVEL: "warn",
    });
  }, 60_000);
  afterAll(async () => {
    host?.proc.kill("SIGTERM");
    await host?.exited;
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-process`, { recursive: true, force: true });
  });

  const logsOf = async (id: string) => (await host.call("GET", `/v1/mcp-server-instances/${id}/logs`, ADMIN)).text;

  it("refuses a process spec to an operator with 403 FORBIDDEN naming json_spec.type, and creates nothing", async () => {
    const res = await host.call("POST", "/v1/mcp-server-instances", OPERATOR, {
      name: "op-shell",
      json_spec: { type: "process", command: ["sh", "-c", `touch /tmp/op-pwned-${R}`], restart_policy: "no" },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("FORBIDDEN");
    expect(res.body.issues[0].path).toBe("json_spec.type");
    expect((await host.call("GET", "/v1/mcp-server-instances", ADMIN)).body).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(`/tmp/op-pwned-${R}`)).toBe(false);
  });

  it("an admin's process cannot read host secrets, the data directory or /proc of the host, nor write outside its home", async () => {
    const script = [
      "exec 1>&2",
      'echo "ident=$(id -u):$(id -g)"',
      "cat /proc/$PPID/environ; echo",
      'for f in /proc/[0-9]*/environ; do cat "$f"; echo; done',
      `cat ${dir}/secrets.key ${dir}/canary.txt ${dir}/store.json ${dir}/audit.log`,
      `ls -la ${dir}`,
      `touch /tmp/pwned-${R} && echo tmp-inside-ok`,
      `touch /etc/pwned-${R}`,
      `touch ${dir}/pwned-${R}`,
      `touch ${REPO_ROOT}/pwned-${R}`,
      `touch "$HOME/mine-${R}" && echo home-ok`,
      "echo attack-done",
    ].join("\n");
    const created = await host.call("POST", "/v1/mcp-server-instances", ADMIN, {
      name: "attack",
      json_spec: { type: "process", command: ["sh", "-c", script], transport: "stdio", restart_policy: "no" },
    });
    expect(created.status).toBe(201);
    const logs = await until(async () => {
      const l = await logsOf(created.body.id);
      return l.includes("attack-done") && l;
    }, "the attack script to finish");
    expect(logs).toContain("ident=65534:65534");
    expect(logs).toContain("tmp-inside-ok");
    expect(logs).toContain("home-ok");
    const secretsKey = readFileSync(join(dir, "secrets.key"), "utf8").trim();
    for (const secret of [ADMIN, OPERATOR, HOST_CANARY, DATA_CANARY, secretsKey]) expect(logs).not.toContain(secret);
    expect(logs).not.toContain("API_KEYS");
    for (const p of [`/tmp/pwned-${R}`, `/etc/pwned-${R}`, join(dir, `pwned-${R}`), join(REPO_ROOT, `pwned-${R}`)])
      expect(existsSync(p), p).toBe(false);
    expect(host.output()).not.toContain(DATA_CANARY);
  }, 60_000);

  it("network is on by default and off with sandbox.network=false", async () => {
    const ifaces = async (name: string, sandbox?: { network: boolean }) => {
      const created = await host.call("POST", "/v1/mcp-server-instances", ADMIN, {
        name,
        json_spec: {
          type: "process",
          command: ["sh", "-c", "exec 1>&2; awk 'NR>2{print \"if=\" $1}' /proc/net/dev; echo net-done"],
          restart_policy: "no",
          ...(sandbox ? { sandbox } : {}),
        },
      });
      expect(created.status).toBe(201);
      const logs = await until(async () => {
        const l = await logsOf(created.body.id);
        return l.includes("net-done") && l;
      }, `${name} to list interfaces`);
      return [...logs.matchAll(/if=([\w.-]+):/g)].map((m) => m[1]);
    };
    expect(await ifaces("net-off", { network: false })).toEqual(["lo"]);
    const hostIfaces = readFileSync("/proc/net/dev", "utf8").split("\n").slice(2).filter(Boolean).length;
    expect((await ifaces("net-on")).length).toBe(hostIfaces);
  }, 60_000);
});
