import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import type { FleetStore, LeaseStore } from "../plugins/store.js";
import { codeOf, sampleInstance } from "./store-samples.js";

export interface LeaseCapability {
  /** Whether `store.leases` must exist (`true` fails when absent, `false` asserts it is absent). */
  leases?: boolean;
  /** Opens a second handle on the same data: leases and fences must hold across handles. */
  reopen?: () => FleetStore | Promise<FleetStore>;
}

/** Waits (polling, no timing assertion) until the store's own clock says the lease on `key` expired. */
async function expired(leases: LeaseStore, key: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await leases.list()).some((l) => l.key === key && !l.live)) {
    if (Date.now() > deadline) throw new Error(`lease ${key} did not expire within 30 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The optional `leases` capability: one holder at a time, fencing tokens, fenced writes refused. */
export function leasesConformance(get: () => FleetStore, cap: LeaseCapability): void {
  const gate = (t: { skip: (note?: string) => void }): LeaseStore | undefined => {
    const leases = get().leases;
    if (cap.leases === true) expect(leases, "declared { leases: true } but store.leases is missing").toBeDefined();
    if (cap.leases === false) expect(leases, "declared { leases: false } but store.leases exists").toBeUndefined();
    if (!leases) t.skip("store has no leases (declare { leases: false } to acknowledge)");
    return leases;
  };

  it("leases: one holder at a time; the holder renews with the same token", async (t) => {
    const leases = gate(t);
    if (!leases) return;
    const key = randomUUID();
    const a = await leases.acquire(key, "wa", 60_000);
    expect(a).toMatchObject({ key, holder: "wa", token: 1 });
    expect(Date.parse(a!.expiresAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await leases.acquire(key, "wb", 60_000)).toBeUndefined();
    expect((await leases.acquire(key, "wa", 60_000))?.token).toBe(1);
    const renewed = await leases.renew("wa", [{ key, token: 1 }], 60_000);
    expect(renewed.map((l) => [l.key, l.token])).toEqual([[key, 1]]);
    expect(await leases.renew("wb", [{ key, token: 1 }], 60_000)).toEqual([]);
    expect((await leases.list()).find((l) => l.key === key)).toMatchObject({ holder: "wa", token: 1, live: true });
    expect(await codeOf(leases.acquire(key, "wa", 0))).toBe("OPTIONS_INVALID");
  });

  it("leases: concurrent acquires of a free key have exactly one winner", async (t) => {
    const leases = gate(t);
    if (!leases) return;
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => leases.acquire(key, `w${i}`, 60_000)));
    const winners = results.filter((r) => r !== undefined);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.token).toBe(1);
  });

  it("leases: an expired lease is taken over with a higher token; the old holder is fenced", async (t) => {
    const leases = gate(t);
    if (!leases) return;
    const store = get();
    const inst = await store.instances.create(sampleInstance());
    const old = (await leases.acquire(inst.id, "wa", 50))!;
    const fenceA = { key: inst.id, token: old.token };
    const byA = await store.instances.update({ ...inst, status: "provisioning" }, { fence: fenceA });
    await expired(leases, inst.id);
    const taken = await leases.acquire(inst.id, "wb", 60_000);
    expect(taken).toMatchObject({ holder: "wb", token: old.token + 1 });
    // the old holder can neither renew nor write, and its refused write changes nothing
    expect(await leases.renew("wa", [fenceA], 60_000)).toEqual([]);
    expect(await codeOf(store.instances.update({ ...byA, status: "starting" }, { fence: fenceA }))).toBe("FENCED");
    expect(await codeOf(store.instances.delete(inst.id, { fence: fenceA }))).toBe("FENCED");
    expect(await store.instances.get(inst.id)).toEqual(byA);
    const byB = await store.instances.update(
      { ...byA, status: "starting" },
      { fence: { key: inst.id, token: taken!.token } },
    );
    expect(byB.revision).toBe(byA.revision + 1);
    // a stale revision with a current fence is still a CONFLICT
    expect(await codeOf(store.instances.update(byA, { fence: { key: inst.id, token: taken!.token } }))).toBe(
      "CONFLICT",
    );
    if (cap.reopen) {
      const other = await cap.reopen();
      try {
        expect(await other.leases?.acquire(inst.id, "wa", 60_000)).toBeUndefined();
        expect(await codeOf(other.instances.update({ ...byB, status: "running" }, { fence: fenceA }))).toBe("FENCED");
      } finally {
        await other.close();
      }
    }
  });

  it("leases: release lets another holder in at once; only the holder may release", async (t) => {
    const leases = gate(t);
    if (!leases) return;
    const key = randomUUID();
    const a = (await leases.acquire(key, "wa", 60_000))!;
    expect(await leases.release("wb", { key, token: a.token })).toBe(false);
    expect(await leases.acquire(key, "wb", 60_000)).toBeUndefined();
    expect(await leases.release("wa", { key, token: a.token })).toBe(true);
    expect((await leases.acquire(key, "wb", 60_000))?.token).toBe(a.token + 1);
    expect(await leases.release("wa", { key, token: a.token })).toBe(false);
  });

  it("leases: renew returns only the leases still held; deleting an instance drops its lease", async (t) => {
    const leases = gate(t);
    if (!leases) return;
    const store = get();
    const [k1, k2] = [randomUUID(), randomUUID()];
    await leases.acquire(k1, "wa", 60_000);
    await leases.acquire(k2, "wb", 60_000);
    const renewed = await leases.renew(
      "wa",
      [
        { key: k1, token: 1 },
        { key: k2, token: 1 },
        { key: randomUUID(), token: 1 },
      ],
      60_000,
    );
    expect(renewed.map((l) => l.key)).toEqual([k1]);
    const inst = await store.instances.create(sampleInstance());
    const lease = (await leases.acquire(inst.id, "wa", 60_000))!;
    expect(await store.instances.delete(inst.id, { fence: { key: inst.id, token: lease.token } })).toBe(true);
    expect((await leases.list()).some((l) => l.key === inst.id)).toBe(false);
  });
}
