import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FleetError, type FleetStore, memoryRuntime, memoryStore } from "../../src/index.js";
import { dockerSpec, eventually, type Harness, harness, statuses } from "./harness.js";

let h: Harness | undefined;
let server: Server | undefined;

afterEach(async () => {
  await h?.fleet.close();
  h = undefined;
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
});

/** An HTTP server whose health endpoint never passes. */
async function neverReady(): Promise<string> {
  server = createServer((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("one start-timeout rule: a start that does not finish within startTimeoutMs is a crash", () => {
  it("readiness probe never passes: restarted by the restart policy, then failed as a crash loop", async () => {
    const base = await neverReady();
    h = await harness({ reconciler: { startTimeoutMs: 100, maxRestarts: 2 }, endpointPolicy: { allow: ["loopback"] } });
    const inst = await h.fleet.instances.create({
      name: "never-ready",
      json_spec: { type: "url", endpoint: `${base}/mcp`, health_check: { path: "/health" } },
    });
    const failed = await h.fleet.instances.waitFor(inst.id, "failed", { timeoutMs: 5000 });
    expect(failed.status_reason).toMatch(
      /^crash loop: 3 failures in a row \(2 restarts\); last: not ready after 100 ms: /,
    );
    // three starts: the first and two restarts
    expect(statuses(h.events, inst.id).filter((s) => s === "provisioning")).toHaveLength(3);
  });

  it("runtime never reports running, restart_policy no: failed at once, not redeployed", async () => {
    h = await harness({ runtime: memoryRuntime({ startDelayMs: 60_000 }), reconciler: { startTimeoutMs: 50 } });
    const inst = await h.fleet.instances.create({ name: "stuck", json_spec: dockerSpec({ restart_policy: "no" }) });
    await h.fleet.instances.waitFor(inst.id, "starting");
    await new Promise((r) => setTimeout(r, 80));
    await h.fleet.resync();
    const failed = await h.fleet.instances.waitFor(inst.id, "failed", { timeoutMs: 5000 });
    expect(failed.status_reason).toMatch(/not running after 50 ms \(runtime reports starting\).*restart policy "no"/);
    expect(h.runtime.deployCount(inst.id)).toBe(1);
  });
});

describe("periodic resync", () => {
  it("a failed pass is logged through the injected logger, and the next one runs", async () => {
    const store = memoryStore();
    let broken = false;
    let calls = 0;
    const list = store.instances.list.bind(store.instances);
    const query = store.instances.query!.bind(store.instances);
    const down = () => Promise.reject(new FleetError("TIMEOUT", "store is down", { path: "store" }));
    // resync reads pages through `query` when the store has it, else `list`: both fail while broken
    const flaky: FleetStore = {
      ...store,
      instances: Object.assign(Object.create(store.instances), {
        list: (...args: Parameters<typeof list>) => {
          calls += 1;
          return broken ? down() : list(...args);
        },
        query: (...args: Parameters<typeof query>) => {
          calls += 1;
          return broken ? down() : query(...args);
        },
      }),
    };
    h = await harness({ store: flaky, reconciler: { resyncIntervalMs: 20 } });
    broken = true;
    const before = calls;
    await eventually(() => calls >= before + 2, 5000, "two failed passes");
    const line = h.logs.find((l) => l.msg === "periodic resync failed");
    expect(line?.level).toBe("warn");
    expect(JSON.stringify(line?.obj)).toContain("store is down");
  });
});
