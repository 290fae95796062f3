import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Fleet } from "@mcpfleet/core";
import { createFleet } from "@mcpfleet/core";
import { describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { GatewayHandler } from "../src/index.js";
import { controlServerHandler, createGateway, mcpProbe } from "../src/index.js";
import { conformance, conformanceSuite, type Outcome, passing } from "./conformance-run.js";
import { startEverythingHttp } from "./everything.js";

// The official MCP conformance suite against server-everything directly, through /mcp/<instance>,
// through the aggregated /mcp, and against the control plane's /control/mcp: the stable line (0.1.x,
// 2025 revisions) and the newest (0.2.x), per revision it covers (--requirements <revision>).
const suite = await conformanceSuite("stable");
const next = await conformanceSuite("next");

describeWith([suite, next], "official MCP conformance suite", () => {
  let everything: Awaited<ReturnType<typeof startEverythingHttp>>;
  let fleet: Fleet;
  let gateway: GatewayHandler;
  let server: Server;
  let control: Server;
  let base: string;
  const results: Record<string, Outcome> = {};

  beforeAll(async () => {
    everything = await startEverythingHttp("streamableHttp");
    fleet = createFleet({ probes: [mcpProbe()], allowUnsafeEndpoints: true });
    await fleet.start();
    await fleet.instances.create({ name: "ev", json_spec: { type: "url", endpoint: everything.url } });
    await fleet.instances.waitFor("ev", "running", { timeoutMs: 20_000 });
    gateway = createGateway(fleet);
    server = createServer(gateway);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const controlHandler = controlServerHandler(fleet);
    control = createServer((req, res) => void controlHandler(req, res));
    await new Promise<void>((r) => control.listen(0, "127.0.0.1", r));
  }, 60_000);

  afterAll(async () => {
    // the figures the closing note records
    for (const [k, v] of Object.entries(results))
      process.stdout.write(`conformance ${k}: ${v.passed} passed, ${v.failed} failed\n`);
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    control?.closeAllConnections();
    await new Promise((r) => control?.close(r));
    await gateway?.close();
    await fleet?.close();
    everything?.stop();
  });

  it("/mcp/<instance> passes exactly the scenarios server-everything passes directly", async () => {
    results.direct = await conformance(everything.url);
    results.instance = await conformance(`${base}/mcp/ev`);
    expect(results.direct.passed).toBeGreaterThanOrEqual(10);
    expect(passing(results.instance)).toEqual(passing(results.direct));
  }, 600_000);

  it("/mcp over one server-everything instance passes what /mcp/<instance> passes", async () => {
    results.aggregate = await conformance(`${base}/mcp`);
    const instance = results.instance ?? (await conformance(`${base}/mcp/ev`));
    // a URI outside the aggregated namespace (the suite's test://watched-resource) goes to the only
    // instance, so subscribe/unsubscribe pass too: /mcp loses no scenario
    expect(passing(results.aggregate)).toEqual(passing(instance));
    expect(results.aggregate.passed).toBeGreaterThanOrEqual(instance.passed);
  }, 600_000);

  it("/control/mcp passes every scenario that applies to a server of tools only", async () => {
    results.control = await conformance(`http://127.0.0.1:${(control.address() as AddressInfo).port}/control/mcp`);
    // The control plane serves the fleet's tools only: the suite's other scenarios call the fixture's own
    // tools, resources and prompts (test_simple_text, test://static-text, ...), and its DNS-rebinding check
    // expects Host/Origin validation, which is the host's (it mounts the handler behind its own middleware).
    expect(passing(results.control)).toEqual([
      "ping",
      "server-initialize",
      "server-sse-multiple-streams",
      "tools-list",
    ]);
  }, 600_000);

  // the newest line, per revision: the figures are recorded, the assertions are the scenarios that do
  // not depend on the suite's own fixture server (its test_* tools, test:// resources, x-mcp-header tools)
  it("newest suite, 2025-11-25: /mcp passes everything /mcp/<instance> and server-everything pass", async () => {
    const req = ["--requirements", "2025-11-25"];
    results["next 2025-11-25 direct"] = await conformance(everything.url, "next", req);
    results["next 2025-11-25 instance"] = await conformance(`${base}/mcp/ev`, "next", req);
    results["next 2025-11-25 aggregate"] = await conformance(`${base}/mcp`, "next", req);
    const direct = passing(results["next 2025-11-25 direct"]);
    expect(passing(results["next 2025-11-25 instance"])).toEqual(direct);
    expect(passing(results["next 2025-11-25 aggregate"])).toEqual(expect.arrayContaining(direct));
    // sessions on /mcp: the lifecycle scenario passes there
    expect(results["next 2025-11-25 aggregate"].scenarios.get("server-session-lifecycle")).toBe(true);
  }, 900_000);

  it("newest suite, 2026-07-28: /mcp and /control/mcp serve the session-less revision", async () => {
    const req = ["--requirements", "2026-07-28"];
    results["next 2026-07-28 aggregate"] = await conformance(`${base}/mcp`, "next", req);
    const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}/control/mcp`;
    results["next 2026-07-28 control"] = await conformance(controlUrl, "next", req);
    const protocol = [
      "http-header-validation",
      "input-required-result-ignore-extra-params",
      "input-required-result-missing-input-response",
      "input-required-result-unsupported-methods",
      "input-required-result-validate-input",
      "sep-2164-resource-not-found",
      "server-sse-multiple-streams",
      "tools-list",
    ];
    expect(passing(results["next 2026-07-28 aggregate"])).toEqual(
      expect.arrayContaining([...protocol, "caching", "prompts-list", "resources-list", "tools-call-simple-text"]),
    );
    expect(passing(results["next 2026-07-28 control"])).toEqual(expect.arrayContaining(protocol));
  }, 900_000);
});
