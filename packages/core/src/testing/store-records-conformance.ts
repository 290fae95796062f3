import { expect, it } from "vitest";
import type { FleetError } from "../errors.js";
import type { FleetStore } from "../plugins/store.js";
import { capabilityGate, type QueryCapability } from "./store-query-conformance.js";
import { sampleRecord } from "./store-samples.js";

/** The optional `records` repository (catalog entries, id mappings), gated by capability like `templates`. */
export function recordsConformance(get: () => FleetStore, cap: QueryCapability): void {
  const gate = capabilityGate(cap.records, () => get().records !== undefined, {
    declared: "records",
    member: "store.records",
    what: "records repository",
  });

  it("records: stored by id with revisions, found by (non-unique) name, apart from instances", async (t) => {
    if (!gate(t)) return;
    const store = get();
    const repo = store.records!;
    const doc = sampleRecord();
    const created = await repo.create(doc);
    expect(created.revision).toBe(1);
    expect(await repo.get(doc.id)).toEqual({ ...doc, revision: 1 });
    expect(await store.instances.get(doc.id)).toBeUndefined();
    // two records may name the same target (a name is an index, not a key)
    const twin = await repo.create(sampleRecord({ name: doc.name, kind: "other" }));
    expect((await repo.findByName!(doc.name)).map((r) => r.id).sort()).toEqual([doc.id, twin.id].sort());
    const updated = await repo.update({ ...created, data: { moved: true } });
    expect(updated).toMatchObject({ revision: 2, data: { moved: true } });
    const stale = await repo.update({ ...created, data: {} }).catch((e: FleetError) => e.code);
    expect(stale).toBe("CONFLICT");
    const dup = await repo.create(sampleRecord({ id: doc.id })).catch((e: FleetError) => e.code);
    expect(dup).toBe("ALREADY_EXISTS");
    expect((await repo.list()).filter((r) => r.name === doc.name)).toHaveLength(2);
    expect(await repo.delete(doc.id)).toBe(true);
    expect(await repo.get(doc.id)).toBeUndefined();
    expect((await repo.findByName!(doc.name)).map((r) => r.id)).toEqual([twin.id]);
    expect(await repo.delete(twin.id)).toBe(true);
  });
}
