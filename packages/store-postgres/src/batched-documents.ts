import type { LeaseFence } from "@mcpfleet/core";
import type pg from "pg";
import { Batcher, type Entry } from "./batcher.js";
import { isConnectionError } from "./errors.js";
import { fenceCondition } from "./leases.js";

/** Most documents one batched statement reads or writes. */
export const MAX_BATCH = 256;
/** Batched statements of one kind running at once (per repository). */
export const MAX_IN_FLIGHT = 1;

export interface DocRow {
  id?: string;
  doc: Record<string, unknown>;
  revision: number;
}

/** One update: the new document (JSON text) and its indexed columns, the revision it expects, the fence it carries. */
export interface UpdateItem {
  id: string;
  expected: number;
  columns: [string, string | null, string | null, string | null];
  json: string;
  fence: LeaseFence | undefined;
}

/**
 * Concurrent `get`s of one table as one `WHERE id = ANY($1)` (a single call keeps its own
 * statement). Each call sees the row as of a moment after it was made.
 */
export function batchedGets(pool: pg.Pool, t: string): Batcher<string, DocRow | undefined> {
  return new Batcher<string, DocRow | undefined>(
    async (batch) => {
      if (batch.length === 1) {
        const e = batch[0]!;
        const { rows } = await pool.query<DocRow>(`SELECT doc, revision FROM ${t} WHERE id = $1`, [e.item]);
        e.resolve(rows[0]);
        return;
      }
      const ids = [...new Set(batch.map((e) => e.item))];
      const { rows } = await pool.query<DocRow>(`SELECT id, doc, revision FROM ${t} WHERE id = ANY($1::text[])`, [ids]);
      const byId = new Map(rows.map((r) => [r.id!, { doc: r.doc, revision: r.revision }]));
      for (const e of batch) e.resolve(byId.get(e.item));
    },
    { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT },
  );
}

/**
 * Concurrent `update`s of one table as one `UPDATE ... FROM unnest(...)`: one round trip and one
 * commit (one NOTIFY flush) for the lot. Each row keeps its own revision check and lease fence in
 * the statement; an id is never twice in one batch (or in two running at once). A row the batch did
 * not update (stale revision, fence taken, absent) goes through `single`, which re-checks it and
 * throws the exact error; when the statement fails as a whole (a name taken by one of them, a
 * deadlock with another process), every update runs alone, so only the guilty one fails. A lost
 * connection fails them all (whether the commit happened is unknown, as for a single write).
 */
export function batchedUpdates(
  pool: pg.Pool,
  schema: string,
  t: string,
  single: (item: UpdateItem) => Promise<number>,
): Batcher<UpdateItem, number> {
  const alone = (batch: Entry<UpdateItem, number>[]) =>
    Promise.all(
      batch.map((e) =>
        single(e.item).then(
          (r) => e.resolve(r),
          (err) => e.reject(err),
        ),
      ),
    );
  return new Batcher<UpdateItem, number>(
    async (batch) => {
      if (batch.length === 1) return void (await alone(batch));
      // ids in order: concurrent batches (other processes') lock rows in one order
      const sorted = [...batch].sort((a, b) => (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0));
      const col = <V>(f: (i: UpdateItem) => V) => sorted.map((e) => f(e.item));
      let rows: { ord: number; revision: number }[];
      try {
        ({ rows } = await pool.query<{ ord: number; revision: number }>(
          `UPDATE ${t} AS d SET name = u.name, status = u.status, desired_state = u.desired_state,
             server_id = u.server_id, doc = u.doc::jsonb, revision = d.revision + 1, updated_at = now()
           FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::bigint[], $10::integer[])
             AS u(id, expected, name, status, desired_state, server_id, doc, fence_key, fence_token, ord)
           WHERE d.id = u.id AND d.revision = u.expected
             AND (u.fence_key IS NULL OR ${fenceCondition(schema, "u.fence_key", "u.fence_token")})
           RETURNING u.ord, d.revision`,
          [
            col((i) => i.id),
            col((i) => i.expected),
            col((i) => i.columns[0]),
            col((i) => i.columns[1]),
            col((i) => i.columns[2]),
            col((i) => i.columns[3]),
            col((i) => i.json),
            col((i) => i.fence?.key ?? null),
            col((i) => (i.fence ? String(i.fence.token) : null)),
            sorted.map((_, n) => n),
          ],
        ));
      } catch (err) {
        if (isConnectionError(err)) throw err;
        return void (await alone(batch));
      }
      const done = new Map(rows.map((r) => [r.ord, r.revision]));
      const rest: Entry<UpdateItem, number>[] = [];
      sorted.forEach((e, n) => {
        const revision = done.get(n);
        if (revision === undefined) rest.push(e);
        else e.resolve(revision);
      });
      if (rest.length > 0) await alone(rest);
    },
    { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT, keysOf: (i) => [i.id] },
  );
}
