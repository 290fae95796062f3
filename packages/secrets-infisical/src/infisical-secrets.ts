import { InfisicalSDK, SecretType } from "@infisical/sdk";
import { FleetError, type SecretRef, type SecretStore, silentLogger } from "@mcpfleet/core";
import {
  abortable,
  backoffDelay,
  secretRefText as refText,
  sleep,
  throwIfAborted,
  writableSecretStore,
} from "@mcpfleet/core/adapter";
import { type Failure, failureOf, HttpFailure, isAbsent, isExisting, isFolderMissing, toFleetError } from "./errors.js";
import { type InfisicalSecretsOptions, parseInfisicalOptions } from "./options.js";
import { UniversalAuthSession } from "./session.js";

const FOLDER_NAME = /^[A-Za-z0-9_-]+$/;

/** Infisical returns a placeholder instead of the value when the identity lacks "Read Value". */
const hiddenValue = (subject: string) =>
  new FleetError("SECRET_ACCESS_DENIED", `infisical hid the value of ${subject} (no "Read Value" permission)`);

type Outcome<T> = { ok: true; value: T } | { ok: false; failure: Failure };

/**
 * A `SecretStore` on Infisical: scope `s` is the folder `<pathPrefix>/s` of one project
 * environment, keys are its secrets (type `shared`). Folders are created on first write. Values
 * are read verbatim (secret references are not expanded).
 */
export function infisicalSecrets(options: InfisicalSecretsOptions): SecretStore {
  const opts = parseInfisicalOptions(options);
  const logger = (opts.logger ?? silentLogger()).child({ component: "secrets-infisical" });
  const now = opts.now ?? Date.now;
  const sdk = opts.sdk ?? new InfisicalSDK({ siteUrl: opts.siteUrl });
  const session = new UniversalAuthSession(opts, sdk, now, logger);
  const base = { projectId: opts.projectId, environment: opts.environment };
  const pathOf = (scope: string) => `${opts.pathPrefix}/${scope}`;

  /** Runs one authenticated call: re-login once on 401, bounded retries with backoff on 429/5xx. */
  const attempt = async <T>(fn: (token: string) => Promise<T>, signal?: AbortSignal): Promise<Outcome<T>> => {
    throwIfAborted(signal);
    let relogged = false;
    let failure: Failure | undefined;
    for (let n = 1; n <= opts.maxAttempts; ) {
      let token = "";
      try {
        token = await session.token(signal);
        return { ok: true, value: await abortable(fn(token), signal) };
      } catch (err) {
        if (FleetError.isInstance(err)) {
          // A login that failed on a 5xx/429 is retried like any other call; everything else is final.
          const status = err.details?.status;
          if (!(err.isRetryable && typeof status === "number")) throw err;
          failure = { status, message: "" };
        } else {
          failure = failureOf(err);
        }
      }
      if (failure.status === 401 && !relogged) {
        relogged = true;
        session.invalidate(token);
        logger.debug({}, "infisical rejected the access token, logging in again");
        continue;
      }
      // Network failures were already retried inside @infisical/sdk.
      const retryable = failure.status === 429 || (failure.status !== undefined && failure.status >= 500);
      if (!retryable || n === opts.maxAttempts) break;
      await sleep(backoffDelay(n - 1, { baseMs: opts.backoffMs, maxMs: 5000 }), signal);
      logger.debug({ attempt: n, status: failure.status }, "infisical request failed, retrying");
      n++;
    }
    return { ok: false, failure: failure ?? { status: undefined, message: "" } };
  };

  const must = <T>(o: Outcome<T>, subject: string): T => {
    if (o.ok) return o.value;
    throw toFleetError(o.failure, subject);
  };

  const listScope = async (scope: string, withValues: boolean, signal?: AbortSignal) => {
    const o = await attempt(
      () =>
        sdk.secrets().listSecrets({
          ...base,
          secretPath: pathOf(scope),
          expandSecretReferences: false,
          includeImports: false,
          recursive: false,
          viewSecretValue: withValues,
        }),
      signal,
    );
    if (!o.ok && isAbsent(o.failure)) return [];
    return must(o, `scope "${scope}"`).secrets;
  };

  const loadScope = async (scope: string): Promise<Map<string, string>> => {
    const secrets = await listScope(scope, true);
    if (secrets.some((s) => s.secretValueHidden === true)) throw hiddenValue(`scope "${scope}"`);
    return new Map(secrets.map((s) => [s.secretKey, s.secretValue]));
  };

  const ensureFolders = async (scope: string, signal?: AbortSignal): Promise<void> => {
    if (!FOLDER_NAME.test(scope)) {
      throw new FleetError("SPEC_INVALID", `scope "${scope}" is not a valid Infisical folder name ([A-Za-z0-9_-]+)`, {
        path: "scope",
        isRetryable: false,
      });
    }
    let parent = "/";
    for (const name of [...opts.pathPrefix.split("/").filter(Boolean), scope]) {
      const o = await attempt(() => sdk.folders().create({ ...base, name, path: parent }), signal);
      if (!o.ok && !isExisting(o.failure)) throw toFleetError(o.failure, `folder "${parent}" / "${name}"`);
      parent = parent === "/" ? `/${name}` : `${parent}/${name}`;
    }
    logger.debug({ scope }, "infisical folders created");
  };

  const write = async (ref: SecretRef, value: string, signal?: AbortSignal): Promise<void> => {
    const secretPath = pathOf(ref.scope);
    const create = () =>
      attempt(
        () => sdk.secrets().createSecret(ref.key, { ...base, secretPath, secretValue: value, type: SecretType.Shared }),
        signal,
      );
    const update = () =>
      attempt(
        () => sdk.secrets().updateSecret(ref.key, { ...base, secretPath, secretValue: value, type: SecretType.Shared }),
        signal,
      );
    let o: Outcome<unknown> = await create();
    if (!o.ok && isFolderMissing(o.failure)) {
      await ensureFolders(ref.scope, signal);
      o = await create();
    }
    if (!o.ok && isExisting(o.failure)) {
      o = await update();
      if (!o.ok && isAbsent(o.failure)) o = await create(); // deleted between our create and update
    }
    must(o, refText(ref));
  };

  /** Deletes the scope folder and with it all its secrets (not in @infisical/sdk, so made here). */
  const deleteFolder = async (scope: string, token: string, signal?: AbortSignal): Promise<void> => {
    const timeout = AbortSignal.timeout(opts.requestTimeoutMs);
    let res: Response;
    try {
      res = await fetch(`${opts.siteUrl}/api/v1/folders/${encodeURIComponent(scope)}`, {
        method: "DELETE",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          workspaceId: opts.projectId,
          environment: opts.environment,
          path: opts.pathPrefix || "/",
        }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw new FleetError("ABORTED", "operation aborted", { cause: signal.reason });
      const code = (err as { cause?: { code?: unknown } })?.cause?.code;
      throw new HttpFailure({ status: undefined, message: typeof code === "string" ? code : "network error" });
    }
    const body = (await res.json().catch(() => undefined)) as { message?: unknown } | undefined;
    if (res.ok) return;
    throw new HttpFailure({
      status: res.status,
      message: typeof body?.message === "string" ? body.message.slice(0, 200) : "",
    });
  };

  // writes invalidate their scope (the kit does); reads use the cache only with a TTL
  const store = writableSecretStore<Map<string, string>>(
    { adapter: "secrets-infisical", name: "infisical", cacheTtlMs: opts.cacheTtlMs, now },
    (cache) => ({
      async get(r, callOptions) {
        const signal = callOptions?.signal;
        if (opts.cacheTtlMs > 0) {
          const value = (await cache.get(r.scope, () => loadScope(r.scope), signal)).get(r.key);
          if (value === undefined) throw new FleetError("SECRET_NOT_FOUND", `secret not found: ${refText(r)}`);
          return value;
        }
        const o = await attempt(
          () =>
            sdk.secrets().getSecret({
              ...base,
              secretName: r.key,
              secretPath: pathOf(r.scope),
              expandSecretReferences: false,
              includeImports: false,
              type: SecretType.Shared,
              viewSecretValue: true,
            }),
          signal,
        );
        const secret = must(o, refText(r));
        if (typeof secret?.secretValue !== "string" || secret.secretValueHidden === true) throw hiddenValue(refText(r));
        return secret.secretValue;
      },

      set: (r, value, callOptions) => write(r, value, callOptions?.signal),

      async delete(r, callOptions) {
        const o = await attempt(
          () => sdk.secrets().deleteSecret(r.key, { ...base, secretPath: pathOf(r.scope), type: SecretType.Shared }),
          callOptions?.signal,
        );
        if (!o.ok && isAbsent(o.failure)) return;
        must(o, refText(r));
      },

      async list(s, callOptions) {
        const secrets = await listScope(s, false, callOptions?.signal);
        return [...new Set(secrets.map((x) => x.secretKey))].sort();
      },

      async deleteScope(s, callOptions) {
        const signal = callOptions?.signal;
        const o = await attempt((token) => deleteFolder(s, token, signal), signal);
        if (o.ok || isAbsent(o.failure)) return;
        if (o.failure.status !== 403) throw toFleetError(o.failure, `scope "${s}"`);
        // No folder-delete permission: delete the secrets one by one.
        logger.debug({ scope: s }, "infisical folder delete denied, deleting secrets one by one");
        for (const key of await store.list(s, callOptions)) await store.delete({ scope: s, key }, callOptions);
      },

      close() {},
    }),
  );
  return store;
}
