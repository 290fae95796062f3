import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FleetError } from "../errors.js";
import { recordingLogger } from "../logger.js";
import {
  BoundedMemo,
  checkSecretName,
  checkSecretRef,
  checkSubscribe,
  decodeFleetEvent,
  errorMessage,
  isLogger,
  optionsError,
  parseOptions,
  pause,
  RetryingPublisher,
  secretRefText,
  subscriptionOf,
  withTimeout,
} from "./index.js";

const schema = z.object({ url: z.string().regex(/^redis:\/\//, "must be a redis:// URL"), n: z.number() }).strict();

function thrown(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (err) {
    if (FleetError.isInstance(err)) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("parseOptions", () => {
  it("names the adapter and the first bad option, lists every issue, never echoes values", () => {
    const err = thrown(() => parseOptions("bus-x", schema, { url: "http://user:hunter2@h", n: "1" }));
    expect(err.code).toBe("OPTIONS_INVALID");
    expect(err.message).toBe('[mcpfleet/bus-x] option "url" must be a redis:// URL (+1 more)');
    expect(err.path).toBe("url");
    expect(err.issues?.map((i) => i.path)).toEqual(["url", "n"]);
    expect(JSON.stringify(err.toJSON())).not.toContain("hunter2");
  });

  it("unknown keys are 'not known'; undefined is {}; a non-object is refused; a subject replaces 'option'", () => {
    expect(thrown(() => parseOptions("a", schema, { url: "redis://x", n: 1, extra: 1 })).message).toBe(
      '[mcpfleet/a] option "extra" is not known',
    );
    expect(thrown(() => parseOptions("a", z.object({ x: z.number() }), undefined)).message).toMatch(
      /^\[mcpfleet\/a\] option "x" /,
    );
    expect(thrown(() => parseOptions("a", schema, "redis://x")).message).toBe("[mcpfleet/a] options must be an object");
    expect(
      thrown(() => parseOptions("a", schema, { url: 1, n: 1 }, { subject: "legacy source option" })).message,
    ).toMatch(/^\[mcpfleet\/a\] legacy source option "url" /);
    expect(parseOptions("a", schema, { url: "redis://x", n: 1 })).toEqual({ url: "redis://x", n: 1 });
    expect(optionsError("a", "", "is invalid").message).toBe('[mcpfleet/a] option "(options)" is invalid');
  });

  it("isLogger accepts pino-compatible loggers only", () => {
    expect(isLogger(recordingLogger())).toBe(true);
    expect(isLogger({})).toBe(false);
    expect(isLogger(null)).toBe(false);
  });
});

describe("secret refs", () => {
  it("accepts names of [A-Za-z0-9_.-]+ but not . or ..; refuses non-objects; never echoes", () => {
    expect(checkSecretRef({ scope: "instance_1", key: "API.KEY-2" })).toEqual({
      scope: "instance_1",
      key: "API.KEY-2",
    });
    for (const bad of ["..", ".", "a/b", "", "x y"]) {
      const err = thrown(() => checkSecretName(bad, "scope"));
      expect(err.code).toBe("SPEC_INVALID");
      expect(err.path).toBe("scope");
    }
    expect(thrown(() => checkSecretRef({ scope: "s", key: "../etc" })).path).toBe("key");
    expect(thrown(() => checkSecretRef(null as never)).path).toBe("ref");
    expect(secretRefText({ scope: "s", key: "k" })).toBe("secret_ref:s:k");
  });
});

describe("timing helpers", () => {
  it("pause resolves early on abort and never rejects", async () => {
    const ctrl = new AbortController();
    const t0 = Date.now();
    const p = pause(10_000, ctrl.signal);
    ctrl.abort();
    await p;
    expect(Date.now() - t0).toBeLessThan(1000);
    await pause(1, AbortSignal.abort());
  });

  it("withTimeout falls back after ms; errorMessage reads anything thrown", async () => {
    expect(await withTimeout(new Promise(() => {}), 5, "late")).toBe("late");
    expect(await withTimeout(Promise.resolve("now"), 1000, "late")).toBe("now");
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage(42)).toBe("42");
  });
});

describe("BoundedMemo", () => {
  it("keeps at most max entries, evicting the oldest insertion", () => {
    const m = new BoundedMemo<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    m.set("a", 3); // update: no eviction
    expect(m.size).toBe(2);
    m.set("c", 4);
    expect(m.get("a")).toBeUndefined();
    expect(m.get("b")).toBe(2);
    let calls = 0;
    expect(m.getOrSet("c", () => ++calls)).toBe(4);
    expect(
      m.getOrSet(
        "d",
        () => ++calls,
        () => false,
      ),
    ).toBe(1);
    expect(m.get("d")).toBeUndefined();
    expect(() => new BoundedMemo(0)).toThrow(RangeError);
  });
});

describe("bus plumbing", () => {
  const event = {
    specversion: "1.0",
    id: "e1",
    type: "MCPServerInstanceCreated",
    source: "t",
    subject: "i1",
    time: "2026-01-01T00:00:00Z",
    data: {},
  };

  it("decodeFleetEvent checks JSON and shape", () => {
    expect(decodeFleetEvent(JSON.stringify(event), "entry", "e").id).toBe("e1");
    expect(thrown(() => decodeFleetEvent("{", "entry", "e")).message).toBe("entry is not JSON");
    expect(thrown(() => decodeFleetEvent('{"id":"x"}', "entry", "e")).message).toBe(
      "entry is not a CloudEvents FleetEvent",
    );
  });

  it("checkSubscribe refuses closed buses, bad handlers and bad groups", () => {
    const closed = new FleetError("CLOSED", "closed");
    expect(() =>
      checkSubscribe(
        "b",
        () => closed,
        {},
        () => {},
      ),
    ).toThrow(closed);
    expect(thrown(() => checkSubscribe("b", () => undefined, {}, "x" as never)).path).toBe("handler");
    expect(
      thrown(() =>
        checkSubscribe(
          "b",
          () => undefined,
          { group: "a b" },
          () => {},
        ),
      ).message,
    ).toBe('[mcpfleet/b] option "group" must match [A-Za-z0-9_.:-]{1,200}');
  });

  it("subscriptionOf stops once, on close or abort", async () => {
    let stops = 0;
    const ctrl = new AbortController();
    const sub = subscriptionOf(async () => void stops++, ctrl.signal);
    ctrl.abort();
    await sub.close();
    await sub[Symbol.asyncDispose]();
    expect(stops).toBe(1);
  });

  it("RetryingPublisher retries until success, fails past the deadline, and bounds what waits", async () => {
    const logger = recordingLogger();
    const pub = new RetryingPublisher({
      adapter: "b",
      broker: "B",
      maxBuffered: 1,
      publishTimeoutMs: 300,
      logger,
      closed: () => undefined,
    });
    let attempts = 0;
    await pub.publish(event as never, undefined, {
      encode: JSON.stringify,
      send: async () => {
        if (++attempts < 3) throw new Error("down");
      },
    });
    expect(attempts).toBe(3);
    expect(logger.lines.filter((l) => l.msg === "publish failed, retrying")).toHaveLength(2);

    let release!: () => void;
    const stuck = pub.publish(event as never, undefined, {
      encode: JSON.stringify,
      send: () => new Promise<void>((r) => (release = r)),
    });
    await pause(5);
    expect(pub.buffered).toBe(1);
    const full = await pub
      .publish(event as never, undefined, { encode: JSON.stringify, send: async () => {} })
      .catch((e) => e);
    expect(full.code).toBe("BUFFER_FULL");
    release();
    await stuck;

    const failed = await pub
      .publish(event as never, undefined, {
        encode: JSON.stringify,
        send: async () => {
          throw new Error("still down");
        },
      })
      .catch((e) => e);
    expect(failed.code).toBe("BUS_UNAVAILABLE");
    expect(failed.message).toBe("[mcpfleet/b] publish of event e1 failed: still down");
    expect(pub.buffered).toBe(0);
  });
});
