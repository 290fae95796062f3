import { randomBytes } from "node:crypto";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { adminPool } from "../../../packages/store-postgres/test/helpers.js";
import { startTestHost, type TestHost } from "./helpers.js";
import { type PrivatePostgres, privatePostgres } from "./private-postgres.js";

const COUNT = 1000;
const tools = await checkService("private postgresql (initdb, pg_ctl, runuser)", async () => {
  if (process.getuid?.() !== 0) return "running a private PostgreSQL as the postgres user needs root";
  await privatePostgres().then((p) => p.remove());
  return true;
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeWith([tools], "PostgreSQL restarted during 1,000 creates through the host", () => {
  let pgsql: PrivatePostgres;
  let host: TestHost;
  beforeAll(async () => {
    pgsql = await privatePostgres();
    host = await startTestHost({
      FLEET_STORE: "postgres",
      FLEET_SECRETS: "postgres",
      DATABASE_URL: pgsql.url,
      DATABASE_SCHEMA: "fleet",
      SECRETS_KEY: randomBytes(32).toString("hex"),
    });
  }, 120_000);
  afterAll(async () => {
    await host?.close();
    await pgsql?.remove();
  }, 60_000);

  it("0 lost, 0 duplicated; 503 STORE_UNAVAILABLE (never 500) while it is down; the engine converges after", async () => {
    const statuses = new Map<number, number>();
    const unavailable: string[] = [];
    let restarted = false;
    /** Creates one name until it exists: a create whose answer was lost is found by its name. */
    const createOne = async (name: string): Promise<void> => {
      for (;;) {
        const r = await host
          .call("POST", "/v1/mcp-server-instances", {
            body: { name, json_spec: { type: "docker", image: "mcp/x:1", port: 8000 } },
          })
          .catch(() => ({ status: 0, body: undefined }));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 201) return;
        if (r.status === 409) return; // created before the answer was lost: the retry meets its name
        if (r.status === 503) {
          unavailable.push(String(r.body?.code));
          await new Promise((res) => setTimeout(res, 100));
          continue;
        }
        throw new Error(`create ${name}: unexpected ${r.status} ${JSON.stringify(r.body)}`);
      }
    };
    let next = 0;
    const workers = Array.from({ length: 8 }, async () => {
      while (next < COUNT) {
        const i = next++;
        if (i === 300 && !restarted) {
          restarted = true;
          await pgsql.stop("fast");
          // while it is down the host answers 503, not 500
          const down = await host.call("POST", "/v1/mcp-server-instances", {
            body: { name: "while-down", json_spec: { type: "docker", image: "mcp/x:1", port: 8000 } },
          });
          expect(down.status).toBe(503);
          expect(down.body.code).toBe("STORE_UNAVAILABLE");
          expect((await host.call("GET", "/v1/mcp-server-instances")).status).toBe(503);
          await pgsql.start();
        }
        await createOne(`inst-${String(i).padStart(4, "0")}`);
      }
    });
    await Promise.all(workers);
    expect(restarted).toBe(true);
    expect(statuses.get(500) ?? 0).toBe(0);
    expect(unavailable.every((c) => c === "STORE_UNAVAILABLE")).toBe(true);

    const db = adminPool(pgsql.url);
    try {
      const rows = (await db.query("SELECT name FROM fleet.instances")).rows as { name: string }[];
      const names = rows.map((r) => r.name).filter((n) => n.startsWith("inst-"));
      expect(names).toHaveLength(COUNT); // none lost
      expect(new Set(names).size).toBe(COUNT); // none duplicated
      expect(rows.some((r) => r.name === "while-down")).toBe(false); // the refused write changed nothing
      // the watch reconnected and the engine resynced: every instance converges
      await until("every instance running", async () => {
        const r = await db.query("SELECT count(*)::int AS n FROM fleet.instances WHERE status = 'running'");
        return r.rows[0].n === COUNT ? true : undefined;
      });
    } finally {
      await db.end();
    }
    expect((await host.call("GET", "/ready", { role: "none" })).status).toBe(200);
  }, 400_000);
});
