import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import Dockerode from "dockerode";
import { afterAll, expect, it } from "vitest";
import { type PodmanRuntime, type PodmanRuntimeOptions, podmanRuntime } from "../src/index.js";
import { cleanupOwner, containerSpec, deployRequest, podmanService, uniqueOwner, waitForMcp } from "./helpers.js";

const { status, env } = await podmanService();
/** A non-loopback IPv4 address of this machine: what another machine would reach it on. */
const hostIp = Object.values(networkInterfaces())
  .flat()
  .find((a) => a?.family === "IPv4" && !a.internal)?.address;
const nic = await checkService("non-loopback IPv4 address", async () => hostIp !== undefined || "no interface has one");

/** Whether something accepts TCP connections on host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 1000 });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

const withHost = (endpoint: string, host: string) => {
  const u = new URL(endpoint);
  u.hostname = host;
  return u.href;
};

describeWith([status, nic], "publish and advertise hosts (real Podman)", () => {
  const owner = uniqueOwner("t-adv");
  const network = `${owner}-net`;
  const runtimes: PodmanRuntime[] = [];
  const make = (o: PodmanRuntimeOptions) => {
    if (!env) throw new Error("podman env missing");
    const r = podmanRuntime({
      owner,
      network,
      env: { CONTAINER_HOST: `unix://${env.socket}` },
      stopTimeoutSeconds: 2,
      ...o,
    });
    runtimes.push(r);
    return r;
  };
  afterAll(async () => {
    for (const r of runtimes) await r.close();
    if (env) await cleanupOwner(env.socket, owner, [network]);
  });

  it("publishes an HTTP container on the publish host only and reports the advertised name in its endpoint", async () => {
    const ip = hostIp as string;
    const runtime = make({ publishHost: ip, advertiseHost: "worker-b.fleet.test" });
    const req = deployRequest("adv-http", containerSpec(env?.imageHttp ?? ""));
    const observed = await runtime.deploy(req);
    expect(observed.phase).toBe("running");
    const endpoint = observed.endpoint as string;
    expect(endpoint).toMatch(/^http:\/\/worker-b\.fleet\.test:\d+\/mcp$/);
    const port = Number(new URL(endpoint).port);
    // the advertised name stands for this machine's address: the server answers there, not on loopback
    expect(await waitForMcp(withHost(endpoint, ip))).toMatch(/everything/i);
    expect(await accepts("127.0.0.1", port)).toBe(false);
    const info = await new Dockerode({ socketPath: env?.socket })
      .getContainer(runtime.containerName("adv-http"))
      .inspect();
    for (const b of Object.values(info.NetworkSettings.Ports).flat()) expect(b?.HostIp).toBe(ip);
    expect((await runtime.inspect("adv-http"))?.endpoint).toBe(endpoint);
    expect((await runtime.list()).find((o) => o.instanceId === "adv-http")?.endpoint).toBe(endpoint);

    // the same spec on a runtime publishing elsewhere replaces the container: it moves to loopback
    const local = make({});
    const moved = await local.deploy(req);
    expect(moved.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(await waitForMcp(moved.endpoint as string)).toMatch(/everything/i);
    const after = await new Dockerode({ socketPath: env?.socket })
      .getContainer(runtime.containerName("adv-http"))
      .inspect();
    expect(after.Id).not.toBe(info.Id);
    await local.remove("adv-http");
  });

  it("publishes every copy of a replicated instance on the publish host and advertises each; a changed publish host replaces them all", async () => {
    const ip = hostIp as string;
    const docker = new Dockerode({ socketPath: env?.socket });
    const runtime = make({ publishHost: ip, advertiseHost: "worker-b.fleet.test" });
    const req = deployRequest("adv-rep", containerSpec(env?.imageHttp ?? "", { replicas: 2 }));
    const observed = await runtime.deploy(req);
    expect(observed).toMatchObject({ phase: "running", replicas: { desired: 2, ready: 2 } });
    const endpoints = (observed.replicaEndpoints ?? []).map((r) => r.endpoint);
    expect(endpoints).toHaveLength(2);
    for (const endpoint of endpoints) {
      expect(endpoint).toMatch(/^http:\/\/worker-b\.fleet\.test:\d+\/mcp$/);
      expect(await waitForMcp(withHost(endpoint, ip))).toMatch(/everything/i);
      expect(await accepts("127.0.0.1", Number(new URL(endpoint).port))).toBe(false);
    }
    const before = await Promise.all(
      [0, 1].map((i) => docker.getContainer(runtime.containerName("adv-rep", i)).inspect()),
    );
    for (const info of before) {
      expect(info.Config.Labels["mcpfleet.publish-host"]).toBe(ip);
      for (const b of Object.values(info.NetworkSettings.Ports).flat()) expect(b?.HostIp).toBe(ip);
    }
    const listed = (await runtime.list()).find((o) => o.instanceId === "adv-rep");
    expect(listed?.replicaEndpoints?.map((r) => r.endpoint)).toEqual(endpoints);
    // the same deploy again keeps both copies (nothing changed)
    await runtime.deploy(req);
    const same = await Promise.all(
      [0, 1].map((i) => docker.getContainer(runtime.containerName("adv-rep", i)).inspect()),
    );
    expect(same.map((i) => i.Id)).toEqual(before.map((i) => i.Id));

    // a runtime publishing on loopback replaces every copy, not just the first
    const local = make({});
    const moved = await local.deploy(req);
    expect(moved).toMatchObject({ phase: "running", replicas: { desired: 2, ready: 2 } });
    for (const r of moved.replicaEndpoints ?? []) expect(r.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const after = await Promise.all(
      [0, 1].map((i) => docker.getContainer(runtime.containerName("adv-rep", i)).inspect()),
    );
    for (const [i, info] of after.entries()) {
      expect(info.Id).not.toBe(before[i]?.Id);
      expect(info.Config.Labels["mcpfleet.publish-host"]).toBe("127.0.0.1");
    }
    await local.remove("adv-rep");
  });

  it("serves a stdio container's bridge on the publish host, advertised there by default, token still required", async () => {
    const ip = hostIp as string;
    const runtime = make({ publishHost: ip });
    const observed = await runtime.deploy(
      deployRequest("adv-stdio", containerSpec(env?.imageStdio ?? "", { transport: "stdio", port: undefined })),
    );
    const endpoint = observed.endpoint as string;
    expect(endpoint).toBe(`http://${ip}:${new URL(endpoint).port}/mcp`);
    expect(await accepts("127.0.0.1", Number(new URL(endpoint).port))).toBe(false);
    const client = new Client({ name: "podman-advertise-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(endpoint), {
        requestInit: { headers: observed.endpointHeaders ?? {} },
      }),
    );
    try {
      const res = await client.callTool({ name: "echo", arguments: { message: "from another machine" } });
      expect((res.content as { text: string }[])[0]?.text).toBe("Echo: from another machine");
    } finally {
      await client.close();
    }
    // reachable from the network now, so the bridge token matters: without it, 401
    const bare = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(bare.status).toBe(401);
    await runtime.remove("adv-stdio");
  });
});
