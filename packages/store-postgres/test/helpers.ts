import { randomBytes } from "node:crypto";
import { checkService } from "@mcpfleet/core/testing";
import pg from "pg";

/** The machine's PostgreSQL (trust auth); override with PG_TEST_URL. */
export const ADMIN_URL = process.env.PG_TEST_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const postgresService = () =>
  checkService("postgresql", async () => {
    const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
    await c.connect();
    try {
      await c.query("SELECT 1");
      return true;
    } finally {
      await c.end();
    }
  });

/** A throwaway database for one test file; `drop()` removes it (terminating its connections). */
export async function throwawayDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `mcpfleet_test_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export const schemaName = (tag: string) => `t_${tag}_${randomBytes(3).toString("hex")}`;

/**
 * A test's own pool. It listens for 'error': a connection still closing when the test drops its
 * database (`WITH (FORCE)`, 57P01) makes the pool emit 'error', an uncaught exception without a
 * listener (vitest reported it from the host's postgres suite when files ran side by side).
 */
export function testPool(url: string, max = 2): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on("error", () => {});
  return pool;
}

/** A small pool for assertions on raw rows (other packages' tests use it without depending on pg). */
export function adminPool(url: string): {
  query(text: string, params?: unknown[]): Promise<{ rows: any[] }>;
  end(): Promise<void>;
} {
  return testPool(url);
}
