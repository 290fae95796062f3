/** Options every long call accepts. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** What every v1 plug-in carries. */
export interface PluginV1 {
  readonly specificationVersion: "v1";
  /** Adapter name, e.g. `podman`, `redis`, `vault`. */
  readonly name: string;
  /** Releases connections, timers and child resources. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
