import { execFile } from "node:child_process";
import { realpathSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createFleet, type Fleet, type FleetStore, memoryStore } from "@mcpfleet/core";
import { describeWith } from "@mcpfleet/core/testing";
import { createGateway, type GatewayHandler, mcpProbe } from "@mcpfleet/mcp";
import Dockerode from "dockerode";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type PodmanRuntime, podmanRuntime } from "../src/index.js";
import { cleanupOwner, containerSpec, deployRequest, podmanService, uniqueOwner } from "./helpers.js";

const { status, env } = await podmanService();
const here = dirname(fileURLToPath(import.meta.url));
const INSPECTOR = join(
  realpathSync(join(here, "../node_modules/@modelcontextprotocol/inspector")),
  "cli/build/index.js",
);

describeWith([status], "fleet on real Podman (createFleet + MCP probe + gateway)", () => {
  const owner = uniqueOwner("t-fleet");
  const network = `${owner}-net`;
  const runtimes: PodmanRuntime[] = [];
  const fleets: Fleet[] = [];
  let docker: Dockerode;
  const E = () => {
    if (!env) throw new Error("podman env missing");
    return env;
  };
  const makeRuntime = (o = owner) => {
    const r = podmanRuntime({
      owner: o,
      network,
      env: { CONTAINER_HOST: `unix://${E().socket}` },
      stopTimeoutSeconds: 2,
    });
    runtimes.push(r);
    return r;
  };
  const makeFleet = async (runtime: PodmanRuntime, store: FleetStore = memoryStore(), maxRestarts = 2) => {
    const fleet = createFleet({
      runtimes: { docker: runtime },
      store,
      probes: [mcpProbe()],
      reconciler: { backoffBaseMs: 100, backoffMaxMs: 400, resyncIntervalMs: 1000, maxRestarts },
      health: { defaultIntervalMs: 1000, defaultTimeoutMs: 3000 },
    });
    fleets.push(fleet);
    await fleet.start();
    return fleet;
  };
  const httpSpec = () => ({ type: "docker", image: E().imageHttp, port: 3001, restart_policy: "always" });

  beforeAll(() => {
    docker = new Dockerode({ socketPath: E().socket });
  });
  afterAll(async () => {
    for (const f of fleets) await f.close().catch(() => {});
    for (const r of runtimes) await r.close();
    if (env) await cleanupOwner(env.socket, owner, [network]);
  });

  it("create -> running with the MCP probe; the Inspector CLI lists tools through the gateway", async () => {
    const fleet = await makeFleet(makeRuntime());
    await fleet.instances.create({ name: "everything", json_spec: httpSpec() });
    const inst = await fleet.instances.waitFor("everything", "running", { timeoutMs: 30_000 });
    expect(inst.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

    const gateway: GatewayHandler = createGateway(fleet);
    const server: Server = createServer(gateway);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp/everything`;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [INSPECTOR, url, "--transport", "http", "--method", "tools/list"],
        {
          timeout: 30_000,
        },
      );
      const tools = (JSON.parse(stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
      expect(tools).toContain("echo");
      expect(tools).toContain("get-sum");
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await gateway.close();
      await fleet.instances.delete(inst.id);
      await fleet.close();
    }
    expect(await docker.listContainers({ all: true, filters: { label: [`mcpfleet.instance-id=${inst.id}`] } })).toEqual(
      [],
    );
  });

  it("a stdio container reaches running through the bridge and serves tools via the gateway", async () => {
    const fleet = await makeFleet(makeRuntime());
    const created = await fleet.instances.create({
      name: "stdio-everything",
      json_spec: { type: "docker", image: E().imageStdio, transport: "stdio", restart_policy: "always" },
    });
    const inst = await fleet.instances.waitFor(created.id, "running", { timeoutMs: 30_000 });
    expect(inst.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const gateway: GatewayHandler = createGateway(fleet);
    const server: Server = createServer(gateway);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp/stdio-everything`;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          INSPECTOR,
          url,
          "--transport",
          "http",
          "--method",
          "tools/call",
          "--tool-name",
          "echo",
          "--tool-arg",
          "message=hi",
        ],
        { timeout: 30_000 },
      );
      expect(stdout).toContain("Echo: hi");
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await gateway.close();
      await fleet.instances.delete(created.id);
      await fleet.close();
    }
  });

  it("a crash loop restarts with backoff and ends in failed after the configured count", async () => {
    const runtime = makeRuntime();
    const fleet = await makeFleet(runtime, memoryStore(), 2);
    const created = await fleet.instances.create({
      name: "crasher",
      json_spec: { type: "docker", image: E().imageExit, port: 3001, restart_policy: "always" },
    });
    const failed = await fleet.instances.waitFor(created.id, "failed", { timeoutMs: 40_000 });
    expect(failed.status_reason).toMatch(/crash loop|exited|code 3/);
    expect(failed.restart_count).toBeGreaterThanOrEqual(2);
    await fleet.instances.delete(created.id);
    await fleet.close();
  });

  it("an image that does not exist fails with a reason naming it, without a retry storm", async () => {
    const runtime = makeRuntime();
    const fleet = await makeFleet(runtime, memoryStore(), 5);
    const image = "localhost/mcpfleet-test/nope:404";
    const created = await fleet.instances.create({
      name: "noimage",
      json_spec: { type: "docker", image, port: 3001, restart_policy: "always" },
    });
    const failed = await fleet.instances.waitFor(created.id, "failed", { timeoutMs: 20_000 });
    expect(failed.status_reason).toContain(image);
    await fleet.resync();
    await fleet.idle();
    const after = await fleet.instances.get(created.id);
    expect(after.status).toBe("failed");
    expect(after.restart_count).toBeLessThanOrEqual(1);
    await fleet.instances.delete(created.id);
    await fleet.close();
  });

  it("a restarted fleet adopts running containers, removes orphans and leaves other owners alone", async () => {
    const store = memoryStore();
    const first = await makeFleet(makeRuntime(), store);
    const kept = await first.instances.create({ name: "kept", json_spec: httpSpec() });
    await first.instances.waitFor(kept.id, "running", { timeoutMs: 30_000 });
    const keptContainer = await docker.getContainer(runtimes.at(-1)?.containerName(kept.id) ?? "").inspect();
    await first.close();

    // an orphan of ours (no instance in the store) and a container of another fleet
    const orphanRuntime = makeRuntime();
    await orphanRuntime.deploy(deployRequest("orphan-1", containerSpec(E().imageHttp)));
    const otherOwner = uniqueOwner("t-fleet-other");
    const other = makeRuntime(otherOwner);
    await other.deploy(deployRequest("foreign-1", containerSpec(E().imageHttp)));

    try {
      const second = await makeFleet(makeRuntime(), store);
      await second.idle();
      const inst = await second.instances.waitFor(kept.id, "running", { timeoutMs: 30_000 });
      expect(inst.endpoint).toBeTruthy();
      const now = await docker.getContainer(keptContainer.Name.replace(/^\//, "")).inspect();
      expect(now.Id).toBe(keptContainer.Id); // adopted, not replaced
      expect(await orphanRuntime.inspect("orphan-1")).toBeUndefined();
      expect(await other.inspect("foreign-1")).toMatchObject({ phase: "running" });
      await second.instances.delete(kept.id);
      await second.close();
    } finally {
      await other.remove("foreign-1");
      await cleanupOwner(E().socket, otherOwner);
    }
  });
});
