import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { KEYS, startTestHost, type TestHost } from "./helpers.js";

/** Real servers from the npm registry, run through `npx -y` as their READMEs say, from one Claude Desktop document. */
const npmRegistry = await checkService("npm registry (npx)", async () => {
  const { stdout } = await promisify(execFile)("npm", ["view", "@modelcontextprotocol/server-memory", "name"], {
    timeout: 15_000,
  });
  return stdout.includes("server-memory") || "npm view gave no answer";
});

const allowed = mkdtempSync(join(tmpdir(), "mcpfleet-fs-allowed-"));
writeFileSync(join(allowed, "hello.txt"), "hello from the allowed directory\n");
// run outside the repository: inside this pnpm workspace npx would pick the workspace's copy without its bin link
const cwd = mkdtempSync(join(tmpdir(), "mcpfleet-npx-cwd-"));
const CONFIG = {
  mcpServers: {
    everything: { command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"], cwd },
    memory: {
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-memory"],
      env: { MEMORY_FILE_PATH: join(cwd, "memory.jsonl") },
      cwd,
    },
    filesystem: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", allowed], cwd },
    "sequential-thinking": { command: "npx", args: ["-y", "@modelcontextprotocol/server-sequential-thinking"], cwd },
  },
};

async function connect(url: string) {
  const client = new Client({ name: "npx-import-test", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${KEYS.operator}` } },
    }),
  );
  return client;
}
const text = (r: unknown) => ((r as { content: Array<{ text: string }> }).content ?? []).map((c) => c.text).join("\n");

describeWith([npmRegistry], "a pasted Claude Desktop document runs real npm servers (process runtime)", () => {
  let host: TestHost;
  beforeAll(async () => {
    // this suite is about the formats and real npm servers, not the sandbox (test/sandbox-attack.test.ts is):
    // run the children as the host's own user, with their cwd and the filesystem server's directory allowed
    host = await startTestHost({
      FLEET_RUNTIME: "process",
      FLEET_PROCESS_SANDBOX: "none",
      FLEET_PROCESS_ALLOW_ROOT: "true",
      ALLOWED_HOST_PATHS: `${cwd},${allowed}`,
      // each child downloads its package into its own npm cache first (four at once on a loaded machine)
      START_TIMEOUT_MS: "180000",
    });
  }, 30_000);
  afterAll(async () => {
    await host?.close();
  });

  it("imports four servers and calls each through /mcp/{instance} with the MCP SDK client", async () => {
    const r = await host.call("POST", "/v1/import", { role: "admin", body: CONFIG });
    expect(r.status).toBe(201);
    for (const i of r.body.instances) {
      await host.fleet.instances.waitFor(i.id, "running", { timeoutMs: 240_000 }).catch(async (err) => {
        // say which server did not come up and what it printed (npx output, a crash)
        const logs = await host.call("GET", `/v1/mcp-server-instances/${i.id}/logs`, { role: "admin" });
        throw new Error(
          `${i.name}: ${(err as Error).message}\n${String(JSON.stringify(logs.body) ?? logs.text ?? logs.status).slice(-3000)}`,
        );
      });
    }

    const everything = await connect(`${host.url}/mcp/everything`);
    expect(text(await everything.callTool({ name: "echo", arguments: { message: "pasted" } }))).toBe("Echo: pasted");
    await everything.close();

    const memory = await connect(`${host.url}/mcp/memory`);
    await memory.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "mcpfleet", entityType: "project", observations: ["imported"] }] },
    });
    expect(text(await memory.callTool({ name: "read_graph", arguments: {} }))).toContain("mcpfleet");
    await memory.close();

    const fs = await connect(`${host.url}/mcp/filesystem`);
    expect(
      text(await fs.callTool({ name: "read_text_file", arguments: { path: join(allowed, "hello.txt") } })),
    ).toContain("hello from the allowed directory");
    const outside = await fs.callTool({ name: "read_text_file", arguments: { path: "/etc/hostname" } });
    expect(outside.isError).toBe(true);
    await fs.close();

    const thinking = await connect(`${host.url}/mcp/sequential-thinking`);
    expect((await thinking.listTools()).tools.map((t) => t.name)).toContain("sequentialthinking");
    await thinking.close();
  }, 400_000);
});
