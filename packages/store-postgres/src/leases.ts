import { type CallOptions, FleetError, type Lease, type LeaseFence, type LeaseStore } from "@mcpfleet/core";
import type pg from "pg";
import { batchedAcquires, batchedRenewals } from "./batched-leases.js";
import type { RepositoryContext } from "./sql-repository.js";

export interface LeaseRow {
  key: string;
  holder: string;
  token: string;
  expires_at: Date;
  live?: boolean;
}

const toLease = (r: LeaseRow): Lease => ({
  key: r.key,
  holder: r.holder,
  token: Number(r.token),
  expiresAt: r.expires_at.toISOString(),
});

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > 24 * 3600_000) {
    throw new FleetError("OPTIONS_INVALID", `lease ttl must be an integer of ms in 1..86400000, got ${ttlMs}`, {
      path: "ttlMs",
      isRetryable: false,
    });
  }
}

/**
 * The SQL condition a fenced write adds: the key's current token is the one carried. `FOR SHARE`
 * locks the lease row until the write commits, so a takeover waits for it (and a write that
 * starts after a takeover sees the new token and is refused).
 */
export function fenceCondition(schema: string, keyParam: string, tokenParam: string): string {
  return `EXISTS (SELECT 1 FROM "${schema}"."leases" WHERE key = ${keyParam} AND token = ${tokenParam} FOR SHARE)`;
}

/** The current token of a key (for the message of a refused write). */
export async function currentToken(pool: pg.Pool, schema: string, key: string): Promise<number | undefined> {
  const { rows } = await pool.query<{ token: string }>(`SELECT token FROM "${schema}"."leases" WHERE key = $1`, [key]);
  return rows[0] ? Number(rows[0].token) : undefined;
}

export function fencedError(fence: LeaseFence, current: number | undefined): FleetError {
  return new FleetError(
    "FENCED",
    `lease on ${fence.key} was taken over (token ${fence.token}, current ${current ?? "none"}): write refused`,
    { path: "fence", isRetryable: false, details: { key: fence.key, token: fence.token, current: current ?? null } },
  );
}

/**
 * Leases in one table, every expiry judged by the database's `now()` (one clock for every worker).
 * The token grows when the lease changes hands or is taken again after expiring.
 */
export function postgresLeases(ctx: RepositoryContext, run: RunFn): LeaseStore {
  const t = `"${ctx.schema}"."leases"`;
  const acquires = batchedAcquires(ctx.pool, t);
  const renewals = batchedRenewals(ctx.pool, t);
  return {
    acquire: async (key, holder, ttlMs, o) => {
      checkTtl(ttlMs);
      return run("acquire lease", o, async () => {
        const row = await acquires.run({ key, holder, ttlMs });
        return row ? toLease(row) : undefined;
      });
    },
    renew: async (holder, fences, ttlMs, o) => {
      checkTtl(ttlMs);
      if (fences.length === 0) return [];
      return run("renew leases", o, async () => (await renewals.run({ holder, fences, ttlMs })).map(toLease));
    },
    release: (holder, fence, o) =>
      run("release lease", o, async () => {
        const { rowCount } = await ctx.pool.query(
          `UPDATE ${t} SET expires_at = least(expires_at, now()) WHERE key = $1 AND holder = $2 AND token = $3`,
          [fence.key, holder, String(fence.token)],
        );
        return (rowCount ?? 0) > 0;
      }),
    list: (o) =>
      run("list leases", o, async () => {
        const { rows } = await ctx.pool.query<LeaseRow>(
          `SELECT key, holder, token, expires_at, expires_at > now() AS live FROM ${t} ORDER BY key`,
        );
        return rows.map((r) => ({ ...toLease(r), live: r.live === true }));
      }),
  };
}

export type RunFn = <R>(what: string, o: CallOptions | undefined, fn: () => Promise<R>) => Promise<R>;
