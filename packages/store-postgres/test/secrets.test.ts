import { randomBytes } from "node:crypto";
import type { FleetError } from "@mcpfleet/core";
import { describeWith, secretStoreConformance } from "@mcpfleet/core/testing";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresSecrets } from "../src/index.js";
import { postgresService, schemaName, testPool, throwawayDatabase } from "./helpers.js";

const pgService = await postgresService();
const KEY = randomBytes(32).toString("hex");

describe("postgresSecrets options", () => {
  it("needs exactly one key source and names the option", () => {
    expect(() => postgresSecrets({ connectionString: "postgres://x/db" } as never)).toThrow(
      /\[mcpfleet\/secrets-postgres\] option "key" exactly one of key, passphrase or keyFile/,
    );
    expect(() => postgresSecrets({ connectionString: "postgres://x/db", key: "short" })).toThrow(
      /option "key" must be 32 bytes/,
    );
    expect(() => postgresSecrets({ connectionString: "postgres://x/db", passphrase: "short" })).toThrow(
      /option "passphrase"/,
    );
  });
});

describeWith([pgService], "postgresSecrets on a real PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  let admin: pg.Pool;
  beforeAll(async () => {
    db = await throwawayDatabase();
    admin = testPool(db.url);
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
  });

  const schema = schemaName("sec");
  secretStoreConformance("postgresSecrets (raw key)", () =>
    postgresSecrets({ connectionString: db.url, schema, key: KEY }),
  );
  secretStoreConformance("postgresSecrets (passphrase)", () =>
    postgresSecrets({
      connectionString: db.url,
      schema: `${schema}_p`,
      passphrase: "correct horse battery",
      scryptCost: 10,
    }),
  );

  it("the value never appears in the table's raw bytes", async () => {
    const s = schemaName("canary");
    const store = postgresSecrets({ connectionString: db.url, schema: s, key: KEY });
    const canary = `canary-${randomBytes(8).toString("hex")}`;
    await store.set({ scope: "instance_x", key: "TOKEN" }, canary);
    const { rows } = await admin.query(`SELECT t::text AS row, encode(value, 'escape') AS raw FROM "${s}".secrets t`);
    expect(rows).toHaveLength(1);
    expect(rows[0].row).not.toContain(canary);
    expect(rows[0].raw).not.toContain(canary);
    expect(rows[0].row).not.toContain(Buffer.from(canary).toString("hex"));
    expect(await store.get({ scope: "instance_x", key: "TOKEN" })).toBe(canary);
    await store.close();
  });

  it("rotate re-encrypts every row in one transaction; the old key no longer reads", async () => {
    const s = schemaName("rot");
    const store = postgresSecrets({ connectionString: db.url, schema: s, key: KEY });
    for (let i = 0; i < 5; i++) await store.set({ scope: "sc", key: `K${i}` }, `value-${i}`);
    const before = (await admin.query(`SELECT key, value FROM "${s}".secrets ORDER BY key`)).rows;
    const next = randomBytes(32).toString("base64");
    expect(await store.rotate({ key: next })).toEqual({ rows: 5 });
    const after = (await admin.query(`SELECT key, value FROM "${s}".secrets ORDER BY key`)).rows;
    for (let i = 0; i < 5; i++) expect(Buffer.compare(before[i].value, after[i].value)).not.toBe(0);
    expect(await store.get({ scope: "sc", key: "K3" })).toBe("value-3");
    const old = postgresSecrets({ connectionString: db.url, schema: s, key: KEY });
    const err = (await old.get({ scope: "sc", key: "K3" }).catch((e) => e)) as FleetError;
    expect(err.code).toBe("SECRET_STORE_UNAVAILABLE");
    expect(err.message).not.toContain("value-3");
    const fresh = postgresSecrets({ connectionString: db.url, schema: s, key: next });
    expect(await fresh.get({ scope: "sc", key: "K0" })).toBe("value-0");
    // a rotation that cannot decrypt a row changes nothing
    await admin.query(`UPDATE "${s}".secrets SET value = $1 WHERE key = 'K4'`, [before[4].value]);
    const failed = (await fresh.rotate({ passphrase: "another passphrase" }).catch((e) => e)) as FleetError;
    expect(failed.code).toBe("SECRET_STORE_UNAVAILABLE");
    expect(await fresh.get({ scope: "sc", key: "K1" })).toBe("value-1");
    for (const st of [store, old, fresh]) await st.close();
  });

  it("a ciphertext moved to another row does not decrypt there", async () => {
    const s = schemaName("move");
    const store = postgresSecrets({ connectionString: db.url, schema: s, key: KEY });
    await store.set({ scope: "instance_a", key: "TOKEN" }, "a-secret");
    await store.set({ scope: "instance_b", key: "TOKEN" }, "b-secret");
    await admin.query(
      `UPDATE "${s}".secrets SET value = (SELECT value FROM "${s}".secrets WHERE scope = 'instance_a') WHERE scope = 'instance_b'`,
    );
    const err = (await store.get({ scope: "instance_b", key: "TOKEN" }).catch((e) => e)) as FleetError;
    expect(err.code).toBe("SECRET_STORE_UNAVAILABLE");
    await store.close();
  });
});
