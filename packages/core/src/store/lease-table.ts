import { FleetError } from "../errors.js";
import type { Lease, LeaseFence, LeaseState } from "../plugins/store.js";

/** A lease as kept in memory and in the file store's snapshot (`expiresAt` as epoch ms). */
export interface LeaseRecord {
  key: string;
  holder: string;
  token: number;
  expiresAtMs: number;
}

const toLease = (r: LeaseRecord): Lease => ({
  key: r.key,
  holder: r.holder,
  token: r.token,
  expiresAt: new Date(r.expiresAtMs).toISOString(),
});

export function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > 24 * 3600_000) {
    throw new FleetError("OPTIONS_INVALID", `lease ttl must be an integer of ms in 1..86400000, got ${ttlMs}`, {
      path: "ttlMs",
      isRetryable: false,
    });
  }
}

export function fencedError(fence: LeaseFence, current: number | undefined): FleetError {
  return new FleetError(
    "FENCED",
    `lease on ${fence.key} was taken over (token ${fence.token}, current ${current ?? "none"}): write refused`,
    { path: "fence", isRetryable: false, details: { key: fence.key, token: fence.token, current: current ?? null } },
  );
}

/**
 * Leases held in one process's memory, judged by one clock (`now`). The memory store uses it as it
 * is; the file store stages a copy, persists it under its file lock, then replaces this one.
 */
export class LeaseTable {
  private leases = new Map<string, LeaseRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  values(): LeaseRecord[] {
    return [...this.leases.values()].map((r) => ({ ...r }));
  }

  replaceAll(records: LeaseRecord[]): void {
    this.leases = new Map(records.map((r) => [r.key, { ...r }]));
  }

  clone(): LeaseTable {
    const copy = new LeaseTable(this.now);
    copy.replaceAll(this.values());
    return copy;
  }

  acquire(key: string, holder: string, ttlMs: number): Lease | undefined {
    checkTtl(ttlMs);
    const now = this.now();
    const cur = this.leases.get(key);
    const live = cur !== undefined && cur.expiresAtMs > now;
    if (cur && live && cur.holder !== holder) return undefined;
    const token = cur === undefined ? 1 : live ? cur.token : cur.token + 1;
    const next = { key, holder, token, expiresAtMs: now + ttlMs };
    this.leases.set(key, next);
    return toLease(next);
  }

  renew(holder: string, fences: LeaseFence[], ttlMs: number): Lease[] {
    checkTtl(ttlMs);
    const now = this.now();
    const out: Lease[] = [];
    for (const f of fences) {
      const cur = this.leases.get(f.key);
      if (!cur || cur.holder !== holder || cur.token !== f.token) continue;
      cur.expiresAtMs = now + ttlMs;
      out.push(toLease(cur));
    }
    return out;
  }

  /** Released leases expire now; the record stays so the next holder's token is higher. */
  release(holder: string, fence: LeaseFence): boolean {
    const cur = this.leases.get(fence.key);
    if (!cur || cur.holder !== holder || cur.token !== fence.token) return false;
    cur.expiresAtMs = Math.min(cur.expiresAtMs, this.now());
    return true;
  }

  /** Drops the record of a key whose document is gone (instance deleted). */
  forget(key: string): void {
    this.leases.delete(key);
  }

  list(): LeaseState[] {
    const now = this.now();
    return [...this.leases.values()].map((r) => ({ ...toLease(r), live: r.expiresAtMs > now }));
  }

  /** Throws `FENCED` unless `fence` carries the key's current token. */
  check(fence: LeaseFence | undefined): void {
    if (!fence) return;
    const cur = this.leases.get(fence.key);
    if (cur?.token !== fence.token) throw fencedError(fence, cur?.token);
  }
}
