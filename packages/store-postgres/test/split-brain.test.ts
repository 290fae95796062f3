import { fileURLToPath } from "node:url";
import { createFleet, memoryBus } from "@mcpfleet/core";
import { type Child, describeWith, runChild } from "@mcpfleet/core/testing";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { postgresStore } from "../src/index.js";
import { postgresService, schemaName, throwawayDatabase } from "./helpers.js";

const pgService = await postgresService();
const WORKER = fileURLToPath(new URL("./fixtures/lease-worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const LEASE_TTL_MS = 1500;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeWith([pgService], "fenced leases across worker processes on a real PostgreSQL (split brain)", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  const children: Child[] = [];
  beforeAll(async () => {
    db = await throwawayDatabase();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGCONT");
      await c.kill("SIGKILL");
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("a worker frozen (SIGSTOP) past its lease loses the instance; resumed, its late writes are refused and its copy removed", async () => {
    const schema = schemaName("split");
    const store = postgresStore({ connectionString: db.url }, { schema });
    const api = createFleet({ role: "api", store, bus: memoryBus() });
    await api.start();
    try {
      const env = { DATABASE_URL: db.url, SCHEMA: schema, LEASE_TTL_MS: String(LEASE_TTL_MS) };
      // A's deploy of "slow-*" takes long enough for the test to freeze it mid-deploy
      const a = runChild(WORKER, { ...env, WORKER_ID: "wa", DEPLOY_DELAY_MS: "3000" }, { cwd: ROOT });
      children.push(a);
      await a.waitFor((l) => l.ready === true, 60_000);
      const inst = await api.instances.create({
        name: "slow-one",
        json_spec: { type: "docker", image: "mcp/filesystem:latest", port: 8001 },
      });
      await a.waitFor((l) => l.deploying === inst.id, 60_000);
      const leaseA = await until("A's lease", async () =>
        (await store.leases!.list()).find((l) => l.key === inst.id && l.holder === "wa"),
      );
      a.proc.kill("SIGSTOP");

      // B starts while A is frozen: it waits for A's lease to expire (the database's clock), takes it
      // over with a higher token and deploys its own copy
      const b = runChild(WORKER, { ...env, WORKER_ID: "wb" }, { cwd: ROOT });
      children.push(b);
      await b.waitFor((l) => l.ready === true, 60_000);
      const running = await until("B running the instance", async () => {
        const cur = await store.instances.get(inst.id);
        return cur?.status === "running" && cur.observed_by === "wb" ? cur : undefined;
      });
      const leases = await store.leases!.list();
      const leaseB = leases.find((l) => l.key === inst.id)!;
      expect(leaseB).toMatchObject({ holder: "wb", live: true });
      expect(leaseB.token).toBeGreaterThan(leaseA.token);
      expect(a.lines.some((l) => l.deployed === inst.id)).toBe(false); // A was frozen before its deploy ended

      // A resumes: its deploy finishes locally, but the status write carries the old token: refused,
      // and A removes its copy instead of running a second one
      a.proc.kill("SIGCONT");
      await a.waitFor((l) => l.deployed === inst.id, 60_000);
      await a.waitFor((l) => l.removed === inst.id, 60_000);
      const warnings = a.lines.filter((l) => l.log === "warn").map((l) => String(l.msg));
      expect(warnings.some((m) => m.includes("lease lost") || m.includes("taken over"))).toBe(true);
      const after = await store.instances.get(inst.id);
      expect(after).toMatchObject({ status: "running", observed_by: "wb" });
      // no write of A landed after B's takeover: every later revision is B's or nobody's
      expect(after!.revision).toBeGreaterThanOrEqual(running.revision);
      expect((await store.leases!.list()).find((l) => l.key === inst.id)).toMatchObject({
        holder: "wb",
        token: leaseB.token,
      });
      // exactly one copy runs: B's (A deployed once and removed it; B deployed once, removed nothing)
      const deploys = (c: Child) => c.lines.filter((l) => l.deployed === inst.id).length;
      const removals = (c: Child) => c.lines.filter((l) => l.removed === inst.id).length;
      expect(deploys(a) - removals(a)).toBe(0);
      expect(deploys(b) - removals(b)).toBe(1);
      // A stays alive and keeps its hands off: a second instance still goes to exactly one worker
      const second = await api.instances.create({
        name: "quick-two",
        json_spec: { type: "docker", image: "mcp/filesystem:latest", port: 8001 },
      });
      const done = await until("second instance running", async () => {
        const cur = await store.instances.get(second.id);
        return cur?.status === "running" ? cur : undefined;
      });
      const owners = [a, b].filter((c) => c.lines.some((l) => l.deployed === second.id));
      expect(owners).toHaveLength(1);
      expect(owners[0]!.lines[0]!.worker).toBe(done.observed_by);
      expect(a.proc.exitCode).toBeNull();
    } finally {
      await api.close();
      await store.close();
    }
  }, 180_000);

  it("a frozen worker whose deploy fails after it resumes cannot record the failure: the database refuses the write (FENCED)", async () => {
    const schema = schemaName("fence");
    const store = postgresStore({ connectionString: db.url }, { schema });
    const api = createFleet({ role: "api", store, bus: memoryBus() });
    await api.start();
    try {
      const env = { DATABASE_URL: db.url, SCHEMA: schema, LEASE_TTL_MS: String(LEASE_TTL_MS) };
      const a = runChild(WORKER, { ...env, WORKER_ID: "wa", DEPLOY_DELAY_MS: "3000", FAIL_SLOW: "1" }, { cwd: ROOT });
      children.push(a);
      await a.waitFor((l) => l.ready === true, 60_000);
      const inst = await api.instances.create({
        name: "slow-failing",
        json_spec: { type: "docker", image: "mcp/filesystem:latest", port: 8001 },
      });
      await a.waitFor((l) => l.deploying === inst.id, 60_000);
      a.proc.kill("SIGSTOP");
      const b = runChild(WORKER, { ...env, WORKER_ID: "wb" }, { cwd: ROOT });
      children.push(b);
      const running = await until("B running the instance", async () => {
        const cur = await store.instances.get(inst.id);
        return cur?.status === "running" && cur.observed_by === "wb" ? cur : undefined;
      });
      a.proc.kill("SIGCONT");
      // A's deploy fails; recording it (restart count, reason: an unguarded write) carries A's old
      // token and the database refuses it
      await a.waitFor((l) => l.log === "warn" && l.code === "FENCED" && l.instanceId === inst.id, 60_000);
      const after = await store.instances.get(inst.id);
      expect(after).toMatchObject({ status: "running", observed_by: "wb", restart_count: running.restart_count });
      expect(after!.status_reason ?? null).toBe(running.status_reason ?? null);
      expect(a.lines.some((l) => l.deployed === inst.id)).toBe(false);
      expect(b.lines.filter((l) => l.deployed === inst.id)).toHaveLength(1);
    } finally {
      await api.close();
      await store.close();
    }
  }, 180_000);
});
