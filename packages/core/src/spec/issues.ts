import type { z } from "zod";
import type { FleetIssue } from "../errors.js";
import { RESERVED_KEYS } from "./wire-schemas.js";

/** Joins a path with dots (`environment.API_KEY`, `command.1`). */
export function joinPath(prefix: string, parts: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of parts) {
    const s = typeof p === "symbol" ? p.toString() : String(p);
    out = out ? `${out}.${s}` : s;
  }
  return out;
}

/** zod issues as FleetIssues (paths joined with dots, record-key issues with their own message). */
export function zodIssues(issues: readonly z.core.$ZodIssue[], prefix = ""): FleetIssue[] {
  const out = collect(issues, prefix);
  // One message per path (the first: e.g. "must be an integer" before "too big").
  const seen = new Set<string>();
  return out.filter((i) => {
    if (seen.has(i.path)) return false;
    seen.add(i.path);
    return true;
  });
}

function collect(issues: readonly z.core.$ZodIssue[], prefix: string): FleetIssue[] {
  const out: FleetIssue[] = [];
  for (const issue of issues) {
    const path = joinPath(prefix, issue.path);
    if (issue.code === "invalid_key" && issue.issues.length > 0) {
      for (const inner of issue.issues) out.push({ path, message: `key ${inner.message}` });
    } else if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Report the branch that got furthest (the one with the deepest issue path), else the union's message.
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0] ?? [];
      if (best.length > 0 && depth(best) > 0) out.push(...collect(best, path));
      else
        out.push({ path, message: issue.message === "Invalid input" ? "has the wrong type or shape" : issue.message });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

/**
 * Own keys `__proto__`, `constructor` and `prototype` anywhere in a document (JSON.parse creates
 * them as own properties). They are refused rather than silently dropped.
 */
export function reservedKeyIssues(value: unknown, prefix = "", out: FleetIssue[] = [], level = 0): FleetIssue[] {
  if (level > 16 || typeof value !== "object" || value === null) return out;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && i < 4096; i++)
      reservedKeyIssues(value[i], prefix ? `${prefix}.${i}` : String(i), out, level + 1);
    return out;
  }
  for (const key of Object.keys(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (RESERVED_KEYS.has(key)) out.push({ path, message: "reserved key is not allowed" });
    else reservedKeyIssues((value as Record<string, unknown>)[key], path, out, level + 1);
  }
  return out;
}

/**
 * One walk over a document: reserved keys (as `reservedKeyIssues`) and whether it is pure JSON
 * data (plain objects, arrays, strings, finite numbers, booleans, null; depth <= 16), i.e. whether
 * `JSON.stringify` represents it exactly.
 */
export function inspectDocument(value: unknown): { reserved: FleetIssue[]; pure: boolean } {
  const reserved: FleetIssue[] = [];
  const stack: string[] = [];
  let pure = true;
  const walk = (v: unknown, level: number): void => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(v)) pure = false;
        return;
      case "object":
        break;
      default:
        pure = false;
        return;
    }
    if (v === null) return;
    if (level > 16) {
      pure = false;
      return;
    }
    if (Array.isArray(v)) {
      const n = Math.min(v.length, 4096);
      if (v.length > n) pure = false;
      for (let i = 0; i < n; i++) {
        const item = v[i];
        if (typeof item === "object" && item !== null) {
          stack.push(String(i));
          walk(item, level + 1);
          stack.pop();
        } else walk(item, level + 1);
      }
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) pure = false;
    for (const key of Object.keys(v)) {
      if (RESERVED_KEYS.has(key)) {
        reserved.push({ path: [...stack, key].join("."), message: "reserved key is not allowed" });
        continue;
      }
      const item = (v as Record<string, unknown>)[key];
      if (typeof item === "object" && item !== null) {
        stack.push(key);
        walk(item, level + 1);
        stack.pop();
      } else walk(item, level + 1);
    }
  };
  walk(value, 0);
  return { reserved, pure };
}

/** Structural equality of `a` (any value) with pure JSON data `b`. */
export function jsonEquals(a: unknown, b: unknown): boolean {
  if (a === b) return typeof a !== "number" || Number.isFinite(a);
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(b)) {
    if (!Array.isArray(a) || a.length !== b.length) return false;
    for (let i = 0; i < b.length; i++) if (!jsonEquals(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(a)) return false;
  const proto = Object.getPrototypeOf(a);
  if (proto !== Object.prototype && proto !== null) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of kb) {
    if (!Object.hasOwn(a, k) || !jsonEquals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
      return false;
  }
  return true;
}

/** Deep copy of pure JSON data. */
export function cloneJson<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map(cloneJson) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = cloneJson((v as Record<string, unknown>)[k]);
  return out as T;
}

/** Plain (non-array, non-null) object test. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
