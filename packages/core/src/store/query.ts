import { FleetError } from "../errors.js";
import type { QueryFilter, QueryPage, RepositoryQuery, Revisioned } from "../plugins/store.js";

export const MAX_QUERY_LIMIT = 1000;

/** The keyset position after a document: an opaque base64url of `[name, id]`. */
export function encodeCursor(name: string, id: string): string {
  return Buffer.from(JSON.stringify([name, id]), "utf8").toString("base64url");
}

/** Decodes a cursor; a malformed one is `SPEC_INVALID` at path `cursor`. */
export function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "string") {
      return [v[0], v[1]];
    }
  } catch {
    // fall through
  }
  throw new FleetError("SPEC_INVALID", "cursor is not one this store issued", { path: "cursor", isRetryable: false });
}

/** Checks a query's shape (limit range, cursor form, filter types); throws `SPEC_INVALID` naming the field. */
export function checkQuery(q: RepositoryQuery): void {
  if (typeof q !== "object" || q === null) {
    throw new FleetError("SPEC_INVALID", "query must be an object", { path: "", isRetryable: false });
  }
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_QUERY_LIMIT) {
    throw new FleetError("SPEC_INVALID", `limit must be an integer from 1 to ${MAX_QUERY_LIMIT}`, {
      path: "limit",
      isRetryable: false,
    });
  }
  if (q.cursor !== undefined) decodeCursor(q.cursor);
  const f = q.filter ?? {};
  for (const k of ["status", "desiredState", "serverId", "namePrefix"] as const) {
    if (f[k] !== undefined && typeof f[k] !== "string") {
      throw new FleetError("SPEC_INVALID", `filter.${k} must be a string`, { path: `filter.${k}`, isRetryable: false });
    }
  }
  if (f.label !== undefined && (typeof f.label?.key !== "string" || f.label.key === "")) {
    throw new FleetError("SPEC_INVALID", "filter.label.key must be a non-empty string", {
      path: "filter.label.key",
      isRetryable: false,
    });
  }
}

type Doc = Revisioned & {
  name?: unknown;
  status?: unknown;
  desired_state?: unknown;
  server_spec_id?: unknown;
  json_spec?: { labels?: Record<string, unknown> };
};

export function matches(doc: Doc, f: QueryFilter): boolean {
  if (f.status !== undefined && doc.status !== f.status) return false;
  if (f.desiredState !== undefined && doc.desired_state !== f.desiredState) return false;
  if (f.serverId !== undefined && doc.server_spec_id !== f.serverId) return false;
  if (f.namePrefix !== undefined && !(typeof doc.name === "string" && doc.name.startsWith(f.namePrefix))) return false;
  if (f.label !== undefined) {
    const labels = doc.json_spec?.labels;
    if (!labels || typeof labels !== "object" || !Object.hasOwn(labels, f.label.key)) return false;
    if (f.label.value !== undefined && labels[f.label.key] !== f.label.value) return false;
  }
  return true;
}

const nameOf = (d: Doc) => (typeof d.name === "string" ? d.name : "");

/** Byte-wise comparison (the order PostgreSQL's `COLLATE "C"` gives). */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * `Repository.query` over documents held in memory: filter, order by (`name`, `id`), keyset page.
 * Costs a pass over every document (the memory and file stores hold them all anyway).
 */
export function queryDocuments<T extends Revisioned>(docs: Iterable<T>, q: RepositoryQuery): QueryPage<T> {
  checkQuery(q);
  const f = q.filter ?? {};
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  const all: T[] = [];
  let total = 0;
  for (const d of docs) {
    if (!matches(d as Doc, f)) continue;
    total++;
    if (after) {
      const c = cmp(nameOf(d as Doc), after[0]) || cmp(d.id, after[1]);
      if (c <= 0) continue;
    }
    all.push(d);
  }
  all.sort((a, b) => cmp(nameOf(a as Doc), nameOf(b as Doc)) || cmp(a.id, b.id));
  const items = all.slice(0, q.limit);
  const last = items[items.length - 1];
  return {
    items,
    ...(all.length > q.limit && last ? { nextCursor: encodeCursor(nameOf(last as Doc), last.id) } : {}),
    ...(q.count ? { total } : {}),
  };
}
