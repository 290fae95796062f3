import type { AnyInstanceSpec } from "../model/spec-types.js";
import { sha256Hex, stableStringify } from "../util/stable-json.js";

/**
 * Deterministic sha256 hex of the normalized spec plus the effective environment (canonical
 * JSON: key order does not matter). Secret refs are hashed as written, never their values, so
 * rotating a secret's value keeps the hash (redeploy explicitly to pick it up).
 */
export function specHash(spec: AnyInstanceSpec, env: Record<string, string> = {}): string {
  return sha256Hex(stableStringify({ v: 1, spec, env }));
}
