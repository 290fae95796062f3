import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FleetError } from "../errors.js";
import type { FleetStore } from "../plugins/store.js";
import { keysConformance } from "./store-keys-conformance.js";
import { type LeaseCapability, leasesConformance } from "./store-leases-conformance.js";
import { type QueryCapability, queryConformance } from "./store-query-conformance.js";
import { recordsConformance } from "./store-records-conformance.js";
import { codeOf, sampleApiKey, sampleInstance, sampleRecord, sampleServer, sampleTemplate } from "./store-samples.js";
import { templatesConformance } from "./store-templates-conformance.js";

export { sampleApiKey, sampleInstance, sampleRecord, sampleServer, sampleTemplate } from "./store-samples.js";

export interface StoreConformanceOptions extends QueryCapability, Omit<LeaseCapability, "reopen"> {
  /** Opens a second handle on the same data (durable stores): checks that writes survive and are shared. */
  reopen?: () => FleetStore | Promise<FleetStore>;
}

type Factory = () => FleetStore | Promise<FleetStore>;

/** The FleetStore v1 contract: optimistic concurrency, isolation of returned documents, durability. */
export function storeConformance(name: string, factory: Factory, options: StoreConformanceOptions = {}): void {
  describe(`FleetStore conformance: ${name}`, () => {
    let store: FleetStore;
    beforeAll(async () => {
      store = await factory();
    });
    afterAll(async () => {
      await store.close();
    });

    it("is a v1 plug-in", () => {
      expect(store.specificationVersion).toBe("v1");
      expect(typeof store.name).toBe("string");
      expect(typeof store[Symbol.asyncDispose]).toBe("function");
    });

    it("creates with revision 1 and reads it back", async () => {
      const doc = sampleInstance();
      const created = await store.instances.create(doc);
      expect(created.revision).toBe(1);
      expect(await store.instances.get(doc.id)).toEqual({ ...doc, revision: 1 });
      expect((await store.instances.list()).some((d) => d.id === doc.id)).toBe(true);
    });

    it("refuses a second create with the same id (ALREADY_EXISTS)", async () => {
      const doc = sampleServer();
      await store.servers.create(doc);
      expect(await codeOf(store.servers.create(doc))).toBe("ALREADY_EXISTS");
    });

    it("updates with the current revision and refuses a stale one (CONFLICT)", async () => {
      const created = await store.instances.create(sampleInstance());
      const updated = await store.instances.update({ ...created, status: "provisioning" });
      expect(updated.revision).toBe(2);
      expect(updated.status).toBe("provisioning");
      expect(await codeOf(store.instances.update({ ...created, status: "failed" }))).toBe("CONFLICT");
      expect((await store.instances.get(created.id))?.status).toBe("provisioning");
    });

    it("update of a missing document is NOT_FOUND", async () => {
      expect(await codeOf(store.instances.update({ ...sampleInstance(), revision: 1 }))).toBe("NOT_FOUND");
    });

    it("concurrent updates from the same revision: exactly one wins", async () => {
      const created = await store.instances.create(sampleInstance());
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => store.instances.update({ ...created, status_reason: `writer ${i}` })),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") expect((r.reason as FleetError).code).toBe("CONFLICT");
      }
      expect((await store.instances.get(created.id))?.revision).toBe(2);
    });

    it("delete returns true then false, and honours expectedRevision", async () => {
      const a = await store.instances.create(sampleInstance());
      expect(await codeOf(store.instances.delete(a.id, { expectedRevision: 7 }))).toBe("CONFLICT");
      expect(await store.instances.delete(a.id, { expectedRevision: 1 })).toBe(true);
      expect(await store.instances.delete(a.id)).toBe(false);
      expect(await store.instances.get(a.id)).toBeUndefined();
    });

    it("returned documents cannot change the store", async () => {
      const created = await store.servers.create(sampleServer());
      const got = (await store.servers.get(created.id))!;
      try {
        (got as { name: string }).name = "mutated";
        (got.env_schema as unknown[]).push({ name: "X" });
      } catch {
        // frozen documents throw in strict mode: also fine
      }
      const again = (await store.servers.get(created.id))!;
      expect(again.name).toBe(created.name);
      expect(again.env_schema).toHaveLength(1);
    });

    it("keeps servers and instances apart", async () => {
      const s = await store.servers.create(sampleServer());
      expect(await store.instances.get(s.id)).toBeUndefined();
    });

    it("watch reports puts and deletes (when supported)", async (t) => {
      if (!store.instances.watch) {
        t.skip();
        return;
      }
      const changes: string[] = [];
      const stop = store.instances.watch((c) => changes.push(`${c.type}:${c.id}`));
      const doc = await store.instances.create(sampleInstance());
      await store.instances.update({ ...doc, status: "provisioning" });
      await store.instances.delete(doc.id);
      stop();
      expect(changes).toEqual([`put:${doc.id}`, `put:${doc.id}`, `delete:${doc.id}`]);
    });

    it("refuses a document JSON cannot hold (BigInt, cycle) and changes nothing", async () => {
      const before = (await store.instances.list()).length;
      const big = sampleInstance({ json_spec: { type: "docker", image: "x", port: 1, n: BigInt(1) } });
      expect(await codeOf(store.instances.create(big))).toBeDefined();
      const cyclic: Record<string, unknown> = { type: "docker", image: "x", port: 1 };
      cyclic.self = cyclic;
      const cyc = sampleInstance({ json_spec: cyclic });
      expect(await codeOf(store.instances.create(cyc))).toBeDefined();
      expect(await store.instances.get(big.id)).toBeUndefined();
      expect(await store.instances.get(cyc.id)).toBeUndefined();
      expect(await store.instances.list()).toHaveLength(before);
      const created = await store.instances.create(sampleInstance());
      expect(
        await codeOf(store.instances.update({ ...created, json_spec: { type: "docker", n: BigInt(2) } })),
      ).toBeDefined();
      expect(await store.instances.get(created.id)).toEqual(created);
      // the store keeps working afterwards
      const next = await store.instances.update({ ...created, status: "provisioning" });
      expect(next.revision).toBe(2);
      expect(await store.instances.list()).toHaveLength(before + 1);
    });

    it("honours an aborted signal", async () => {
      const ctrl = new AbortController();
      ctrl.abort();
      expect(await codeOf(store.instances.list({ signal: ctrl.signal }))).toBe("ABORTED");
    });

    queryConformance(() => store, options);
    templatesConformance(() => store, options);
    leasesConformance(() => store, options);
    keysConformance(() => store, options);
    recordsConformance(() => store, options);

    it("writes survive reopening and are visible to a second handle (durable stores)", async (t) => {
      if (!options.reopen) {
        t.skip();
        return;
      }
      const doc = await store.instances.create(sampleInstance({ name: "durable" }));
      const other = await options.reopen();
      try {
        expect(await other.instances.get(doc.id)).toEqual(doc);
        const moved = await other.instances.update({ ...doc, status: "running" });
        expect((await store.instances.get(doc.id))?.revision).toBe(moved.revision);
        expect(await codeOf(store.instances.update({ ...doc, status: "failed" }))).toBe("CONFLICT");
        if (store.templates) {
          const tpl = await store.templates.create(sampleTemplate());
          expect(await other.templates?.get(tpl.id)).toEqual(tpl);
        }
        if (store.keys) {
          const key = await store.keys.create(sampleApiKey());
          const revoked = await other.keys!.update({ ...key, revoked_at: new Date().toISOString() });
          expect(await store.keys.get(key.id)).toEqual(revoked);
        }
        if (store.records) {
          const rec = await store.records.create(sampleRecord());
          expect(await other.records?.get(rec.id)).toEqual(rec);
        }
      } finally {
        await other.close();
      }
    });
  });
}
