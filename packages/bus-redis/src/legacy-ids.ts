import { type CallOptions, FleetError, type Repository, type StoredRecord } from "@mcpfleet/core";

/** The `kind` of legacy id mappings among a fleet store's records. */
export const LEGACY_ID_RECORD_KIND = "legacy-id";

/**
 * Legacy instance id ↔ fleet instance id (the fleet picks its own ids). With `records` (a fleet
 * store's `records` repository) the mapping is stored as `legacy-id:<legacy id>` records named by
 * the fleet id, so it survives restarts and every replica on the store shares it; this process
 * caches what it saw.
 */
export class LegacyIds {
  private readonly toFleet = new Map<string, string>();
  private readonly toLegacy = new Map<string, string>();

  constructor(private readonly records?: Repository<StoredRecord>) {}

  private cache(legacyId: string, fleetId: string): void {
    this.toFleet.set(legacyId, fleetId);
    this.toLegacy.set(fleetId, legacyId);
  }

  async fleetId(legacyId: string, o?: CallOptions): Promise<string | undefined> {
    const cached = this.toFleet.get(legacyId);
    if (cached || !this.records) return cached;
    const r = await this.records.get(recordId(legacyId), o);
    if (r?.kind !== LEGACY_ID_RECORD_KIND) return undefined;
    this.cache(legacyId, r.name);
    return r.name;
  }

  async legacyId(fleetId: string, o?: CallOptions): Promise<string | undefined> {
    const cached = this.toLegacy.get(fleetId);
    if (cached || !this.records) return cached;
    const found = (await this.records.findByName?.(fleetId, o)) ?? (await this.records.list(o));
    const r = found.find((x) => x.kind === LEGACY_ID_RECORD_KIND && x.name === fleetId);
    const legacyId = typeof r?.data.legacy_id === "string" ? r.data.legacy_id : undefined;
    if (legacyId) this.cache(legacyId, fleetId);
    return legacyId;
  }

  /** Stores the pair (idempotent; another replica storing the same pair first is fine). */
  async remember(legacyId: string, fleetId: string, o?: CallOptions): Promise<void> {
    this.cache(legacyId, fleetId);
    if (!this.records) return;
    const doc = {
      id: recordId(legacyId),
      kind: LEGACY_ID_RECORD_KIND,
      name: fleetId,
      data: { legacy_id: legacyId, instance_id: fleetId },
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const current = await this.records.get(doc.id, o);
        if (!current) await this.records.create(doc, o);
        else if (current.name !== fleetId) await this.records.update({ ...doc, revision: current.revision }, o);
        return;
      } catch (err) {
        const code = FleetError.isInstance(err) ? err.code : undefined;
        if (attempt >= 5 || (code !== "CONFLICT" && code !== "ALREADY_EXISTS")) throw err;
      }
    }
  }

  /** Drops the mapping of a fleet instance that is gone. */
  async forget(fleetId: string, o?: CallOptions): Promise<void> {
    const legacyId = await this.legacyId(fleetId, o);
    this.toLegacy.delete(fleetId);
    if (legacyId === undefined) return;
    this.toFleet.delete(legacyId);
    await this.records?.delete(recordId(legacyId), o);
  }
}

const recordId = (legacyId: string) => `${LEGACY_ID_RECORD_KIND}:${legacyId}`;
