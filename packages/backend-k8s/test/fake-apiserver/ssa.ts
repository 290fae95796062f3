import { isDeepStrictEqual } from "node:util";
import { ApiError } from "./status.js";

/**
 * Server-side apply field ownership, kept simple but real: maps are merged per key, lists of
 * objects that all carry a `name` (containers, env, ports, volumes...) or a `uid` (ownerReferences)
 * are associative lists merged per item (`k:{"name":"x"}`), every other list is atomic. Each manager
 * owns a set of leaf paths; applying removes fields this manager owned before and no longer sends
 * (unless someone else also owns them), and fields owned by another manager with a different value
 * are conflicts unless `force` is set.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };
export type PathEl = string; // "f:key" | "k:{...}" | "."
export type FieldPath = PathEl[];

export interface ManagerEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fields: Map<string, FieldPath>;
}

const isObj = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

const SYSTEM_META = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
]);

function keyField(list: Json[]): string | undefined {
  if (list.length === 0) return undefined;
  for (const k of ["name", "uid"]) {
    if (list.every((i) => isObj(i) && typeof i[k] === "string")) return k;
  }
  return undefined;
}

/** Only user-settable content: no apiVersion/kind, no status, no system metadata. */
export function userContent(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === "apiVersion" || k === "kind" || k === "status") continue;
    if (k === "metadata" && isObj(v)) {
      const meta: JsonObject = {};
      for (const [mk, mv] of Object.entries(v)) if (!SYSTEM_META.has(mk)) meta[mk] = mv;
      if (Object.keys(meta).length > 0) out.metadata = meta;
      continue;
    }
    out[k] = v;
  }
  return out;
}

export function flatten(
  value: Json,
  prefix: FieldPath = [],
  out = new Map<string, FieldPath>(),
): Map<string, FieldPath> {
  if (isObj(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 && prefix.length > 0) out.set(JSON.stringify(prefix), prefix);
    for (const k of keys) flatten(value[k] as Json, [...prefix, `f:${k}`], out);
    return out;
  }
  if (Array.isArray(value)) {
    const kf = keyField(value);
    if (kf) {
      for (const item of value as JsonObject[]) {
        const itemPath = [...prefix, `k:${JSON.stringify({ [kf]: item[kf] })}`];
        const dot = [...itemPath, "."];
        out.set(JSON.stringify(dot), dot);
        for (const [k, v] of Object.entries(item)) flatten(v, [...itemPath, `f:${k}`], out);
      }
      return out;
    }
  }
  out.set(JSON.stringify(prefix), prefix);
  return out;
}

function findItem(list: Json[], el: string): number {
  const key = JSON.parse(el.slice(2)) as JsonObject;
  const [k, v] = Object.entries(key)[0] as [string, Json];
  return list.findIndex((i) => isObj(i) && i[k] === v);
}

export function getAt(root: Json, path: FieldPath): Json | undefined {
  let cur: Json | undefined = root;
  for (const el of path) {
    if (el === ".") return cur;
    if (el.startsWith("f:")) {
      if (!isObj(cur)) return undefined;
      cur = cur[el.slice(2)];
    } else {
      if (!Array.isArray(cur)) return undefined;
      const i = findItem(cur, el);
      cur = i < 0 ? undefined : cur[i];
    }
  }
  return cur;
}

function setAt(root: JsonObject, path: FieldPath, value: Json): void {
  let cur: Json = root;
  for (let i = 0; i < path.length; i++) {
    const el = path[i] as string;
    const last = i === path.length - 1;
    if (el === ".") return;
    if (el.startsWith("f:")) {
      const k = el.slice(2);
      const o = cur as JsonObject;
      if (last) {
        if (isObj(value) && Object.keys(value).length === 0 && isObj(o[k])) return;
        o[k] = structuredClone(value);
        return;
      }
      const nextIsItem = (path[i + 1] as string).startsWith("k:");
      if (nextIsItem ? !Array.isArray(o[k]) : !isObj(o[k])) o[k] = nextIsItem ? [] : {};
      cur = o[k] as Json;
    } else {
      const list = cur as Json[];
      let idx = findItem(list, el);
      if (idx < 0) {
        list.push(JSON.parse(el.slice(2)) as JsonObject);
        idx = list.length - 1;
      }
      cur = list[idx] as Json;
    }
  }
}

function deleteAt(root: JsonObject, path: FieldPath): void {
  const parentPath = path[path.length - 1] === "." ? path.slice(0, -2) : path.slice(0, -1);
  const last = path[path.length - 1] === "." ? (path[path.length - 2] as string) : (path[path.length - 1] as string);
  const parent = parentPath.length === 0 ? root : getAt(root, parentPath);
  if (last.startsWith("f:") && isObj(parent)) delete parent[last.slice(2)];
  else if (last.startsWith("k:")) {
    const list = isObj(parent) ? undefined : parent;
    const holder = Array.isArray(list) ? list : undefined;
    if (holder) {
      const i = findItem(holder, last);
      if (i >= 0) holder.splice(i, 1);
    }
  }
}

export interface ApplyResult {
  object: JsonObject;
  managers: ManagerEntry[];
}

export interface ConflictInfo {
  manager: string;
  apiVersion: string;
  field: string;
}

/** `.spec.template.spec.containers[name="mcp"].image` */
export function renderPath(path: FieldPath): string {
  let s = "";
  for (const el of path) {
    if (el === ".") continue;
    if (el.startsWith("f:")) s += `.${el.slice(2)}`;
    else {
      const key = JSON.parse(el.slice(2)) as JsonObject;
      s += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    }
  }
  return s;
}

/** Applies `applied` as `manager` on top of `live` (undefined = create). */
export function serverSideApply(
  live: JsonObject | undefined,
  liveManagers: ManagerEntry[],
  applied: JsonObject,
  manager: string,
  apiVersion: string,
  force: boolean,
): ApplyResult {
  const appliedFields = flatten(userContent(applied));
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const managers = liveManagers.map((m) => ({ ...m, fields: new Map(m.fields) }));
  const merged: JsonObject = live
    ? structuredClone(live)
    : { apiVersion: applied.apiVersion as Json, kind: applied.kind as Json, metadata: {} };
  const conflicts: ConflictInfo[] = [];
  if (live) {
    for (const [key, path] of appliedFields) {
      if (path[path.length - 1] === ".") continue;
      for (const m of managers) {
        if (m.manager === manager || !m.fields.has(key)) continue;
        if (!isDeepStrictEqual(getAt(live, path), getAt(applied, path))) {
          conflicts.push({ manager: m.manager, apiVersion: m.apiVersion, field: renderPath(path) });
          if (force) m.fields.delete(key);
        }
      }
    }
  }
  if (conflicts.length > 0 && !force) {
    const kind = String(applied.kind);
    const name = String((applied.metadata as JsonObject | undefined)?.name ?? "");
    const lines = conflicts.map((c) => `- conflict with "${c.manager}" using ${c.apiVersion}: ${c.field}`);
    const msg =
      conflicts.length === 1
        ? `Apply failed with 1 conflict: conflict with "${conflicts[0]!.manager}" using ${conflicts[0]!.apiVersion}: ${conflicts[0]!.field}`
        : `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
    throw new ApiError(409, "Conflict", msg, {
      name,
      kind,
      causes: conflicts.map((c) => ({
        reason: "FieldManagerConflict",
        message: `conflict with "${c.manager}" using ${c.apiVersion}`,
        field: c.field,
      })),
    });
  }
  const mine = managers.find((m) => m.manager === manager && m.operation === "Apply");
  if (mine) {
    const removed = [...mine.fields].filter(([k]) => !appliedFields.has(k));
    // Deepest first so list items go after their fields.
    removed.sort((a, b) => b[1].length - a[1].length);
    for (const [k, path] of removed) {
      if (managers.some((m) => m !== mine && m.fields.has(k))) continue;
      deleteAt(merged, path);
    }
  }
  const sorted = [...appliedFields.values()].sort((a, b) => a.length - b.length);
  for (const path of sorted) {
    if (path[path.length - 1] === ".") {
      setAt(merged, path, null); // creates the list item (with its key) when missing
      continue;
    }
    setAt(merged, path, getAt(applied, path) as Json);
  }
  const others = managers.filter((m) => m.fields.size > 0 && !(m.manager === manager && m.operation === "Apply"));
  const entry: ManagerEntry = { manager, operation: "Apply", apiVersion, time: now, fields: appliedFields };
  const prev = managers.find((m) => m.manager === manager && m.operation === "Apply");
  if (prev && sameFields(prev.fields, appliedFields)) entry.time = prev.time;
  return { object: merged, managers: [...others, entry] };
}

/** Ownership after a non-apply write (controllers, `kubectl edit`): changed fields move to `manager`. */
export function recordUpdate(
  before: JsonObject,
  after: JsonObject,
  liveManagers: ManagerEntry[],
  manager: string,
  apiVersion: string,
): ManagerEntry[] {
  const b = flatten(userContent(before));
  const a = flatten(userContent(after));
  const changed = new Map<string, FieldPath>();
  for (const [k, p] of a) {
    const isItem = p[p.length - 1] === ".";
    if (!b.has(k) || (!isItem && !isDeepStrictEqual(getAt(before, p), getAt(after, p)))) changed.set(k, p);
  }
  const managers = liveManagers.map((m) => ({ ...m, fields: new Map(m.fields) }));
  for (const m of managers) {
    for (const k of [...m.fields.keys()])
      if (!a.has(k) || (changed.has(k) && m.manager !== manager)) m.fields.delete(k);
  }
  if (changed.size > 0) {
    let mine = managers.find((m) => m.manager === manager && m.operation === "Update");
    if (!mine) {
      mine = { manager, operation: "Update", apiVersion, time: "", fields: new Map() };
      managers.push(mine);
    }
    for (const [k, p] of changed) mine.fields.set(k, p);
    mine.time = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  }
  return managers.filter((m) => m.fields.size > 0);
}

function sameFields(a: Map<string, FieldPath>, b: Map<string, FieldPath>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}

/** `metadata.managedFields` in the FieldsV1 format. */
export function renderManagedFields(managers: ManagerEntry[]): JsonObject[] {
  return managers.map((m) => {
    const tree: JsonObject = {};
    for (const path of m.fields.values()) {
      let cur = tree;
      for (const el of path) {
        if (!isObj(cur[el])) cur[el] = {};
        cur = cur[el] as JsonObject;
      }
    }
    return {
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsType: "FieldsV1",
      fieldsV1: tree,
    };
  });
}
