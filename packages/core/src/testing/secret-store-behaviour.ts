import { afterEach, beforeEach, expect, it } from "vitest";
import { FleetError } from "../errors.js";
import type { SecretStore } from "../plugins/secret-store.js";

/**
 * Key/value behaviour a remote secret store shows against its protocol-faithful fake and against the
 * real server alike (scopes are unique per test): overwrite and list order, values byte for byte,
 * SECRET_NOT_FOUND naming the ref, idempotent deletes, racing writers, SPEC_INVALID refs. Call it
 * inside a `describe`; `make` returns a fresh store per test.
 */
export function secretStoreBehaviour(make: () => Promise<SecretStore> | SecretStore): void {
  let store: SecretStore;
  let scope: string;
  beforeEach(async () => {
    store = await make();
    scope = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  });
  afterEach(async () => {
    await store.deleteScope?.(scope);
    await store.close();
  });

  it("sets, gets, overwrites and lists keys of a scope", async () => {
    await store.set({ scope, key: "B" }, "two");
    await store.set({ scope, key: "A" }, "one");
    expect(await store.get({ scope, key: "A" })).toBe("one");
    await store.set({ scope, key: "A" }, "uno");
    expect(await store.get({ scope, key: "A" })).toBe("uno");
    expect(await store.list?.(scope)).toEqual(["A", "B"]);
  });

  it("keeps values byte for byte (multi-line, unicode, reference-like)", async () => {
    const value = 'line1\nline2 ✓ \u0024{OTHER} "quoted" \\ end ';
    await store.set({ scope, key: "PEM" }, value);
    expect(await store.get({ scope, key: "PEM" })).toBe(value);
  });

  it("throws SECRET_NOT_FOUND naming the ref for a missing key or scope", async () => {
    await expect(store.get({ scope, key: "NOPE" })).rejects.toMatchObject({
      code: "SECRET_NOT_FOUND",
      message: expect.stringContaining(`secret_ref:${scope}:NOPE`),
    });
    await store.set({ scope, key: "A" }, "1");
    const err = await store.get({ scope, key: "B" }).catch((e: unknown) => e);
    expect(FleetError.isInstance(err) && err.code).toBe("SECRET_NOT_FOUND");
  });

  it("deletes one key idempotently and leaves the others", async () => {
    await store.set({ scope, key: "A" }, "1");
    await store.set({ scope, key: "B" }, "2");
    await store.delete({ scope, key: "A" });
    await store.delete({ scope, key: "A" });
    await expect(store.get({ scope, key: "A" })).rejects.toMatchObject({ code: "SECRET_NOT_FOUND" });
    expect(await store.get({ scope, key: "B" })).toBe("2");
    expect(await store.list?.(scope)).toEqual(["B"]);
  });

  it("deleteScope removes every key and is idempotent; the scope can be reused", async () => {
    await store.set({ scope, key: "A" }, "1");
    await store.set({ scope, key: "B" }, "2");
    await store.deleteScope?.(scope);
    await store.deleteScope?.(scope);
    expect(await store.list?.(scope)).toEqual([]);
    await expect(store.get({ scope, key: "B" })).rejects.toMatchObject({ code: "SECRET_NOT_FOUND" });
    await store.set({ scope, key: "C" }, "3");
    expect(await store.list?.(scope)).toEqual(["C"]);
  });

  it("loses no update when writers race on one scope", async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `K${i}`);
    await Promise.all(keys.map((key) => store.set({ scope, key }, `v-${key}`)));
    expect(await store.list?.(scope)).toEqual(keys);
    for (const key of keys) expect(await store.get({ scope, key })).toBe(`v-${key}`);
  });

  it("refuses malformed refs with SPEC_INVALID", async () => {
    await expect(store.get({ scope: "../etc", key: "A" })).rejects.toMatchObject({ code: "SPEC_INVALID" });
    await expect(store.set({ scope, key: "a/b" }, "x")).rejects.toMatchObject({ code: "SPEC_INVALID" });
  });
}
