import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FleetError } from "../errors.js";
import { backoffDelay, deferred, sleep } from "./async.js";
import { sha256Hex, stableStringify } from "./stable-json.js";

describe("stableStringify", () => {
  it("sorts keys at every level, drops undefined, matches JSON.parse", () => {
    expect(stableStringify({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(stableStringify([undefined, Number.NaN, "x"])).toBe('[null,null,"x"]');
    expect(stableStringify(undefined)).toBe("null");
    expect(stableStringify(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
    const cyc: Record<string, unknown> = { a: 1 };
    cyc.self = cyc;
    expect(stableStringify(cyc)).toBe('{"a":1,"self":"[Circular]"}');
    expect(stableStringify(JSON.parse('{"__proto__":1,"a":2}'))).toBe('{"__proto__":1,"a":2}');
  });

  it("property: equal JSON values give equal strings whatever the key order", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const s = stableStringify(v);
        expect(JSON.parse(s)).toEqual(JSON.parse(JSON.stringify(v)));
        const reorder = (x: unknown): unknown =>
          Array.isArray(x)
            ? x.map(reorder)
            : x && typeof x === "object"
              ? Object.fromEntries(
                  Object.entries(x)
                    .reverse()
                    .map(([k, y]) => [k, reorder(y)]),
                )
              : x;
        expect(stableStringify(reorder(v))).toBe(s);
      }),
    );
  });
});

describe("sha256Hex", () => {
  it("hashes strings and bytes", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(new TextEncoder().encode("abc"))).toBe(sha256Hex("abc"));
  });
});

describe("backoffDelay", () => {
  it("is exponential, capped, and full-jittered in [0, cap]", () => {
    const none = { baseMs: 100, maxMs: 5000, jitter: "none" as const };
    expect([0, 1, 2, 3, 6, 100, 5000].map((a) => backoffDelay(a, none))).toEqual([
      100, 200, 400, 800, 5000, 5000, 5000,
    ]);
    expect(backoffDelay(-3, none)).toBe(100);
    expect(backoffDelay(Number.NaN, none)).toBe(100);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 5000, random: () => 0.5 })).toBe(400);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 5000, random: () => 0 })).toBe(0);
    expect(backoffDelay(2, { baseMs: 100, jitter: 0.5, random: () => 1 })).toBe(200);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100000 }),
        (a, base, max) => {
          const d = backoffDelay(a, { baseMs: base, maxMs: max });
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(Math.min(max, base * 2 ** Math.min(a, 1023)));
        },
      ),
    );
  });
});

describe("sleep and deferred", () => {
  it("sleep resolves; abort rejects with FleetError ABORTED (already aborted or later)", async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    const ac = new AbortController();
    ac.abort(new Error("why"));
    await expect(sleep(10, ac.signal)).rejects.toSatisfy(
      (e: unknown) => FleetError.isInstance(e) && e.code === "ABORTED",
    );
    const ac2 = new AbortController();
    const p = sleep(60_000, ac2.signal);
    ac2.abort();
    await expect(p).rejects.toSatisfy((e: unknown) => FleetError.isInstance(e) && e.code === "ABORTED");
  });

  it("deferred exposes resolve/reject and settled", async () => {
    const d = deferred<number>();
    expect(d.settled).toBe(false);
    d.resolve(7);
    expect(d.settled).toBe(true);
    await expect(d.promise).resolves.toBe(7);
    const r = deferred();
    r.reject(new Error("x"));
    await expect(r.promise).rejects.toThrow("x");
  });
});
