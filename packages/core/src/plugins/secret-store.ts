import type { CallOptions, PluginV1 } from "./common.js";

/** `secret_ref:<scope>:<key>` parsed. */
export interface SecretRef {
  scope: string;
  key: string;
}

export interface SecretStoreCapabilities {
  /** `set`/`delete` are supported (false for read-only stores such as `envSecrets`). */
  write?: boolean;
  list?: boolean;
}

/**
 * Holds secret values. `get` of a missing ref throws `SECRET_NOT_FOUND` naming the ref (never the
 * value); access errors throw `SECRET_ACCESS_DENIED`; outages throw retryable
 * `SECRET_STORE_UNAVAILABLE`. A read-only store throws `SECRET_STORE_READ_ONLY` on writes.
 */
export interface SecretStore extends PluginV1 {
  readonly capabilities?: SecretStoreCapabilities;
  get(ref: SecretRef, options?: CallOptions): Promise<string>;
  set(ref: SecretRef, value: string, options?: CallOptions): Promise<void>;
  /** Idempotent. */
  delete(ref: SecretRef, options?: CallOptions): Promise<void>;
  /** Keys in a scope, sorted. */
  list?(scope: string, options?: CallOptions): Promise<string[]>;
  /** Removes a whole scope (an instance's secrets). Idempotent. */
  deleteScope?(scope: string, options?: CallOptions): Promise<void>;
}
