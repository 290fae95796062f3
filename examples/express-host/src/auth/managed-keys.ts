import { randomBytes } from "node:crypto";
import type { ApiKeyRecord, Logger, Repository } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import { type AccessPolicy, parseAccessPolicy } from "@mcpfleet/mcp";
import { generateKey, hashKey, type Principal, type Role } from "./keys.js";

/** What listings show of a managed key (never its hash). */
export type ManagedKeyView = Omit<ApiKeyRecord, "sha256" | "revision">;

export const viewOf = (r: ApiKeyRecord): ManagedKeyView => {
  const { sha256: _h, revision: _r, ...rest } = r;
  return rest;
};

/** Last-used times are written at most this often per key (every replica writes its own). */
const LAST_USED_EVERY_MS = 60_000;
const MISS_RELOAD_MS = 250;

/**
 * Managed API keys in the fleet store (`store.keys`): only hashes stored, so replicas sharing the
 * store share the keys. Each replica caches the key list for `ttlMs` (and drops it at once on a
 * local change), so a revocation takes effect on every replica within `ttlMs`.
 */
export class ManagedKeys {
  private byHash = new Map<string, ApiKeyRecord>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;
  private readonly unwatch: (() => void) | undefined;
  private lastWrite = new Map<string, number>();

  constructor(
    private readonly repo: Repository<ApiKeyRecord>,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    this.unwatch = repo.watch?.(() => {
      this.loadedAt = -Infinity;
    });
  }

  private async fresh(maxAgeMs = this.ttlMs): Promise<void> {
    if (performance.now() - this.loadedAt < maxAgeMs) return;
    this.loading ??= (async () => {
      const started = performance.now();
      const all = await this.repo.list();
      this.byHash = new Map(all.map((r) => [r.sha256, r]));
      this.loadedAt = started;
    })().finally(() => {
      this.loading = undefined;
    });
    await this.loading;
  }

  /** The principal of a presented key, or undefined (unknown, revoked or expired). */
  async verify(presented: string): Promise<Principal | undefined> {
    await this.fresh();
    const hash = hashKey(presented).toString("hex");
    let rec = this.byHash.get(hash);
    if (!rec) {
      // a key created on another replica: reload, at most every MISS_RELOAD_MS (guessing cannot flood the store)
      await this.fresh(MISS_RELOAD_MS);
      rec = this.byHash.get(hash);
    }
    if (!rec || rec.revoked_at !== null) return undefined;
    if (rec.expires_at !== null && Date.parse(rec.expires_at) <= Date.now()) return undefined;
    this.touch(rec);
    const principal: Principal = { id: rec.id, role: rec.role };
    if (rec.policy) {
      principal.policy = rec.policy as AccessPolicy;
      principal.policyName = (rec.policy as AccessPolicy).name ?? `key ${rec.id}`;
    }
    return principal;
  }

  private touch(rec: ApiKeyRecord): void {
    const now = Date.now();
    if (now - (this.lastWrite.get(rec.id) ?? 0) < LAST_USED_EVERY_MS) return;
    this.lastWrite.set(rec.id, now);
    void (async () => {
      const current = await this.repo.get(rec.id);
      if (!current || current.revoked_at !== null) return;
      await this.repo.update({ ...current, last_used_at: new Date(now).toISOString() });
    })().catch((err) => {
      // a concurrent write (another replica's touch or a revocation) wins; the next use retries
      if (!FleetError.isInstance(err) || err.code !== "CONFLICT")
        this.logger.warn({ keyId: rec.id, err: (err as Error).message }, "could not record key use");
      this.lastWrite.delete(rec.id);
    });
  }

  /** Creates a key; the key itself is returned once and never stored. */
  async create(
    input: { name: string; role: Role; expires_at?: string | null; policy?: unknown },
    by: string,
  ): Promise<{ key: string; record: ManagedKeyView }> {
    const policy = input.policy === undefined || input.policy === null ? null : parseAccessPolicy(input.policy);
    if (input.expires_at && Date.parse(input.expires_at) <= Date.now())
      throw new FleetError("SPEC_INVALID", "expires_at must be in the future", { path: "expires_at" });
    const key = generateKey();
    const record = await this.repo.create({
      id: `key_${randomBytes(9).toString("base64url")}`,
      name: input.name,
      role: input.role,
      sha256: hashKey(key).toString("hex"),
      policy: policy as Record<string, unknown> | null,
      created_at: new Date().toISOString(),
      created_by: by,
      expires_at: input.expires_at ? new Date(input.expires_at).toISOString() : null,
      revoked_at: null,
      last_used_at: null,
    });
    this.loadedAt = -Infinity;
    return { key, record: viewOf(record) };
  }

  async list(): Promise<ManagedKeyView[]> {
    return (await this.repo.list()).map(viewOf).sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async get(id: string): Promise<ManagedKeyView> {
    const r = await this.repo.get(id);
    if (!r) throw new FleetError("NOT_FOUND", `API key ${id} not found`, { path: "id" });
    return viewOf(r);
  }

  /** Revokes (kept, marked revoked, for the audit trail). Revoking twice is a no-op. */
  async revoke(id: string): Promise<ManagedKeyView> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.repo.get(id);
      if (!r) throw new FleetError("NOT_FOUND", `API key ${id} not found`, { path: "id" });
      if (r.revoked_at !== null) return viewOf(r);
      try {
        const done = await this.repo.update({ ...r, revoked_at: new Date().toISOString() });
        this.loadedAt = -Infinity;
        return viewOf(done);
      } catch (err) {
        if (attempt >= 5 || !FleetError.isInstance(err) || err.code !== "CONFLICT") throw err;
      }
    }
  }

  close(): void {
    this.unwatch?.();
  }
}
