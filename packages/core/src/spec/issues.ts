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
  const out: FleetIssue[] = [];
  for (const issue of issues) {
    const path = joinPath(prefix, issue.path);
    if (issue.code === "invalid_key" && issue.issues.length > 0) {
      for (const inner of issue.issues) out.push({ path, message: `key ${inner.message}` });
    } else if (issue.code === "invalid_union" && issue.message === "Invalid input" && issue.errors.length > 0) {
      // Report the branch that got furthest (the one with the deepest issue path).
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0] ?? [];
      if (best.length > 0 && depth(best) > 0) out.push(...zodIssues(best, path));
      else out.push({ path, message: "has the wrong type or shape" });
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
    for (let i = 0; i < value.length && i < 4096; i++) reservedKeyIssues(value[i], prefix ? `${prefix}.${i}` : String(i), out, level + 1);
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
  let pure = true;
  const walk = (v: unknown, prefix: string, level: number): void => {
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
      for (let i = 0; i < v.length; i++) {
        if (i >= 4096) {
          pure = false;
          return;
        }
        walk(v[i], prefix ? `${prefix}.${i}` : String(i), level + 1);
      }
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) pure = false;
    for (const key of Object.keys(v)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (RESERVED_KEYS.has(key)) reserved.push({ path, message: "reserved key is not allowed" });
      else walk((v as Record<string, unknown>)[key], path, level + 1);
    }
  };
  walk(value, "", 0);
  return { reserved, pure };
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
