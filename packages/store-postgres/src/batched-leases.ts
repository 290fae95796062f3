import type { LeaseFence } from "@mcpfleet/core";
import type pg from "pg";
import { MAX_BATCH, MAX_IN_FLIGHT } from "./batched-documents.js";
import { Batcher, type Entry } from "./batcher.js";
import { isConnectionError } from "./errors.js";
import type { LeaseRow } from "./leases.js";

export interface AcquireItem {
  key: string;
  holder: string;
  ttlMs: number;
}

export interface RenewItem {
  holder: string;
  fences: LeaseFence[];
  ttlMs: number;
}

/**
 * Takes `key` for its holder: free, expired, or already the holder's (renewed, same token). The
 * token grows when the lease changes hands or is taken again after expiring. Every expiry is judged
 * by the database's `now()`.
 */
const acquireSql = (t: string, rows: string) => `INSERT INTO ${t} AS l (key, holder, token, expires_at)
  ${rows}
  ON CONFLICT (key) DO UPDATE SET
    holder = EXCLUDED.holder,
    token = CASE WHEN l.expires_at > now() THEN l.token ELSE l.token + 1 END,
    expires_at = EXCLUDED.expires_at
  WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
  RETURNING key, holder, token, expires_at`;

/**
 * Concurrent lease acquisitions as one `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE`:
 * each key is claimed on the same terms as alone (judged by the database's `now()`), one round trip
 * and one commit for the lot. A key is never twice in one batch (nor in two running at once), so
 * concurrent acquires of one key by several holders still have exactly one winner. When the
 * statement fails as a whole (a deadlock with another process), each acquire runs alone.
 */
export function batchedAcquires(pool: pg.Pool, t: string): Batcher<AcquireItem, LeaseRow | undefined> {
  const one = async ({ key, holder, ttlMs }: AcquireItem) => {
    const { rows } = await pool.query<LeaseRow>(
      acquireSql(t, `VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')`),
      [key, holder, ttlMs],
    );
    return rows[0];
  };
  const alone = (batch: Entry<AcquireItem, LeaseRow | undefined>[]) =>
    Promise.all(batch.map((e) => one(e.item).then(e.resolve, e.reject)));
  return new Batcher<AcquireItem, LeaseRow | undefined>(
    async (batch) => {
      if (batch.length === 1) return void (await alone(batch));
      const items = batch.map((e) => e.item);
      let rows: LeaseRow[];
      try {
        ({ rows } = await pool.query<LeaseRow>(
          acquireSql(
            t,
            `SELECT u.key, u.holder, 1, now() + u.ttl * interval '1 millisecond'
             FROM unnest($1::text[], $2::text[], $3::integer[]) AS u(key, holder, ttl) ORDER BY u.key`,
          ),
          [items.map((i) => i.key), items.map((i) => i.holder), items.map((i) => i.ttlMs)],
        ));
      } catch (err) {
        if (isConnectionError(err)) throw err;
        return void (await alone(batch));
      }
      const byKey = new Map(rows.map((r) => [r.key, r]));
      for (const e of batch) e.resolve(byKey.get(e.item.key));
    },
    { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT, keysOf: (i) => [i.key] },
  );
}

/**
 * Concurrent renewals (a worker confirming its lease before each deploy, its periodic renewal) as one
 * `UPDATE ... FROM unnest(...)`: each lease is extended only while its holder and token are current.
 */
export function batchedRenewals(pool: pg.Pool, t: string): Batcher<RenewItem, LeaseRow[]> {
  const sql = (from: string, holder: string, ttl: string, ord: string) =>
    `UPDATE ${t} AS l SET expires_at = now() + ${ttl} * interval '1 millisecond'
     FROM ${from}
     WHERE l.key = f.key AND l.token = f.token AND l.holder = ${holder}
     RETURNING ${ord} AS ord, l.key, l.holder, l.token, l.expires_at`;
  const one = async ({ holder, fences, ttlMs }: RenewItem) =>
    (
      await pool.query<LeaseRow>(sql("unnest($3::text[], $4::bigint[]) AS f(key, token)", "$1", "$2", "0"), [
        holder,
        ttlMs,
        fences.map((f) => f.key),
        fences.map((f) => String(f.token)),
      ])
    ).rows;
  const alone = (batch: Entry<RenewItem, LeaseRow[]>[]) =>
    Promise.all(batch.map((e) => one(e.item).then(e.resolve, e.reject)));
  return new Batcher<RenewItem, LeaseRow[]>(
    async (batch) => {
      if (batch.length === 1) return void (await alone(batch));
      const flat = batch.flatMap((e, ord) =>
        e.item.fences.map((f) => ({
          key: f.key,
          token: String(f.token),
          holder: e.item.holder,
          ttl: e.item.ttlMs,
          ord,
        })),
      );
      let rows: (LeaseRow & { ord: number })[];
      try {
        ({ rows } = await pool.query<LeaseRow & { ord: number }>(
          sql(
            "unnest($1::text[], $2::bigint[], $3::text[], $4::integer[], $5::integer[]) AS f(key, token, holder, ttl, ord)",
            "f.holder",
            "f.ttl",
            "f.ord",
          ),
          [
            flat.map((f) => f.key),
            flat.map((f) => f.token),
            flat.map((f) => f.holder),
            flat.map((f) => f.ttl),
            flat.map((f) => f.ord),
          ],
        ));
      } catch (err) {
        if (isConnectionError(err)) throw err;
        return void (await alone(batch)); // a deadlock with another process: each on its own
      }
      const out = batch.map((): LeaseRow[] => []);
      for (const { ord, ...r } of rows) out[ord]?.push(r);
      for (const [n, e] of batch.entries()) e.resolve(out[n]!);
    },
    { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT, keysOf: (i) => i.fences.map((f) => f.key) },
  );
}
