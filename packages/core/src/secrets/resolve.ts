import { FleetError, throwIfAborted } from "../errors.js";
import type { AnyInstanceSpec, UrlSpec } from "../model/spec-types.js";
import type { ResolvedSecrets } from "../plugins/runtime.js";
import type { SecretRef, SecretStore } from "../plugins/secret-store.js";
import { looksLikeSecretRef, parseSecretRef } from "./secret-ref.js";

export interface ResolveOptions {
  signal?: AbortSignal;
}

interface SecretUses {
  env: Record<string, string>;
  wanted: Map<string, { ref: SecretRef; path: string }>;
  envRefs: [string, string][];
  headerRefs: [string, string][];
  tokenRef?: string;
}

/** Where a spec uses secret refs (environment values, url bearer token, url header values). */
function secretUses(spec: AnyInstanceSpec): SecretUses {
  const uses: SecretUses = { env: {}, wanted: new Map(), envRefs: [], headerRefs: [] };
  const want = (value: string, path: string) => {
    const ref = parseSecretRef(value, path);
    if (!uses.wanted.has(value)) uses.wanted.set(value, { ref, path });
  };
  const environment = (spec as { environment?: Record<string, string> }).environment ?? {};
  for (const name of Object.keys(environment)) {
    const v = environment[name] as string;
    if (looksLikeSecretRef(v)) {
      want(v, `environment.${name}`);
      uses.envRefs.push([name, v]);
    } else {
      uses.env[name] = String(v);
    }
  }
  if (spec.type === "url") {
    const u = spec as UrlSpec;
    for (const name of Object.keys(u.headers ?? {})) {
      const v = u.headers[name] as string;
      if (looksLikeSecretRef(v)) {
        want(v, `headers.${name}`);
        uses.headerRefs.push([name, v]);
      }
    }
    const token = u.authentication?.token;
    if (token !== undefined && looksLikeSecretRef(token)) {
      want(token, "authentication.token");
      uses.tokenRef = token;
    }
  }
  return uses;
}

function assemble(spec: AnyInstanceSpec, uses: SecretUses, values: Map<string, string>): ResolvedSecrets {
  const secrets: ResolvedSecrets = { env: {}, headers: {} };
  for (const [name, s] of uses.envRefs) secrets.env[name] = values.get(s) as string;
  for (const [name, s] of uses.headerRefs) secrets.headers[name] = values.get(s) as string;
  if (uses.tokenRef !== undefined) secrets.authToken = values.get(uses.tokenRef) as string;
  else if (spec.type === "url" && (spec as UrlSpec).authentication)
    secrets.authToken = (spec as UrlSpec).authentication?.token;
  return secrets;
}

const notFound = (s: string, path: string, cause?: unknown) =>
  new FleetError("SECRET_NOT_FOUND", `secret ${s} (used by ${path}) not found`, {
    path,
    isRetryable: false,
    details: { ref: s },
    cause,
  });

/**
 * Resolves every secret ref of a normalized spec (environment values, url bearer token, url
 * header values) in parallel, each distinct ref once. Returns the literal (non-secret)
 * environment and the resolved material. A missing secret throws `SECRET_NOT_FOUND` naming the
 * ref and where it is used (never a value); store failures keep their code. The result holds
 * secret values: never log, publish or store it.
 */
export async function resolveSpecSecrets(
  spec: AnyInstanceSpec,
  store: SecretStore,
  options: ResolveOptions = {},
): Promise<{ env: Record<string, string>; secrets: ResolvedSecrets }> {
  throwIfAborted(options.signal);
  const uses = secretUses(spec);
  const values = new Map<string, string>();
  await Promise.all(
    [...uses.wanted].map(async ([s, { ref, path }]) => {
      values.set(s, await getOne(store, s, ref, path, options.signal));
    }),
  );
  throwIfAborted(options.signal);
  return { env: uses.env, secrets: assemble(spec, uses, values) };
}

/**
 * `resolveSpecSecrets` against values at hand (`lookup` returns the value of a ref, or undefined
 * when there is none: `SECRET_NOT_FOUND`). For request builders and tests; same result shape.
 */
export function resolveSpecSecretsWith(
  spec: AnyInstanceSpec,
  lookup: (ref: SecretRef) => string | undefined,
): { env: Record<string, string>; secrets: ResolvedSecrets } {
  const uses = secretUses(spec);
  const values = new Map<string, string>();
  for (const [s, { ref, path }] of uses.wanted) {
    const v = lookup(ref);
    if (v === undefined) throw notFound(s, path);
    values.set(s, v);
  }
  return { env: uses.env, secrets: assemble(spec, uses, values) };
}

async function getOne(
  store: SecretStore,
  s: string,
  ref: SecretRef,
  path: string,
  signal?: AbortSignal,
): Promise<string> {
  try {
    return await store.get(ref, signal ? { signal } : undefined);
  } catch (err) {
    if (FleetError.isInstance(err)) {
      if (err.code === "SECRET_NOT_FOUND") throw notFound(s, path, err);
      throw err;
    }
    throw new FleetError(
      "SECRET_STORE_UNAVAILABLE",
      `secret store ${store.name} failed to read ${s} (used by ${path})`,
      {
        path,
        cause: err,
        details: { ref: s },
      },
    );
  }
}
