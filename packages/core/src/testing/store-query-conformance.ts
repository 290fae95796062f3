import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { FleetError } from "../errors.js";
import type { Instance } from "../model/types.js";
import type { FleetStore, QueryPage, RepositoryQuery } from "../plugins/store.js";
import { sampleInstance } from "./store-samples.js";

export interface QueryCapability {
  /**
   * Whether `instances.query` / `servers.query` must exist. `true` fails when absent; `false` asserts
   * it is absent; undefined detects it, and the query tests skip with a reason when absent.
   */
  query?: boolean;
  /** Same for the `templates` repository. */
  templates?: boolean;
  /** Same for the `keys` repository (managed API keys). */
  keys?: boolean;
  /** Same for the `records` repository (catalog entries, id mappings). */
  records?: boolean;
}

async function allPages(store: FleetStore, q: Omit<RepositoryQuery, "cursor">): Promise<Instance[][]> {
  const pages: Instance[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page: QueryPage<Instance> = await store.instances.query!({ ...q, ...(cursor ? { cursor } : {}) });
    pages.push(page.items);
    if (!page.nextCursor) return pages;
    cursor = page.nextCursor;
  }
  throw new Error("query never ended");
}

/**
 * The gate of an optional capability's tests: with `declared` true the member must exist, false it
 * must not (the tests skip), undefined detects it (they skip with a reason when absent).
 */
export function capabilityGate(
  declared: boolean | undefined,
  has: () => boolean,
  names: { declared: string; member: string; what: string },
): (t: { skip: (note?: string) => void }) => boolean {
  return (t) => {
    const present = has();
    if (declared === true)
      expect(present, `declared { ${names.declared}: true } but ${names.member} is missing`).toBe(true);
    if (declared === false) {
      expect(present, `declared { ${names.declared}: false } but ${names.member} exists`).toBe(false);
      t.skip(`store declares no ${names.what}`);
      return false;
    }
    if (!present) {
      t.skip(`store has no ${names.what} (declare { ${names.declared}: false } to acknowledge)`);
      return false;
    }
    return true;
  };
}

/** The optional `query` capability (keyset pages, filters), gated by capability, never silently skipped. */
export function queryConformance(get: () => FleetStore, cap: QueryCapability): void {
  const gate = capabilityGate(cap.query, () => typeof get().instances.query === "function", {
    declared: "query",
    member: "instances.query",
    what: "query capability",
  });

  it("query: pages in (name, id) order without gaps or repeats", async (t) => {
    if (!gate(t)) return;
    const store = get();
    const prefix = `qp-${randomUUID().slice(0, 6)}-`;
    const made: Instance[] = [];
    for (const n of ["c", "a", "e", "b", "d"]) {
      made.push(await store.instances.create(sampleInstance({ name: `${prefix}${n}` })));
    }
    // a name is unique among live documents only: a deleted one may share it (ties order by id)
    made.push(await store.instances.create(sampleInstance({ name: `${prefix}a`, desired_state: "deleted" })));
    const pages = await allPages(store, { filter: { namePrefix: prefix }, limit: 2 });
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
    const flat = pages.flat();
    const expected = [...made].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.id < y.id ? -1 : 1));
    expect(flat.map((d) => d.id)).toEqual(expected.map((d) => d.id));
    expect(flat[0]).toEqual(expected[0]);
    const counted = await store.instances.query!({ filter: { namePrefix: prefix }, limit: 1, count: true });
    expect(counted.total).toBe(6);
    expect(counted.items).toHaveLength(1);
  });

  it("query: filters by status, desired state, server, name prefix and label", async (t) => {
    if (!gate(t)) return;
    const store = get();
    const prefix = `qf-${randomUUID().slice(0, 6)}-`;
    const server = randomUUID();
    const spec = (labels?: Record<string, string>) => ({
      type: "docker",
      image: "mcp/x:1",
      port: 8000,
      ...(labels ? { labels } : {}),
    });
    const a = await store.instances.create(
      sampleInstance({ name: `${prefix}a`, status: "running", server_spec_id: server, json_spec: spec({ team: "x" }) }),
    );
    const b = await store.instances.create(
      sampleInstance({ name: `${prefix}b`, status: "failed", json_spec: spec({ team: "y" }) }),
    );
    const c = await store.instances.create(
      sampleInstance({ name: `${prefix}c`, status: "running", desired_state: "stopped", json_spec: spec() }),
    );
    const ids = async (filter: RepositoryQuery["filter"]) =>
      (await store.instances.query!({ filter: { namePrefix: prefix, ...filter }, limit: 100 })).items.map((d) => d.id);
    expect(await ids({})).toEqual([a.id, b.id, c.id]);
    expect(await ids({ status: "running" })).toEqual([a.id, c.id]);
    expect(await ids({ desiredState: "stopped" })).toEqual([c.id]);
    expect(await ids({ serverId: server })).toEqual([a.id]);
    expect(await ids({ label: { key: "team" } })).toEqual([a.id, b.id]);
    expect(await ids({ label: { key: "team", value: "y" } })).toEqual([b.id]);
    expect(await ids({ status: "running", label: { key: "team", value: "y" } })).toEqual([]);
    // a prefix is literal: LIKE wildcards in it match nothing special
    expect(await ids({ namePrefix: `${prefix.slice(0, -1)}%` })).toEqual([]);
    await store.instances.delete(b.id);
    expect(await ids({})).toEqual([a.id, c.id]);
  });

  it("query: refuses a bad limit or a foreign cursor with SPEC_INVALID", async (t) => {
    if (!gate(t)) return;
    const store = get();
    for (const q of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { limit: 10, cursor: "not-a-cursor" }]) {
      const err = await store.instances.query!(q as RepositoryQuery).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(FleetError.isInstance(err), `query ${JSON.stringify(q)} should fail`).toBe(true);
      expect((err as FleetError).code).toBe("SPEC_INVALID");
    }
  });

  it("servers: query pages too", async (t) => {
    if (!gate(t)) return;
    const store = get();
    expect(typeof store.servers.query).toBe("function");
    const page = await store.servers.query!({ limit: 1000 });
    expect(Array.isArray(page.items)).toBe(true);
  });
}
