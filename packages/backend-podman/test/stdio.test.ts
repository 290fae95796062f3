import { describeWith } from "@mcpfleet/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, expect, it } from "vitest";
import { type PodmanRuntime, podmanRuntime } from "../src/index.js";
import { cleanupOwner, containerSpec, deployRequest, podmanService, uniqueOwner } from "./helpers.js";

const { status, env } = await podmanService();

async function echo(
  endpoint: string,
  message: string,
  headers: Record<string, string> = {},
): Promise<{ tools: string[]; text: string }> {
  const client = new Client({ name: "podman-stdio-test", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers } }));
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    const res = await client.callTool({ name: "echo", arguments: { message } });
    return { tools, text: (res.content as { text: string }[])[0]?.text ?? "" };
  } finally {
    await client.close();
  }
}

describeWith([status], "stdio containers through @mcpfleet/mcp's bridge (real Podman)", () => {
  const owner = uniqueOwner("t-stdio");
  const network = `${owner}-net`;
  const runtimes: PodmanRuntime[] = [];
  const make = () => {
    if (!env) throw new Error("podman env missing");
    const r = podmanRuntime({ owner, network, env: { CONTAINER_HOST: `unix://${env.socket}` }, stopTimeoutSeconds: 2 });
    runtimes.push(r);
    return r;
  };
  afterAll(async () => {
    for (const r of runtimes) await r.close();
    if (env) await cleanupOwner(env.socket, owner, [network]);
  });

  it("serves a stdio server in a container as Streamable HTTP on 127.0.0.1", async () => {
    const runtime = make();
    const req = deployRequest("stdio-1", containerSpec(env?.imageStdio ?? "", { transport: "stdio", port: undefined }));
    const observed = await runtime.deploy(req);
    expect(observed).toMatchObject({ phase: "running", transport: "streamable-http" });
    expect(observed.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const a = await echo(observed.endpoint as string, "through the container's stdio", observed.endpointHeaders);
    expect(a.tools).toContain("get-sum");
    expect(a.text).toBe("Echo: through the container's stdio");
    // two sessions at once over the one stdio pair
    const both = await Promise.all([
      echo(observed.endpoint as string, "one", observed.endpointHeaders),
      echo(observed.endpoint as string, "two", observed.endpointHeaders),
    ]);
    expect(both.map((b) => b.text)).toEqual(["Echo: one", "Echo: two"]);
    expect((await runtime.inspect("stdio-1"))?.endpoint).toBe(observed.endpoint);
    expect((await runtime.list()).find((o) => o.instanceId === "stdio-1")?.endpoint).toBe(observed.endpoint);
    // same spec hash again: no-op, same bridge
    expect((await runtime.deploy(req)).endpoint).toBe(observed.endpoint);

    // another process (a fresh runtime with the same owner) attaches to the running container
    const other = make();
    const adopted = await other.inspect("stdio-1");
    expect(adopted?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(adopted?.endpoint).not.toBe(observed.endpoint);
    expect((await echo(adopted?.endpoint as string, "adopted", adopted?.endpointHeaders)).text).toBe("Echo: adopted");
    await other.close();

    await runtime.remove("stdio-1");
    expect(await runtime.inspect("stdio-1")).toBeUndefined();
    await expect(fetch(observed.endpoint as string, { method: "POST", body: "{}" })).rejects.toThrow();
  });
});
