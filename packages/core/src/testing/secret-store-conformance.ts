import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FleetError } from "../errors.js";
import type { SecretRef, SecretStore } from "../plugins/secret-store.js";

/** A secret a read-only store must hold when the suite creates it. */
export interface SecretSeed {
  ref: SecretRef;
  value: string;
}

type Made = SecretStore | { store: SecretStore; cleanup?: () => unknown | Promise<unknown> };
export type SecretStoreFactory = () => Made | Promise<Made>;

export interface SecretStoreConformanceOptions {
  /**
   * Creates a store that already holds `seed` (required to test reads of read-only stores, those
   * with `capabilities.write === false`, such as `envSecrets`).
   */
  seeded?: (seed: SecretSeed[]) => Made | Promise<Made>;
}

const uid = () => randomBytes(4).toString("hex");
const CANARY = `canary-${uid()}-value`;

/** Values every store must keep byte for byte. */
export const SECRET_SAMPLE_VALUES: Record<string, string> = {
  plain: "s3cr3t",
  unicode: "pässwörd-密码-🔑",
  newlines: "line1\nline2\r\nline3\n",
  empty: "",
  large: "x".repeat(64 * 1024 - 7) + "-end-ok",
  json: '{"a":"b","c":[1,2]}',
  spaces: "  padded  ",
};

async function open(make: () => Made | Promise<Made>): Promise<{ store: SecretStore; done: () => Promise<void> }> {
  const made = await make();
  const store =
    "store" in made && typeof (made as { store?: unknown }).store === "object"
      ? (made as { store: SecretStore }).store
      : (made as SecretStore);
  const cleanup = "store" in made ? (made as { cleanup?: () => unknown }).cleanup : undefined;
  return {
    store,
    done: async () => {
      await store.close();
      await cleanup?.();
    },
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<FleetError> {
  try {
    await p;
  } catch (err) {
    expect(FleetError.isInstance(err), `expected a FleetError ${code}, got ${String(err)}`).toBe(true);
    expect((err as FleetError).code).toBe(code);
    return err as FleetError;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

const refText = (r: SecretRef) => `secret_ref:${r.scope}:${r.key}`;

/**
 * The SecretStore v1 conformance suite. Call it from a test file:
 * `secretStoreConformance("memory", () => memorySecrets())`. Groups are chosen by the store's
 * capabilities (write, list, deleteScope); read-only stores are read through `options.seeded`.
 */
export function secretStoreConformance(
  name: string,
  factory: SecretStoreFactory,
  options: SecretStoreConformanceOptions = {},
): void {
  describe(`SecretStore conformance: ${name}`, () => {
    it("declares specification v1, a name, close() and asyncDispose (idempotent)", async () => {
      const { store, done } = await open(factory);
      expect(store.specificationVersion).toBe("v1");
      expect(typeof store.name).toBe("string");
      expect(store.name.length).toBeGreaterThan(0);
      expect(typeof store[Symbol.asyncDispose]).toBe("function");
      await done();
      await store.close();
      await store[Symbol.asyncDispose]();
    });

    it("a missing secret is SECRET_NOT_FOUND naming the ref", async () => {
      const { store, done } = await open(factory);
      try {
        const ref = { scope: `conf_${uid()}`, key: "MISSING_KEY" };
        const err = await expectCode(store.get(ref), "SECRET_NOT_FOUND");
        expect(err.message).toContain(refText(ref));
        expect(err.isRetryable).toBe(false);
      } finally {
        await done();
      }
    });

    it("refuses malformed refs with a FleetError (SPEC_INVALID or SECRET_NOT_FOUND, never a TypeError)", async () => {
      const { store, done } = await open(factory);
      try {
        for (const bad of [{ scope: "a:b", key: "k" }, { scope: "s", key: "" }, { scope: "s p", key: "k" }, null]) {
          let caught: unknown;
          try {
            await store.get(bad as SecretRef);
          } catch (err) {
            caught = err;
          }
          expect(FleetError.isInstance(caught), `get(${JSON.stringify(bad)}) must reject with a FleetError`).toBe(true);
          expect(["SPEC_INVALID", "SECRET_NOT_FOUND"]).toContain((caught as FleetError).code);
        }
      } finally {
        await done();
      }
    });

    it("rejects a call whose signal is already aborted (ABORTED when it is a FleetError)", async () => {
      const { store, done } = await open(factory);
      try {
        const ac = new AbortController();
        ac.abort();
        let caught: unknown;
        try {
          await store.get({ scope: "s", key: "k" }, { signal: ac.signal });
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeDefined();
        if (FleetError.isInstance(caught)) expect(caught.code).toBe("ABORTED");
      } finally {
        await done();
      }
    });

    describe("writes", () => {
      it("write capability is declared (write: false means read-only)", async () => {
        const { store, done } = await open(factory);
        expect(typeof (store.capabilities?.write ?? true)).toBe("boolean");
        await done();
      });

      it("set then get; overwrite; delete is idempotent; deleted reads are SECRET_NOT_FOUND without the value", async () => {
        const { store, done } = await open(factory);
        try {
          if (store.capabilities?.write === false) {
            const ref = { scope: `conf_${uid()}`, key: "K" };
            await expectCode(store.set(ref, CANARY), "SECRET_STORE_READ_ONLY");
            await expectCode(store.delete(ref), "SECRET_STORE_READ_ONLY");
            if (store.deleteScope) await expectCode(store.deleteScope(ref.scope), "SECRET_STORE_READ_ONLY");
            return;
          }
          const ref = { scope: `conf_${uid()}`, key: "API_KEY" };
          await store.set(ref, "first");
          expect(await store.get(ref)).toBe("first");
          await store.set(ref, CANARY);
          expect(await store.get(ref)).toBe(CANARY);
          await store.delete(ref);
          const err = await expectCode(store.get(ref), "SECRET_NOT_FOUND");
          expect(err.message).toContain(refText(ref));
          expect(err.message).not.toContain(CANARY);
          expect(JSON.stringify(err.toJSON())).not.toContain(CANARY);
          await store.delete(ref);
          await store.delete({ scope: `conf_${uid()}`, key: "NEVER_SET" });
        } finally {
          await done();
        }
      });

      it("keeps unicode, newlines, empty strings and 64 KiB values byte for byte", async () => {
        const { store, done } = await open(factory);
        try {
          if (store.capabilities?.write === false) return;
          const scope = `conf_${uid()}`;
          for (const [key, value] of Object.entries(SECRET_SAMPLE_VALUES)) await store.set({ scope, key }, value);
          for (const [key, value] of Object.entries(SECRET_SAMPLE_VALUES))
            expect(await store.get({ scope, key })).toBe(value);
        } finally {
          await done();
        }
      });

      it("scopes are isolated", async () => {
        const { store, done } = await open(factory);
        try {
          if (store.capabilities?.write === false) return;
          const a = `conf_${uid()}`;
          const b = `conf_${uid()}`;
          await store.set({ scope: a, key: "K" }, "value-a");
          await store.set({ scope: b, key: "K" }, "value-b");
          expect(await store.get({ scope: a, key: "K" })).toBe("value-a");
          expect(await store.get({ scope: b, key: "K" })).toBe("value-b");
          await store.delete({ scope: a, key: "K" });
          await expectCode(store.get({ scope: a, key: "K" }), "SECRET_NOT_FOUND");
          expect(await store.get({ scope: b, key: "K" })).toBe("value-b");
        } finally {
          await done();
        }
      });

      it("concurrent sets all land", async () => {
        const { store, done } = await open(factory);
        try {
          if (store.capabilities?.write === false) return;
          const scope = `conf_${uid()}`;
          const keys = Array.from({ length: 25 }, (_, i) => `K${i}`);
          await Promise.all(keys.map((key) => store.set({ scope, key }, `v-${key}`)));
          const values = await Promise.all(keys.map((key) => store.get({ scope, key })));
          expect(values).toEqual(keys.map((k) => `v-${k}`));
          await Promise.all(keys.map((_, i) => store.set({ scope, key: "SAME" }, `same-${i}`)));
          expect(await store.get({ scope, key: "SAME" })).toMatch(/^same-\d+$/);
        } finally {
          await done();
        }
      });

      it("list(scope) returns the keys sorted (when supported)", async () => {
        const { store, done } = await open(factory);
        try {
          if (store.capabilities?.write === false || !store.list) return;
          expect(store.capabilities?.list).not.toBe(false);
          const scope = `conf_${uid()}`;
          for (const key of ["zeta", "Alpha", "beta.2", "beta_1", "A-1"]) await store.set({ scope, key }, "v");
          expect(await store.list(scope)).toEqual(["A-1", "Alpha", "beta.2", "beta_1", "zeta"]);
          expect(await store.list(`conf_${uid()}`)).toEqual([]);
          await store.delete({ scope, key: "Alpha" });
          expect(await store.list(scope)).toEqual(["A-1", "beta.2", "beta_1", "zeta"]);
        } finally {
          await done();
        }
      });

      it("deleteScope removes only that scope and is idempotent (when supported)", async () => {
        const { store, done } = await open(factory);
        try {
          if (store.capabilities?.write === false || !store.deleteScope) return;
          const a = `conf_${uid()}`;
          const b = `conf_${uid()}`;
          await store.set({ scope: a, key: "K1" }, "1");
          await store.set({ scope: a, key: "K2" }, "2");
          await store.set({ scope: b, key: "K1" }, "b");
          await store.deleteScope(a);
          await expectCode(store.get({ scope: a, key: "K1" }), "SECRET_NOT_FOUND");
          await expectCode(store.get({ scope: a, key: "K2" }), "SECRET_NOT_FOUND");
          expect(await store.get({ scope: b, key: "K1" })).toBe("b");
          await store.deleteScope(a);
          if (store.list) expect(await store.list(a)).toEqual([]);
        } finally {
          await done();
        }
      });
    });

    describe("seeded reads", () => {
      it("reads every seeded value byte for byte (read-only stores through options.seeded)", async () => {
        const scope = `conf_${uid()}`;
        const seed: SecretSeed[] = Object.entries(SECRET_SAMPLE_VALUES).map(([key, value]) => ({
          ref: { scope, key },
          value,
        }));
        let made: { store: SecretStore; done: () => Promise<void> };
        if (options.seeded) made = await open(() => (options.seeded as NonNullable<typeof options.seeded>)(seed));
        else {
          made = await open(factory);
          if (made.store.capabilities?.write === false) {
            await made.done();
            throw new Error(`${name} is read-only: pass options.seeded so the suite can read seeded secrets`);
          }
          for (const s of seed) await made.store.set(s.ref, s.value);
        }
        try {
          for (const s of seed) expect(await made.store.get(s.ref)).toBe(s.value);
          await expectCode(made.store.get({ scope, key: "NOT_SEEDED" }), "SECRET_NOT_FOUND");
        } finally {
          await made.done();
        }
      });
    });
  });
}
