import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createFleet, type Fleet, FleetError, memoryStore } from "@mcpfleet/core";
import { describeWith } from "@mcpfleet/core/testing";
import { createGateway, type GatewayHandler, mcpProbe } from "@mcpfleet/mcp";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import Dockerode from "dockerode";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type PodmanRuntime, podmanRuntime } from "../src/index.js";
import { cleanupOwner, containerSpec, deployRequest, podmanService, uniqueOwner, waitForMcp } from "./helpers.js";

const { status, env } = await podmanService();

describeWith([status], "replicas on real Podman", () => {
  const owner = uniqueOwner("t-rep");
  const network = `${owner}-net`;
  const runtimes: PodmanRuntime[] = [];
  let docker: Dockerode;
  const E = () => {
    if (!env) throw new Error("podman env missing");
    return env;
  };
  const makeRuntime = (replicaHealth?: "all" | "any") => {
    const r = podmanRuntime({
      owner,
      network,
      env: { CONTAINER_HOST: `unix://${E().socket}` },
      stopTimeoutSeconds: 2,
      defaultMemory: "256m",
      ...(replicaHealth ? { replicaHealth } : {}),
    });
    runtimes.push(r);
    return r;
  };
  const containersOf = async (instanceId: string) =>
    (
      await docker.listContainers({
        all: true,
        filters: { label: [`mcpfleet.managed-by=${owner}`, `mcpfleet.instance-id=${instanceId}`] },
      })
    ).sort((a, b) => Number(a.Labels["mcpfleet.replica"]) - Number(b.Labels["mcpfleet.replica"]));

  beforeAll(() => {
    docker = new Dockerode({ socketPath: E().socket });
  });
  afterAll(async () => {
    for (const r of runtimes) await r.close();
    if (env) await cleanupOwner(env.socket, owner, [network]);
  });

  it("runs N labelled containers on their own ports, scales without restarting kept copies, removes all", async () => {
    const runtime = makeRuntime();
    const two = deployRequest("rep-a", containerSpec(E().imageHttp, { replicas: 2 }));
    const observed = await runtime.deploy(two);
    expect(observed).toMatchObject({
      phase: "running",
      specHash: two.instance.specHash,
      replicas: { desired: 2, ready: 2 },
    });
    const endpoints = observed.replicaEndpoints ?? [];
    expect(endpoints.map((r) => r.replica)).toEqual([0, 1]);
    expect(new Set(endpoints.map((r) => r.endpoint)).size).toBe(2);
    for (const r of endpoints) expect(r.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(observed.endpoint).toBe(endpoints[0]?.endpoint);
    for (const r of endpoints) expect(await waitForMcp(r.endpoint)).toMatch(/everything/i);

    const listed = await containersOf("rep-a");
    expect(listed.map((c) => c.Names[0]?.replace(/^\//, ""))).toEqual([
      runtime.containerName("rep-a"),
      runtime.containerName("rep-a", 1),
    ]);
    expect(listed.map((c) => c.Labels["mcpfleet.replica"])).toEqual(["0", "1"]);
    const [first, second] = await Promise.all(listed.map((c) => docker.getContainer(c.Id).inspect()));
    expect(first?.Config.Env).toContain("MCPFLEET_REPLICA=0");
    expect(second?.Config.Env).toContain("MCPFLEET_REPLICA=1");
    // list() reports the instance once, with both copies
    const all = (await runtime.list()).filter((o) => o.instanceId === "rep-a");
    expect(all).toHaveLength(1);
    expect(all[0]?.replicas).toEqual({ desired: 2, ready: 2 });

    // deploying the same request again changes nothing
    await runtime.deploy(two);
    expect((await containersOf("rep-a")).map((c) => c.Id)).toEqual(listed.map((c) => c.Id));

    // 2 -> 3 -> 1: copy 0 is the same container throughout
    const three = deployRequest("rep-a", containerSpec(E().imageHttp, { replicas: 3 }), {}, {}, 2);
    expect(await runtime.deploy(three)).toMatchObject({
      phase: "running",
      specHash: three.instance.specHash,
      replicas: { desired: 3, ready: 3 },
    });
    const afterUp = await containersOf("rep-a");
    expect(afterUp.map((c) => c.Id).slice(0, 2)).toEqual(listed.map((c) => c.Id));
    expect(afterUp).toHaveLength(3);
    const one = deployRequest("rep-a", containerSpec(E().imageHttp, { replicas: 1 }), {}, {}, 3);
    const down = await runtime.deploy(one);
    expect(down).toMatchObject({
      phase: "running",
      specHash: one.instance.specHash,
      replicas: { desired: 1, ready: 1 },
    });
    expect((await containersOf("rep-a")).map((c) => c.Id)).toEqual([listed[0]?.Id]);
    expect(await runtime.inspect("rep-a")).toMatchObject({ specHash: one.instance.specHash, phase: "running" });

    // a changed template (environment) replaces every copy
    const changed = deployRequest("rep-a", containerSpec(E().imageHttp, { replicas: 2 }), { FOO: "bar" }, {}, 4);
    await runtime.deploy(changed);
    const replaced = await containersOf("rep-a");
    expect(replaced).toHaveLength(2);
    expect(replaced.map((c) => c.Id)).not.toContain(listed[0]?.Id);

    await runtime.remove("rep-a");
    expect(await containersOf("rep-a")).toEqual([]);
    expect(await runtime.inspect("rep-a")).toBeUndefined();
  });

  it("health: a copy down is the instance exited (all) or still running (any); deploy brings it back", async () => {
    const runtime = makeRuntime();
    const lenient = makeRuntime("any");
    const req = deployRequest("rep-h", containerSpec(E().imageHttp, { replicas: 2 }));
    await runtime.deploy(req);
    const [c0, c1] = await containersOf("rep-h");
    await docker.getContainer(c1?.Id ?? "").kill();
    await expect.poll(async () => (await runtime.inspect("rep-h"))?.phase, { timeout: 10_000 }).toBe("exited");
    const strict = await runtime.inspect("rep-h");
    expect(strict?.reason).toMatch(/^replica 1: container exited with code \d+/);
    expect(strict?.replicas).toEqual({ desired: 2, ready: 1 });
    const any = await lenient.inspect("rep-h");
    expect(any).toMatchObject({ phase: "running", replicas: { desired: 2, ready: 1 } });
    expect(any?.replicaEndpoints?.map((r) => r.replica)).toEqual([0]);

    // a vanished copy counts as down too
    await docker.getContainer(c1?.Id ?? "").remove({ force: true });
    expect((await runtime.inspect("rep-h"))?.reason).toBe("replica 1: container is missing");

    const back = await runtime.deploy(req);
    expect(back).toMatchObject({ phase: "running", replicas: { desired: 2, ready: 2 } });
    const after = await containersOf("rep-h");
    expect(after[0]?.Id).toBe(c0?.Id);
    expect(after).toHaveLength(2);
    await runtime.remove("rep-h");
  });

  it("stdio containers refuse replicas with UNSUPPORTED at json_spec.replicas", async () => {
    const runtime = makeRuntime();
    const req = deployRequest("rep-s", containerSpec(E().imageStdio, { transport: "stdio", replicas: 2 }));
    const err = await runtime.deploy(req).catch((e: unknown) => e);
    expect(FleetError.isInstance(err) && err.code).toBe("UNSUPPORTED");
    expect((err as FleetError).path).toBe("json_spec.replicas");
    expect(await containersOf("rep-s")).toEqual([]);
  });

  it("a restarted fleet adopts every copy of a replicated instance and removes a replicated orphan", async () => {
    const store = memoryStore();
    const fleetOn = async () => {
      const f = createFleet({
        runtimes: { docker: makeRuntime() },
        store,
        probes: [mcpProbe()],
        reconciler: { backoffBaseMs: 100, backoffMaxMs: 400, resyncIntervalMs: 1000 },
        health: { defaultIntervalMs: 1000, defaultTimeoutMs: 3000 },
      });
      await f.start();
      return f;
    };
    const first = await fleetOn();
    const kept = await first.instances.create({
      name: "kept-replicated",
      json_spec: { type: "docker", image: E().imageHttp, port: 3001, replicas: 2 },
    });
    await first.instances.waitFor(kept.id, "running", { timeoutMs: 60_000 });
    const before = (await containersOf(kept.id)).map((c) => c.Id);
    expect(before).toHaveLength(2);
    await first.close();
    await makeRuntime().deploy(deployRequest("orphan-rep", containerSpec(E().imageHttp, { replicas: 2 })));
    expect(await containersOf("orphan-rep")).toHaveLength(2);

    const second = await fleetOn();
    try {
      await second.idle();
      await second.instances.waitFor(kept.id, "running", { timeoutMs: 30_000 });
      expect((await containersOf(kept.id)).map((c) => c.Id)).toEqual(before); // adopted, not replaced
      await expect.poll(async () => (await containersOf("orphan-rep")).length, { timeout: 30_000 }).toBe(0);
      await second.instances.delete(kept.id);
      await expect.poll(async () => (await containersOf(kept.id)).length, { timeout: 30_000 }).toBe(0);
    } finally {
      await second.close();
    }
  });

  it("through the gateway: sessions spread over the copies and stay on theirs; scale 2 -> 1; delete removes all", async () => {
    const fleet: Fleet = createFleet({
      runtimes: { docker: makeRuntime() },
      store: memoryStore(),
      probes: [mcpProbe()],
      reconciler: { backoffBaseMs: 100, backoffMaxMs: 400, resyncIntervalMs: 1000 },
      health: { defaultIntervalMs: 1000, defaultTimeoutMs: 3000 },
    });
    await fleet.start();
    const gateway: GatewayHandler = createGateway(fleet);
    const server: Server = createServer(gateway);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const clients: Client[] = [];
    try {
      const spec = { type: "docker", image: E().imageHttp, port: 3001, replicas: 2 };
      const created = await fleet.instances.create({ name: "replicated", json_spec: spec });
      await fleet.instances.waitFor(created.id, "running", { timeoutMs: 60_000 });
      expect(await containersOf(created.id)).toHaveLength(2);
      const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp/replicated`);
      const open = async () => {
        const client = new Client({ name: "replica-test", version: "1" });
        const transport = new StreamableHTTPClientTransport(url);
        await client.connect(transport);
        clients.push(client);
        return { client, transport };
      };
      const replicaOf = async (client: Client) => {
        const res = (await client.callTool({ name: "get-env", arguments: {} })) as { content: { text: string }[] };
        return (JSON.parse(res.content[0]?.text ?? "{}") as Record<string, string>).MCPFLEET_REPLICA;
      };
      // "running" can come while the second copy's server is still binding its port (the probe judged the
      // instance as a whole): a new session that lands there meets a refused connection. Wait until two
      // sessions in a row open (new sessions alternate over the copies: one on each), then measure.
      for (let i = 0; ; i++) {
        try {
          await open();
          await open();
          break;
        } catch (err) {
          if (i >= 40 || !/RUNTIME_UNAVAILABLE/.test(String(err))) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      const a = await open();
      const b = await open();
      expect(a.transport.sessionId).toMatch(/^mcpfleet-r[01]\./);
      expect(b.transport.sessionId).toMatch(/^mcpfleet-r[01]\./);
      const ra = await replicaOf(a.client);
      const rb = await replicaOf(b.client);
      expect(new Set([ra, rb])).toEqual(new Set(["0", "1"]));
      expect(a.transport.sessionId?.startsWith(`mcpfleet-r${ra}.`)).toBe(true);
      for (let i = 0; i < 3; i++) {
        expect(await replicaOf(a.client)).toBe(ra);
        expect(await replicaOf(b.client)).toBe(rb);
      }

      await fleet.instances.update(created.id, { json_spec: { ...spec, replicas: 1 } });
      await expect.poll(async () => (await containersOf(created.id)).length, { timeout: 30_000 }).toBe(1);
      await fleet.instances.waitFor(created.id, "running", { timeoutMs: 30_000 });
      const [onZero, onOne] = ra === "0" ? [a, b] : [b, a];
      // copy 0 was kept: its session goes on; copy 1's is gone and the client is told so
      await expect.poll(() => replicaOf(onZero.client).catch(() => "error"), { timeout: 10_000 }).toBe("0");
      const lost = await replicaOf(onOne.client).catch((e: unknown) => e);
      expect(String(lost)).toMatch(/404|not found/i);

      await fleet.instances.delete(created.id);
      await expect.poll(async () => (await containersOf(created.id)).length, { timeout: 30_000 }).toBe(0);
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await gateway.close();
      await fleet.close();
    }
  });
});
