import { FleetError, type Logger } from "@mcpfleet/core";
import { abortable, backoffDelay, sleep } from "@mcpfleet/core/adapter";
import nodeVault from "node-vault";
import type { ResolvedVaultOptions } from "./options.js";

/** The part of a node-vault client this store uses. */
export interface NodeVaultClient {
  token: string;
  request(options: { path: string; method: string; json?: unknown; headers?: Record<string, string> }): Promise<any>;
}

export interface VaultResponse {
  status: number;
  body: any;
}

export interface CallSpec {
  method: "GET" | "POST" | "PUT" | "DELETE" | "LIST";
  /** Path after `/v1`, starting with `/`. */
  path: string;
  body?: unknown;
  token?: string;
  /** Statuses returned as a value instead of thrown (e.g. 404 on a KV read). */
  accept?: number[];
  /** What the call is about, for error messages (a ref or a scope, never a value). */
  subject: string;
  signal?: AbortSignal | undefined;
}

const noopDebug = Object.assign(() => {}, { enabled: false });

/**
 * Builds a node-vault client that never reads VAULT_* environment variables behind our back
 * (token, namespace, prefix, skip-verify) and never writes request bodies to its debug output.
 */
export function createNodeVaultClient(options: ResolvedVaultOptions): NodeVaultClient {
  const tls = options.tls ?? {};
  const strictSSL = tls.insecureSkipVerify !== true;
  const requestOptions: Record<string, unknown> = { strictSSL };
  if (tls.ca !== undefined) requestOptions.ca = tls.ca;
  if (tls.cert !== undefined) requestOptions.cert = tls.cert;
  if (tls.key !== undefined) requestOptions.key = tls.key;
  // `rpDefaults` and `debug` are read by node-vault but missing from its typings.
  const config: Record<string, unknown> = {
    endpoint: options.address,
    apiVersion: "v1",
    debug: noopDebug,
    requestOptions,
    rpDefaults: { strictSSL, timeout: options.requestTimeoutMs },
  };
  const client = nodeVault(config as nodeVault.VaultOptions) as unknown as NodeVaultClient & {
    namespace?: string;
    pathPrefix?: string;
  };
  client.token = "";
  client.namespace = "";
  client.pathPrefix = "";
  return client;
}

/** Vault's `{"errors":[...]}` as one short string (Vault error texts never contain secret data). */
export function vaultErrorText(body: unknown): string {
  const errors = (body as { errors?: unknown })?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return "";
  return errors
    .map((e) => String(e).replace(/\s+/g, " ").trim())
    .join("; ")
    .slice(0, 300);
}

export function isSealed(status: number, body: unknown): boolean {
  return status === 503 && /sealed/i.test(vaultErrorText(body));
}

const RETRYABLE_STATUS = new Set([412, 429, 500, 502, 503, 504]);

function statusError(status: number, body: unknown, spec: CallSpec): FleetError {
  const text = vaultErrorText(body);
  const suffix = text ? `: ${text}` : "";
  if (isSealed(status, body)) {
    return new FleetError("SECRET_STORE_UNAVAILABLE", `vault is sealed (${spec.subject})`, {
      isRetryable: true,
      details: { status, sealed: true },
    });
  }
  if (status === 401 || status === 403) {
    return new FleetError("SECRET_ACCESS_DENIED", `vault denied access to ${spec.subject} (HTTP ${status}${suffix})`, {
      details: { status },
    });
  }
  if (status === 404 && /no handler for route/i.test(text)) {
    // Vault answers this when nothing is mounted there: a configuration problem, not a missing secret.
    return new FleetError(
      "SECRET_STORE_UNAVAILABLE",
      `vault has no secrets engine at this path (${spec.subject}${suffix})`,
      {
        isRetryable: false,
        details: { status },
      },
    );
  }
  if (status === 404) {
    return new FleetError("SECRET_NOT_FOUND", `secret not found: ${spec.subject}`, { details: { status } });
  }
  if (RETRYABLE_STATUS.has(status)) {
    return new FleetError(
      "SECRET_STORE_UNAVAILABLE",
      `vault unavailable for ${spec.subject} (HTTP ${status}${suffix})`,
      {
        isRetryable: true,
        details: { status },
      },
    );
  }
  return new FleetError("INTERNAL", `vault rejected ${spec.method} for ${spec.subject} (HTTP ${status}${suffix})`, {
    isRetryable: false,
    details: { status },
  });
}

const TLS_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/;

function networkError(err: unknown, spec: CallSpec): FleetError {
  const code = (err as { code?: unknown })?.code;
  const what = typeof code === "string" ? code : "network error";
  if (TLS_FAILURE.test(what)) {
    // Retrying cannot fix a certificate problem.
    return new FleetError("SECRET_STORE_UNAVAILABLE", `vault TLS verification failed for ${spec.subject} (${what})`, {
      isRetryable: false,
      details: { code: what },
    });
  }
  // The cause is deliberately not attached: axios errors carry the request config, body included.
  return new FleetError("SECRET_STORE_UNAVAILABLE", `vault unreachable for ${spec.subject} (${what})`, {
    isRetryable: true,
    details: { code: what },
  });
}

/** Requests through node-vault with bounded retries, full-jitter backoff and AbortSignal support. */
export class VaultTransport {
  constructor(
    private readonly client: NodeVaultClient,
    private readonly options: ResolvedVaultOptions,
    private readonly logger: Logger,
  ) {}

  async call(spec: CallSpec): Promise<VaultResponse> {
    const { maxAttempts, backoffMs } = this.options;
    let last: FleetError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) {
        await sleep(backoffDelay(attempt - 2, { baseMs: backoffMs, maxMs: 5000 }), spec.signal);
      }
      const result = await this.once(spec);
      if (!(result instanceof FleetError)) return result;
      last = result;
      // A sealed Vault needs an operator; retrying within this call only adds load.
      const sealed = result.details?.sealed === true;
      if (!result.isRetryable || sealed || result.code === "SECRET_ACCESS_DENIED") throw result;
      this.logger.debug({ attempt, path: spec.path, code: result.code }, "vault request failed, retrying");
    }
    throw last ?? new FleetError("INTERNAL", "vault request failed");
  }

  private async once(spec: CallSpec): Promise<VaultResponse | FleetError> {
    const headers: Record<string, string> = {};
    if (spec.token) headers["X-Vault-Token"] = spec.token;
    if (this.options.namespace) headers["X-Vault-Namespace"] = this.options.namespace;
    const request: { path: string; method: string; json?: unknown; headers: Record<string, string> } = {
      path: spec.path,
      method: spec.method,
      headers,
    };
    if (spec.body !== undefined) request.json = spec.body;
    try {
      const body = await abortable(this.client.request(request), spec.signal);
      return { status: 200, body };
    } catch (err) {
      if (FleetError.isInstance(err)) throw err; // ABORTED
      const response = (err as { response?: { statusCode?: unknown; body?: unknown } })?.response;
      if (response && typeof response.statusCode === "number") {
        const unmounted = response.statusCode === 404 && /no handler for route/i.test(vaultErrorText(response.body));
        if (spec.accept?.includes(response.statusCode) && !unmounted) {
          return { status: response.statusCode, body: response.body };
        }
        return statusError(response.statusCode, response.body, spec);
      }
      return networkError(err, spec);
    }
  }
}
