import { describe, expect, it } from "vitest";
import { FleetError } from "../errors.js";
import { recordingLogger } from "../logger.js";
import { adapterLogger, DurableBusKit, noInstance, runtimeClosed, writableSecretStore } from "./index.js";

const busOptions = { name: "b1", maxBufferedPublishes: 10, publishTimeoutMs: 1000 };
const consumer = (log: string[], failStart = false) => ({
  start: async () => {
    log.push("start");
    if (failStart) throw new Error("broker said no");
  },
  stop: async () => {
    log.push("stop");
  },
});

describe("DurableBusKit", () => {
  it("starts the consumer of a subscription and stops it once (subscription, then close)", async () => {
    const kit = new DurableBusKit("bus-x", "X", busOptions);
    const log: string[] = [];
    const sub = await kit.subscribe(
      { group: "g" },
      async () => {},
      () => consumer(log),
    );
    await sub.close();
    await sub.close();
    expect(await kit.close()).toBe(true);
    expect(log).toEqual(["start", "stop"]);
  });

  it("a start that fails stops the consumer and is BUS_UNAVAILABLE; create's own error passes as it is", async () => {
    const kit = new DurableBusKit("bus-x", "X", busOptions);
    const log: string[] = [];
    const err = await kit
      .subscribe(
        {},
        async () => {},
        () => consumer(log, true),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "BUS_UNAVAILABLE",
      message: "[mcpfleet/bus-x] subscribe failed: broker said no",
    });
    expect(log).toEqual(["start", "stop"]);
    const own = new FleetError("TIMEOUT", "no broker");
    await expect(
      kit.subscribe(
        {},
        async () => {},
        () => Promise.reject(own),
      ),
    ).rejects.toBe(own);
  });

  it("close stops running consumers once; afterwards subscribe and publish are CLOSED", async () => {
    const logger = recordingLogger();
    const kit = new DurableBusKit("bus-x", "X", { ...busOptions, logger });
    kit.logger.info({}, "up");
    expect(logger.lines[0]?.bindings).toEqual({ bus: "b1" });
    const log: string[] = [];
    await kit.subscribe(
      {},
      async () => {},
      () => consumer(log),
    );
    expect(await kit.close()).toBe(true);
    expect(await kit.close()).toBe(false);
    expect(log).toEqual(["start", "stop"]);
    expect(kit.closed).toBe(true);
    await expect(
      kit.subscribe(
        {},
        async () => {},
        () => consumer(log),
      ),
    ).rejects.toMatchObject({
      code: "CLOSED",
      message: '[mcpfleet/bus-x] bus "b1" is closed',
    });
    const event = { id: "e1", type: "MCPServerInstanceCreated" } as never;
    await expect(
      kit.publisher.publish(event, undefined, { encode: () => "", send: async () => {} }),
    ).rejects.toMatchObject({ code: "CLOSED" });
    expect(log).toEqual(["start", "stop"]);
  });
});

describe("writableSecretStore", () => {
  const make = () => {
    const calls: string[] = [];
    let data = "v1";
    const store = writableSecretStore<string>({ adapter: "secrets-x", name: "x", cacheTtlMs: 60_000 }, (cache) => ({
      get: (ref) =>
        cache.get(ref.scope, async () => {
          calls.push(`load ${ref.scope}`);
          return data;
        }),
      set: async (_ref, value) => {
        calls.push("set");
        if (value === "fail") throw new FleetError("INTERNAL", "write failed");
        data = value;
      },
      delete: async () => {
        calls.push("delete");
      },
      list: async (scope) => [scope],
      deleteScope: async () => {
        calls.push("deleteScope");
      },
      close: () => {
        calls.push("close");
      },
    }));
    return { store, calls, setData: (v: string) => (data = v) };
  };

  it("checks refs, scopes and values before the backend sees them, naming the ref and never the value", async () => {
    const { store, calls } = make();
    await expect(store.get({ scope: "../etc", key: "k" })).rejects.toMatchObject({
      code: "SPEC_INVALID",
      path: "scope",
    });
    const err = await store.set({ scope: "s", key: "k" }, 42 as unknown as string).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SPEC_INVALID", path: "value" });
    expect((err as Error).message).toBe("secret value for secret_ref:s:k must be a string");
    await expect(store.list("a/b")).rejects.toMatchObject({ code: "SPEC_INVALID", path: "scope" });
    await expect(store.deleteScope("..")).rejects.toMatchObject({ code: "SPEC_INVALID", path: "scope" });
    expect(calls).toEqual([]);
    expect(store.capabilities).toEqual({ write: true, list: true });
  });

  it("every write invalidates its scope's cached read, a failed one too", async () => {
    const { store, calls, setData } = make();
    expect(await store.get({ scope: "s", key: "k" })).toBe("v1");
    setData("v2");
    expect(await store.get({ scope: "s", key: "k" })).toBe("v1"); // cached
    await expect(store.set({ scope: "s", key: "k" }, "fail")).rejects.toMatchObject({ code: "INTERNAL" });
    expect(await store.get({ scope: "s", key: "k" })).toBe("v2");
    await store.set({ scope: "s", key: "k" }, "v3");
    expect(await store.get({ scope: "s", key: "k" })).toBe("v3");
    setData("v4");
    await store.delete({ scope: "s", key: "k" });
    expect(await store.get({ scope: "s", key: "k" })).toBe("v4");
    setData("v5");
    await store.deleteScope("s");
    expect(await store.get({ scope: "s", key: "k" })).toBe("v5");
    expect(calls.filter((c) => c.startsWith("load"))).toHaveLength(5);
  });

  it("close runs the backend's close once; then every call is CLOSED", async () => {
    const { store, calls } = make();
    await store.close();
    await store[Symbol.asyncDispose]();
    expect(calls).toEqual(["close"]);
    await expect(store.get({ scope: "s", key: "k" })).rejects.toMatchObject({
      code: "CLOSED",
      message: "[mcpfleet/secrets-x] store is closed",
    });
    await expect(store.list("s")).rejects.toMatchObject({ code: "CLOSED" });
  });
});

describe("runtime errors and the logger option", () => {
  it("runtimeClosed, noInstance and adapterLogger", () => {
    expect(runtimeClosed("rt")).toMatchObject({ code: "CLOSED", message: "[mcpfleet/rt] runtime is closed" });
    expect(noInstance("rt", "i-1")).toMatchObject({
      code: "NOT_FOUND",
      path: "id",
      isRetryable: false,
      message: "[mcpfleet/rt] no instance i-1",
    });
    const logger = recordingLogger();
    adapterLogger(logger, { adapter: "rt" }).info({ n: 1 }, "hello");
    expect(logger.lines).toEqual([{ level: "info", bindings: { adapter: "rt" }, obj: { n: 1 }, msg: "hello" }]);
    adapterLogger(undefined, { adapter: "rt" }).info({}, "dropped");
  });
});
