import {
  type CallOptions,
  FleetError,
  type QueryPage,
  type Repository,
  type RepositoryQuery,
  type Revisioned,
} from "@mcpfleet/core";
import { checkQuery, decodeCursor, deepFreeze, encodeCursor, ownDocument } from "@mcpfleet/core/adapter";
import type pg from "pg";
import { batchedGets, batchedWrites, type InsertItem, type UpdateItem } from "./batched-documents.js";
import type { ChangeFeed } from "./change-feed.js";
import { translate, withSignal } from "./errors.js";
import { currentToken, fenceCondition, fencedError } from "./leases.js";

interface Row {
  doc: Record<string, unknown>;
  revision: number;
}

export interface RepositoryContext {
  pool: pg.Pool;
  schema: string;
  adapter: string;
  /** Resolves once migrations ran (rejects forever when they failed). */
  ready(): Promise<void>;
  assertOpen(): void;
  feed: ChangeFeed;
}

/** Indexed columns derived from a document. */
function columns(doc: Record<string, unknown>): UpdateItem["columns"] {
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return [str(doc.name) ?? "", str(doc.status), str(doc.desired_state), str(doc.server_spec_id)];
}

/** LIKE pattern for a literal prefix. */
const likePrefix = (p: string) => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * One collection in one table: the document as jsonb (without `revision`, which is a column),
 * optimistic concurrency by `UPDATE ... WHERE id = $1 AND revision = $2`.
 */
/** Runs one store call: open check, abort signal, migrations first, driver errors translated. */
export function runner(ctx: RepositoryContext, kind: string) {
  return async <R>(what: string, o: CallOptions | undefined, fn: () => Promise<R>): Promise<R> => {
    ctx.assertOpen();
    return withSignal(o?.signal, async () => {
      await ctx.ready();
      try {
        return await fn();
      } catch (err) {
        throw translate(err, ctx.adapter, `${what}${kind ? ` ${kind}` : ""}`);
      }
    });
  };
}

/**
 * One collection in one table. With `leased`, deleting a document also drops the lease of its id.
 * Writes carrying a `fence` succeed only while the fence's token is current (checked in the
 * same statement).
 */
export function sqlRepository<T extends Revisioned>(
  ctx: RepositoryContext,
  table: string,
  kind: string,
  leased = false,
): Repository<T> {
  const t = `"${ctx.schema}"."${table}"`;
  const fromRow = (r: Row): T => deepFreeze({ ...r.doc, revision: r.revision } as unknown as T);
  const run = runner(ctx, kind);

  /** Validated, detached JSON text of a document (without revision); SPEC_INVALID when JSON cannot hold it. */
  const serialise = (doc: object): { owned: Record<string, unknown>; json: string } => {
    const { revision: _r, ...rest } = doc as Record<string, unknown>;
    const owned = ownDocument(rest);
    try {
      return { owned, json: JSON.stringify(owned) };
    } catch (err) {
      throw new FleetError("SPEC_INVALID", `${kind} cannot be stored: ${(err as Error).message}`, {
        isRetryable: false,
        cause: err,
      });
    }
  };

  const where = (q: RepositoryQuery, params: unknown[]): string[] => {
    const f = q.filter ?? {};
    const w: string[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (f.status !== undefined) w.push(`status = ${p(f.status)}`);
    if (f.desiredState !== undefined) w.push(`desired_state = ${p(f.desiredState)}`);
    if (f.serverId !== undefined) w.push(`server_id = ${p(f.serverId)}`);
    if (f.namePrefix !== undefined) w.push(`name LIKE ${p(likePrefix(f.namePrefix))}`);
    if (f.label !== undefined) {
      w.push(`(doc -> 'json_spec' -> 'labels') ? ${p(f.label.key)}`);
      if (f.label.value !== undefined) {
        w.push(`(doc -> 'json_spec' -> 'labels' ->> ${p(f.label.key)}) = ${p(f.label.value)}`);
      }
    }
    return w;
  };

  /** One update in its own statement; throws the exact error (FENCED, NOT_FOUND, CONFLICT) when refused. */
  const updateOne = async ({ id, expected, columns: cols, json, fence }: UpdateItem): Promise<number> => {
    const [name, status, desired, server] = cols;
    const { rows } = await ctx.pool.query<{ revision: number }>(
      `UPDATE ${t} SET name = $3, status = $4, desired_state = $5, server_id = $6, doc = $7::jsonb,
         revision = revision + 1, updated_at = now()
       WHERE id = $1 AND revision = $2${fence ? ` AND ${fenceCondition(ctx.schema, "$8", "$9")}` : ""}
       RETURNING revision`,
      [id, expected, name, status, desired, server, json, ...(fence ? [fence.key, String(fence.token)] : [])],
    );
    if (rows[0]) return rows[0].revision;
    if (fence) {
      const current = await currentToken(ctx.pool, ctx.schema, fence.key);
      if (current !== fence.token) throw fencedError(fence, current);
    }
    const cur = await ctx.pool.query<{ revision: number }>(`SELECT revision FROM ${t} WHERE id = $1`, [id]);
    const actual = cur.rows[0]?.revision;
    if (actual === undefined) {
      throw new FleetError("NOT_FOUND", `${kind} ${id} not found`, { path: "id", isRetryable: false });
    }
    throw new FleetError(
      "CONFLICT",
      `${kind} ${id} was changed concurrently (revision ${expected}, stored ${actual})`,
      {
        path: "revision",
        details: { expected, actual },
      },
    );
  };
  const insertOne = async ({ id, columns: [name, status, desired, server], json }: InsertItem): Promise<number> => {
    await ctx.pool.query(
      `INSERT INTO ${t} (id, name, status, desired_state, server_id, revision, doc)
       VALUES ($1, $2, $3, $4, $5, 1, $6::jsonb)`,
      [id, name, status, desired, server, json],
    );
    return 1;
  };
  const gets = batchedGets(ctx.pool, t);
  const writes = batchedWrites(ctx.pool, ctx.schema, t, updateOne, insertOne);

  return {
    get: (id, o) =>
      run("get", o, async () => {
        const row = await gets.run(id);
        return row ? fromRow(row) : undefined;
      }),

    list: (o) =>
      run("list", o, async () => {
        const { rows } = await ctx.pool.query<Row>(`SELECT doc, revision FROM ${t} ORDER BY name, id`);
        return rows.map(fromRow);
      }),

    findByName: (name, o) =>
      run("find", o, async () => {
        const { rows } = await ctx.pool.query<Row>(`SELECT doc, revision FROM ${t} WHERE name = $1 ORDER BY id`, [
          name,
        ]);
        return rows.map(fromRow);
      }),

    async create(doc, o) {
      if (typeof doc?.id !== "string" || doc.id === "") {
        throw new FleetError("SPEC_INVALID", `${kind} id must be a non-empty string`, { path: "id" });
      }
      const { owned, json } = serialise(doc);
      return run("create", o, async () => {
        return ctx.feed.write(table, "p", doc.id, 1, async () => {
          await writes.run({ kind: "insert", id: doc.id, columns: columns(owned), json });
          const stored = deepFreeze({ ...(JSON.parse(json) as object), revision: 1 } as unknown as T);
          return { result: stored, change: { type: "put", id: stored.id, doc: stored } };
        });
      }).catch((err: FleetError) => {
        if (err.code === "ALREADY_EXISTS" && err.path === "id") {
          throw new FleetError("ALREADY_EXISTS", `${kind} ${doc.id} already exists`, {
            path: "id",
            isRetryable: false,
          });
        }
        throw err;
      });
    },

    async update(doc, o) {
      const { owned, json } = serialise(doc);
      return run("update", o, () =>
        ctx.feed.write(table, "p", doc.id, doc.revision + 1, async () => {
          const revision = await writes.run({
            kind: "update",
            id: doc.id,
            expected: doc.revision,
            columns: columns(owned),
            json,
            fence: o?.fence,
          });
          const stored = deepFreeze({ ...(JSON.parse(json) as object), revision } as unknown as T);
          return { result: stored, change: { type: "put", id: stored.id, doc: stored } };
        }),
      );
    },

    delete: (id, o) =>
      run("delete", o, () =>
        ctx.feed.write(table, "d", id, undefined, async () => {
          const expected = o?.expectedRevision ?? null;
          const fence = o?.fence;
          const { rows } = await ctx.pool.query<{ revision: number }>(
            `DELETE FROM ${t} WHERE id = $1 AND ($2::integer IS NULL OR revision = $2)${
              fence ? ` AND ${fenceCondition(ctx.schema, "$3", "$4")}` : ""
            } RETURNING revision`,
            [id, expected, ...(fence ? [fence.key, String(fence.token)] : [])],
          );
          if (rows.length > 0 && leased) {
            await ctx.pool.query(`DELETE FROM "${ctx.schema}"."leases" WHERE key = $1`, [id]);
          }
          if (rows.length === 0) {
            if (fence) {
              const current = await currentToken(ctx.pool, ctx.schema, fence.key);
              if (current !== fence.token) throw fencedError(fence, current);
            }
            if (expected === null) return { result: false };
            const cur = await ctx.pool.query<{ revision: number }>(`SELECT revision FROM ${t} WHERE id = $1`, [id]);
            const actual = cur.rows[0]?.revision;
            if (actual === undefined) return { result: false };
            throw new FleetError("CONFLICT", `${kind} ${id} was changed concurrently`, {
              path: "revision",
              details: { expected, actual },
            });
          }
          return { result: true, change: { type: "delete", id } };
        }),
      ),

    async query(q, o) {
      checkQuery(q);
      return run("query", o, async () => {
        const params: unknown[] = [];
        const w = where(q, params);
        const countParams = [...params];
        const countWhere = [...w];
        if (q.cursor !== undefined) {
          const [name, id] = decodeCursor(q.cursor);
          params.push(name, id);
          w.push(`(name, id) > ($${params.length - 1}, $${params.length})`);
        }
        params.push(q.limit + 1);
        const sql = `SELECT doc, revision FROM ${t} ${w.length ? `WHERE ${w.join(" AND ")}` : ""}
          ORDER BY name, id LIMIT $${params.length}`;
        const [{ rows }, total] = await Promise.all([
          ctx.pool.query<Row>(sql, params),
          q.count
            ? ctx.pool
                .query<{ n: number }>(
                  `SELECT count(*)::int AS n FROM ${t} ${countWhere.length ? `WHERE ${countWhere.join(" AND ")}` : ""}`,
                  countParams,
                )
                .then((r) => r.rows[0]?.n ?? 0)
            : Promise.resolve(undefined),
        ]);
        const items = rows.slice(0, q.limit).map(fromRow);
        const last = items[items.length - 1] as (T & { name?: unknown }) | undefined;
        const page: QueryPage<T> = { items };
        if (rows.length > q.limit && last) {
          page.nextCursor = encodeCursor(typeof last.name === "string" ? last.name : "", last.id);
        }
        if (total !== undefined) page.total = total;
        return page;
      });
    },

    watch: (listener) => ctx.feed.subscribe(table, listener as never),
  };
}
