import { FleetError, throwIfAborted } from "../errors.js";
import type { AnyInstanceSpec, UrlSpec } from "../model/spec-types.js";
import type { ResolvedSecrets } from "../plugins/runtime.js";
import type { SecretRef, SecretStore } from "../plugins/secret-store.js";
import { looksLikeSecretRef, parseSecretRef } from "./secret-ref.js";

export interface ResolveOptions {
  signal?: AbortSignal;
}

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
  const env: Record<string, string> = {};
  const wanted = new Map<string, { ref: SecretRef; path: string }>();
  const want = (value: string, path: string) => {
    const ref = parseSecretRef(value, path);
    if (!wanted.has(value)) wanted.set(value, { ref, path });
  };
  const environment = (spec as { environment?: Record<string, string> }).environment ?? {};
  const envRefs: [string, string][] = [];
  for (const name of Object.keys(environment)) {
    const v = environment[name] as string;
    if (looksLikeSecretRef(v)) {
      want(v, `environment.${name}`);
      envRefs.push([name, v]);
    } else {
      env[name] = String(v);
    }
  }
  const headerRefs: [string, string][] = [];
  let tokenRef: string | undefined;
  if (spec.type === "url") {
    const u = spec as UrlSpec;
    for (const name of Object.keys(u.headers ?? {})) {
      const v = u.headers[name] as string;
      if (looksLikeSecretRef(v)) {
        want(v, `headers.${name}`);
        headerRefs.push([name, v]);
      }
    }
    const token = u.authentication?.token;
    if (token !== undefined && looksLikeSecretRef(token)) {
      want(token, "authentication.token");
      tokenRef = token;
    }
  }
  const values = new Map<string, string>();
  await Promise.all(
    [...wanted].map(async ([s, { ref, path }]) => {
      values.set(s, await getOne(store, s, ref, path, options.signal));
    }),
  );
  throwIfAborted(options.signal);
  const secrets: ResolvedSecrets = { env: {}, headers: {} };
  for (const [name, s] of envRefs) secrets.env[name] = values.get(s) as string;
  for (const [name, s] of headerRefs) secrets.headers[name] = values.get(s) as string;
  if (tokenRef !== undefined) secrets.authToken = values.get(tokenRef) as string;
  else if (spec.type === "url" && (spec as UrlSpec).authentication)
    secrets.authToken = (spec as UrlSpec).authentication?.token;
  return { env, secrets };
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
      if (err.code === "SECRET_NOT_FOUND") {
        throw new FleetError("SECRET_NOT_FOUND", `secret ${s} (used by ${path}) not found`, {
          path,
          isRetryable: false,
          details: { ref: s },
          cause: err,
        });
      }
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
