import { expect, it } from "vitest";
import type { FleetError } from "../errors.js";
import type { FleetStore } from "../plugins/store.js";
import { capabilityGate, type QueryCapability } from "./store-query-conformance.js";
import { sampleTemplate } from "./store-samples.js";

/** The optional `templates` repository, gated by capability like `query`. */
export function templatesConformance(get: () => FleetStore, cap: QueryCapability): void {
  const gate = capabilityGate(cap.templates, () => get().templates !== undefined, {
    declared: "templates",
    member: "store.templates",
    what: "templates repository",
  });

  it("templates: stored by key with revisions, kept apart from instances", async (t) => {
    if (!gate(t)) return;
    const store = get();
    const repo = store.templates!;
    const doc = sampleTemplate();
    const created = await repo.create(doc);
    expect(created.revision).toBe(1);
    expect(await repo.get(doc.id)).toEqual({ ...doc, revision: 1 });
    expect(await store.instances.get(doc.id)).toBeUndefined();
    const updated = await repo.update({ ...created, capabilities: ["tools", "prompts"] });
    expect(updated.revision).toBe(2);
    const stale = await repo.update({ ...created, name: "stale" }).catch((e: FleetError) => e.code);
    expect(stale).toBe("CONFLICT");
    expect((await repo.list()).some((d) => d.id === doc.id)).toBe(true);
    expect(await repo.delete(doc.id)).toBe(true);
    expect(await repo.get(doc.id)).toBeUndefined();
  });
}
