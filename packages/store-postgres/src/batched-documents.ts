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
  kind: "update";
  id: string;
  expected: number;
  columns: [string, string | null, string | null, string | null];
  json: string;
  fence: LeaseFence | undefined;
}

/** One create: the document (JSON text, stored with revision 1) and its indexed columns. */
export interface InsertItem {
  kind: "insert";
  id: string;
  columns: UpdateItem["columns"];
  json: string;
}

export type WriteItem = UpdateItem | InsertItem;

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
 * Concurrent `create`s and `update`s of one table as one statement (`INSERT ... SELECT FROM unnest`
 * and `UPDATE ... FROM unnest` as data-modifying CTEs): one round trip and one commit for the lot.
 * That matters most for the change feed: every commit that sends a NOTIFY is serialised by
 * PostgreSQL (with its WAL flush), so N writes in one commit cost one such turn instead of N. Each
 * update keeps its own revision check and lease fence in the statement; an id is never twice in one
 * batch (or in two running at once). An update the batch did not apply (stale revision, fence taken,
 * absent) goes through `updateOne`, which re-checks it and throws the exact error; when the
 * statement fails as a whole (an id or live name taken by one of them, a deadlock with another
 * process), every write runs alone, so only the guilty one fails. A lost connection fails them all
 * (whether the commit happened is unknown, as for a single write).
 */
export function batchedWrites(
  pool: pg.Pool,
  schema: string,
  t: string,
  updateOne: (item: UpdateItem) => Promise<number>,
  insertOne: (item: InsertItem) => Promise<number>,
): Batcher<WriteItem, number> {
  const alone = (batch: Entry<WriteItem, number>[]) =>
    Promise.all(
      batch.map((e) =>
        (e.item.kind === "insert" ? insertOne(e.item) : updateOne(e.item)).then(
          (r) => e.resolve(r),
          (err) => e.reject(err),
        ),
      ),
    );
  return new Batcher<WriteItem, number>(
    async (batch) => {
      if (batch.length === 1) return void (await alone(batch));
      // ids in order: concurrent batches (other processes') lock rows in one order
      const sorted = [...batch].sort((a, b) => (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0));
      const inserts = sorted.filter((e) => e.item.kind === "insert") as Entry<InsertItem, number>[];
      const updates = sorted.filter((e) => e.item.kind === "update") as Entry<UpdateItem, number>[];
      const params: unknown[] = [];
      const p = (v: unknown) => {
        params.push(v);
        return `$${params.length}`;
      };
      const ins = <V>(f: (i: InsertItem) => V) => p(inserts.map((e) => f(e.item)));
      const upd = <V>(f: (i: UpdateItem) => V) => p(updates.map((e) => f(e.item)));
      const parts: string[] = [];
      const ctes: string[] = [];
      if (inserts.length > 0) {
        ctes.push(`ins AS (
          INSERT INTO ${t} (id, name, status, desired_state, server_id, revision, doc)
          SELECT i.id, i.name, i.status, i.desired_state, i.server_id, 1, i.doc::jsonb
          FROM unnest(${ins((i) => i.id)}::text[], ${ins((i) => i.columns[0])}::text[], ${ins((i) => i.columns[1])}::text[],
                      ${ins((i) => i.columns[2])}::text[], ${ins((i) => i.columns[3])}::text[], ${ins((i) => i.json)}::text[])
            AS i(id, name, status, desired_state, server_id, doc)
          ORDER BY i.id
          RETURNING id)`);
        parts.push("SELECT 'i' AS op, NULL::integer AS ord, 1 AS revision, id FROM ins");
      }
      if (updates.length > 0) {
        ctes.push(`upd AS (
          UPDATE ${t} AS d SET name = u.name, status = u.status, desired_state = u.desired_state,
            server_id = u.server_id, doc = u.doc::jsonb, revision = d.revision + 1, updated_at = now()
          FROM unnest(${upd((i) => i.id)}::text[], ${upd((i) => i.expected)}::integer[], ${upd((i) => i.columns[0])}::text[],
                      ${upd((i) => i.columns[1])}::text[], ${upd((i) => i.columns[2])}::text[], ${upd((i) => i.columns[3])}::text[],
                      ${upd((i) => i.json)}::text[], ${upd((i) => i.fence?.key ?? null)}::text[],
                      ${upd((i) => (i.fence ? String(i.fence.token) : null))}::bigint[], ${p(updates.map((_, n) => n))}::integer[])
            AS u(id, expected, name, status, desired_state, server_id, doc, fence_key, fence_token, ord)
          WHERE d.id = u.id AND d.revision = u.expected
            AND (u.fence_key IS NULL OR ${fenceCondition(schema, "u.fence_key", "u.fence_token")})
          RETURNING u.ord, d.revision)`);
        parts.push("SELECT 'u' AS op, ord, revision, NULL::text AS id FROM upd");
      }
      let rows: { op: "i" | "u"; ord: number | null; revision: number; id: string | null }[];
      try {
        ({ rows } = await pool.query(`WITH ${ctes.join(", ")} ${parts.join(" UNION ALL ")}`, params));
      } catch (err) {
        if (isConnectionError(err)) throw err;
        return void (await alone(batch));
      }
      const inserted = new Set(rows.filter((r) => r.op === "i").map((r) => r.id));
      const updated = new Map(rows.filter((r) => r.op === "u").map((r) => [r.ord, r.revision]));
      const rest: Entry<WriteItem, number>[] = [];
      for (const e of inserts) {
        if (inserted.has(e.item.id)) e.resolve(1);
        else rest.push(e);
      }
      updates.forEach((e, n) => {
        const revision = updated.get(n);
        if (revision === undefined) rest.push(e);
        else e.resolve(revision);
      });
      if (rest.length > 0) await alone(rest);
    },
    { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT, keysOf: (i) => [i.id] },
  );
}
