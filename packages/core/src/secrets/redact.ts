import { looksLikeSecretRef } from "./secret-ref.js";

export const REDACTED = "[REDACTED]";

/**
 * Deep copy of `value` where every occurrence of any of `secrets` inside any string (object
 * keys included) is replaced by `[REDACTED]`. Longer secrets are replaced first; empty strings
 * are ignored. Cycles become `"[Circular]"`. Errors become `{name, message}`.
 */
export function redactSecrets<T>(value: T, secrets: readonly string[]): T {
  const list = [...new Set(secrets.filter((s) => typeof s === "string" && s.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
  if (list.length === 0) return value;
  const scrub = (s: string) => {
    let out = s;
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
  const seen = new Set<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return scrub(v);
    if (typeof v !== "object" || v === null) return v;
    if (seen.has(v)) return "[Circular]";
    seen.add(v);
    try {
      if (Array.isArray(v)) return v.map(walk);
      if (v instanceof Error) return { name: v.name, message: scrub(v.message) };
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        const key = scrub(k);
        if (key === "__proto__") continue;
        out[key] = walk((v as Record<string, unknown>)[k]);
      }
      return out;
    } finally {
      seen.delete(v);
    }
  };
  return walk(value) as T;
}

const SENSITIVE_NAME = /(key|secret|token|passw(or)?d|passwd|credential|private|auth|cookie|session|signature)/i;

export interface RedactSpecOptions {
  /** Names of variables to hide besides those whose names look sensitive (e.g. the env schema's `secret` vars). */
  secretNames?: Iterable<string>;
}

/**
 * A copy of a wire json_spec that is safe to display: secret refs are kept (they are not
 * secret); literal values of the url bearer token, of headers and environment variables whose
 * names look sensitive (KEY, SECRET, TOKEN, PASSWORD, AUTH, COOKIE, ...) or are listed in
 * `secretNames` become `[REDACTED]`.
 */
export function redactSpec<T>(wireSpec: T, options: RedactSpecOptions = {}): T {
  if (typeof wireSpec !== "object" || wireSpec === null || Array.isArray(wireSpec)) return wireSpec;
  const names = new Set(options.secretNames ?? []);
  const hide = (name: string, v: unknown) =>
    (names.has(name) || SENSITIVE_NAME.test(name)) && !looksLikeSecretRef(v) ? REDACTED : v;
  const src = wireSpec as Record<string, unknown>;
  const out: Record<string, unknown> = { ...src };
  for (const field of ["environment", "headers"] as const) {
    const m = src[field];
    if (typeof m === "object" && m !== null && !Array.isArray(m)) {
      const copy: Record<string, unknown> = {};
      for (const k of Object.keys(m)) if (k !== "__proto__") copy[k] = hide(k, (m as Record<string, unknown>)[k]);
      out[field] = copy;
    }
  }
  const auth = src.authentication;
  if (typeof auth === "object" && auth !== null && !Array.isArray(auth)) {
    const a = auth as Record<string, unknown>;
    out.authentication = {
      ...a,
      ...(a.token !== undefined && !looksLikeSecretRef(a.token) ? { token: REDACTED } : {}),
    };
  }
  return out as T;
}
