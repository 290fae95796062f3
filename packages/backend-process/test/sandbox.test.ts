import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { processRuntime } from "../src/index.js";
import { startTime } from "../src/pid-records.js";
import { processRequest, REPO_ROOT } from "./helpers.js";

const bwrap = await checkService("bubblewrap", async () => {
  const r = spawnSync("bwrap", ["--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "true"], { stdio: "ignore" });
  return r.status === 0 || "bwrap is missing or cannot create namespaces (apt-get install bubblewrap)";
});
const root = await checkService("root", async () => process.getuid?.() === 0 || 'sandbox "user" needs a root host');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(fn: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `sh -c script` as an instance and returns its output once it printed `END`. */
async function runScript(rt: ReturnType<typeof processRuntime>, id: string, script: string, extra: object = {}) {
  await rt.deploy(processRequest(id, { command: ["sh", "-c", `exec 1>&2\n${script}\necho END`], ...extra }));
  let out = "";
  await until(async () => {
    const lines: string[] = [];
    for await (const l of rt.logs(id)) lines.push(l.line);
    out = lines.join("\n");
    return out.includes("END");
  }, `${id} output`);
  await rt.remove(id);
  return out;
}

const work = mkdtempSync(join(tmpdir(), "mcpfleet-sbx-"));
chmodSync(work, 0o755); // bwrap runs as the unprivileged uid: it must reach the work and read-only directories
const hidden = join(work, "data");
mkdirSync(hidden);
writeFileSync(join(hidden, "secrets.key"), "HIDDEN-CANARY-91c2", { mode: 0o644 });
afterAll(() => rmSync(work, { recursive: true, force: true }));

describeWith([bwrap], "bwrap sandbox", () => {
  const rt = processRuntime({
    sandbox: "bwrap",
    workDir: join(work, "rt"),
    readOnlyPaths: [REPO_ROOT, work],
    hiddenPaths: [hidden],
    killGraceMs: 500,
  });
  afterAll(() => rt.close());

  it("runs as 65534 with no host environment, hidden paths empty, read-only binds, private /tmp and pid namespace", async () => {
    process.env.MCPFLEET_HOST_ONLY = "host-only-canary-3e1f";
    const out = await runScript(
      rt,
      "confined",
      [
        'echo "ident=$(id -u):$(id -g) pid=$$"',
        "env",
        `cat ${hidden}/secrets.key`,
        `touch ${REPO_ROOT}/sbx-pwned || echo repo-read-only`,
        "touch /tmp/sbx-pwned-91c2 && echo tmp-ok",
        'touch "$HOME/file" && echo home-ok',
        "ls /proc | grep -c '^[0-9]'",
      ].join("\n"),
    );
    expect(out).toMatch(/ident=65534:65534 pid=\d/);
    expect(out).not.toContain("host-only-canary-3e1f");
    expect(out).not.toContain("HIDDEN-CANARY-91c2");
    expect(out).toContain("repo-read-only");
    expect(out).toContain("tmp-ok");
    expect(out).toContain("home-ok");
    expect(spawnSync("ls", ["/tmp/sbx-pwned-91c2"]).status).not.toBe(0);
    // a handful of processes (bwrap's init, sh, ls, grep), not the host's
    const count = Number(out.split("\n").find((l) => /^\d+$/.test(l)));
    expect(count).toBeLessThan(8);
  });

  it("has only loopback with sandbox.network=false", async () => {
    const out = await runScript(rt, "offline", "awk 'NR>2{print \"if=\" $1}' /proc/net/dev", {
      sandbox: { network: false },
    });
    expect([...out.matchAll(/if=(\S+):/g)].map((m) => m[1])).toEqual(["lo"]);
  });

  it("remove ends setsid grandchildren with the pid namespace", async () => {
    const marker = `sbx-setsid-${process.pid}`;
    // a stdio server that never answers initialize: deploy waits; remove must not
    const deploying = rt.deploy(
      processRequest(
        "escape",
        {
          command: ["sh", "-c", `setsid sh -c 'while :; do sleep 1; done' & while :; do sleep 1; done`],
          environment: {},
        },
        { MARKER: marker },
      ),
    );
    const pids = () =>
      spawnSync("pgrep", ["-f", "while :; do sleep 1; done"], { encoding: "utf8" })
        .stdout.split("\n")
        .filter(Boolean)
        .map(Number)
        .filter((p) => spawnSync("grep", ["-qz", `MARKER=${marker}`, `/proc/${p}/environ`]).status === 0);
    await until(() => pids().length >= 2, "both shells");
    await rt.remove("escape");
    await deploying;
    await until(() => pids().length === 0, "no shell left", 5000);
  });
});

describeWith([bwrap], "bwrap sandbox stopped right after its spawn", () => {
  it("leaves nothing behind when remove comes before bwrap finished setting up", async () => {
    const rt = processRuntime({
      sandbox: "bwrap",
      workDir: join(work, "rt-race"),
      readOnlyPaths: [REPO_ROOT],
      startTimeoutMs: 2000,
      killGraceMs: 200,
    });
    const marker = `MCPFLEET_RACE=${process.pid}`;
    const left = () =>
      spawnSync("sh", ["-c", `grep -lz '^${marker}$' /proc/[0-9]*/environ 2>/dev/null`], { encoding: "utf8" })
        .stdout.split("\n")
        .filter(Boolean);
    for (let i = 0; i < 8; i++) {
      const deploying = rt.deploy(
        processRequest(
          `race-${i}`,
          {
            command: [process.execPath, "-e", "setInterval(() => {}, 1000)"],
            transport: "streamable-http",
            port: 1,
          },
          { MCPFLEET_RACE: String(process.pid) },
        ),
      );
      await new Promise((r) => setTimeout(r, i * 3));
      await rt.remove(`race-${i}`);
      await deploying;
    }
    await until(() => left().length === 0, "no sandbox left", 5000);
    await rt.close();
  }, 60_000);
});

describeWith([root], "user sandbox (root host, no bwrap)", () => {
  const rt = processRuntime({ sandbox: "user", workDir: join(work, "rt-user"), killGraceMs: 500 });
  afterAll(() => rt.close());

  it("refuses a work directory the unprivileged uid cannot reach, naming it", async () => {
    const closed = mkdtempSync(join(tmpdir(), "mcpfleet-sbx-closed-"));
    const bad = processRuntime({ sandbox: "user", workDir: join(closed, "rt") });
    const err = await bad.deploy(processRequest("unreachable", { command: ["true"] })).catch((e) => e);
    expect(err.code).toBe("SANDBOX_UNAVAILABLE");
    expect(err.message).toContain(closed);
    await bad.close();
    rmSync(closed, { recursive: true, force: true });
  });

  it("runs as 65534 with the allowlisted environment, and cannot read the host's /proc environ", async () => {
    process.env.MCPFLEET_HOST_ONLY = "host-only-canary-3e1f";
    const out = await runScript(rt, "as-user", `echo "ident=$(id -u):$(id -g)"; env; cat /proc/${process.pid}/environ`);
    expect(out).toContain("ident=65534:65534");
    expect(out).not.toContain("host-only-canary-3e1f");
    expect(out).toMatch(/Permission denied/);
  });
});

describe("pid records", () => {
  it("a new runtime SIGKILLs the process groups a dead owner left, and leaves live owners' alone", async () => {
    const dir = join(work, "rt-records");
    mkdirSync(join(dir, ".pids"), { recursive: true });
    const orphan = spawn("sleep", ["300"], { detached: true, stdio: "ignore" });
    const kept = spawn("sleep", ["300"], { detached: true, stdio: "ignore" });
    await until(() => startTime(orphan.pid!) !== undefined && startTime(kept.pid!) !== undefined, "sleeps");
    const dead = spawnSync("true").pid; // an owner pid that has exited
    const record = (pid: number, owner: number, ownerStart: string) =>
      JSON.stringify({ pid, start: startTime(pid), owner, ownerStart });
    writeFileSync(join(dir, ".pids", `${dead}-orphan.json`), record(orphan.pid!, dead, "1"));
    writeFileSync(
      join(dir, ".pids", `${process.pid}-kept.json`),
      record(kept.pid!, process.pid, startTime(process.pid)!),
    );
    const rt = processRuntime({ sandbox: "none", allowRoot: true, workDir: dir });
    await until(() => !alive(orphan.pid!), "the orphan to be killed", 5000);
    expect(alive(kept.pid!)).toBe(true);
    kept.kill("SIGKILL");
    await rt.close();
  });
});

describe("node installation reachability", () => {
  it("names the first directory the sandbox's uid cannot traverse above a path", async () => {
    const { untraversableAncestor } = await import("../src/sandbox-setup.js");
    const base = mkdtempSync(join(tmpdir(), "mcpfleet-reach-"));
    chmodSync(base, 0o755);
    const closed = join(base, "closed");
    mkdirSync(join(closed, "node", "bin"), { recursive: true });
    chmodSync(closed, 0o700);
    expect(untraversableAncestor(join(closed, "node", "bin", "node"))).toBe(closed);
    chmodSync(closed, 0o711);
    expect(untraversableAncestor(join(closed, "node", "bin", "node"))).toBeUndefined();
    rmSync(base, { recursive: true, force: true });
  });
});
