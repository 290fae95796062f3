import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Fleet } from "@mcpfleet/core";
import { createFleet } from "@mcpfleet/core";
import type { GatewayHandler } from "../src/index.js";
import { createGateway, mcpProbe } from "../src/index.js";
import { startEverythingHttp } from "./everything.js";
import { startModernServer } from "./modern-server.js";

/**
 * A fleet of two url instances, server-everything (2025-11-25) named `legacyName` and a v2 server
 * (2026-07-28) named `modern`, behind a gateway on a loopback port.
 */
export async function startMixedFleet(legacyName: string) {
  const [everything, modern] = await Promise.all([startEverythingHttp("streamableHttp"), startModernServer()]);
  const fleet: Fleet = createFleet({
    probes: [mcpProbe()],
    health: { defaultIntervalMs: 1000 },
    allowUnsafeEndpoints: true,
  });
  await fleet.start();
  await fleet.instances.create({ name: legacyName, json_spec: { type: "url", endpoint: everything.url } });
  await fleet.instances.create({ name: "modern", json_spec: { type: "url", endpoint: modern.url } });
  for (const n of [legacyName, "modern"]) await fleet.instances.waitFor(n, "running", { timeoutMs: 20_000 });
  const gateway: GatewayHandler = createGateway(fleet);
  const server: Server = createServer(gateway);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    fleet,
    modern,
    base,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await gateway.close();
      await fleet.close();
      everything.stop();
      await modern.close();
    },
  };
}
