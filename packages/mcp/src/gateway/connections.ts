import type { Fleet, InstanceConnection } from "@mcpfleet/core";

/** A connection with its endpoint parsed once. */
export interface ResolvedConnection extends InstanceConnection {
  url: URL;
}

/**
 * Short-lived cache of `fleet.connection()` (secret resolution on every request would dominate the
 * gateway's overhead). Emptied on every fleet event and on upstream connection errors.
 */
export class ConnectionCache {
  private entries = new Map<string, { conn: ResolvedConnection; expires: number }>();
  private inflight = new Map<string, Promise<ResolvedConnection>>();
  private unsubscribe: () => void;

  constructor(
    private readonly fleet: Fleet,
    private readonly ttlMs: number,
  ) {
    this.unsubscribe = fleet.subscribe(() => this.clear());
  }

  async get(idOrName: string): Promise<ResolvedConnection> {
    const hit = this.entries.get(idOrName);
    if (hit && hit.expires > Date.now()) return hit.conn;
    const pending = this.inflight.get(idOrName);
    if (pending) return pending;
    const p = this.fleet.connection(idOrName).then(
      (c) => {
        const conn: ResolvedConnection = { ...c, url: new URL(c.endpoint) };
        this.inflight.delete(idOrName);
        if (this.ttlMs > 0) this.entries.set(idOrName, { conn, expires: Date.now() + this.ttlMs });
        return conn;
      },
      (err: unknown) => {
        this.inflight.delete(idOrName);
        throw err;
      },
    );
    this.inflight.set(idOrName, p);
    return p;
  }

  forget(idOrName: string): void {
    this.entries.delete(idOrName);
  }

  clear(): void {
    this.entries.clear();
  }

  close(): void {
    this.unsubscribe();
    this.clear();
  }
}
