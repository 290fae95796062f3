import { expect, it } from "vitest";
import type { FleetError } from "../errors.js";
import type { FleetStore } from "../plugins/store.js";
import { capabilityGate, type QueryCapability } from "./store-query-conformance.js";
import { sampleApiKey } from "./store-samples.js";

/** The optional `keys` repository (managed API keys, hashed), gated by capability like `templates`. */
export function keysConformance(get: () => FleetStore, cap: QueryCapability): void {
  const gate = capabilityGate(cap.keys, () => get().keys !== undefined, {
    declared: "keys",
    member: "store.keys",
    what: "keys repository",
  });

  it("keys: stored with revisions, revocation and last use kept, apart from instances", async (t) => {
    if (!gate(t)) return;
    const store = get();
    const repo = store.keys!;
    const doc = sampleApiKey();
    const created = await repo.create(doc);
    expect(created.revision).toBe(1);
    expect(await repo.get(doc.id)).toEqual({ ...doc, revision: 1 });
    expect(await store.instances.get(doc.id)).toBeUndefined();
    const now = new Date().toISOString();
    const revoked = await repo.update({ ...created, revoked_at: now });
    expect(revoked).toMatchObject({ revoked_at: now, revision: 2 });
    const stale = await repo.update({ ...created, last_used_at: now }).catch((e: FleetError) => e.code);
    expect(stale).toBe("CONFLICT");
    expect((await repo.get(doc.id))?.last_used_at).toBeNull();
    const dup = await repo.create({ ...sampleApiKey(), id: doc.id }).catch((e: FleetError) => e.code);
    expect(dup).toBe("ALREADY_EXISTS");
    expect((await repo.list()).some((d) => d.id === doc.id)).toBe(true);
    expect(await repo.delete(doc.id)).toBe(true);
    expect(await repo.get(doc.id)).toBeUndefined();
  });
}
