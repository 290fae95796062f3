import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createFleet, type Fleet, type FleetEvent, recordingLogger } from "@mcpfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubernetesRuntime } from "../src/index.js";
import { FakeApiServer } from "./fake-apiserver/index.js";
import { until } from "./fake-runtime.js";
import { CANARY } from "./helpers.js";

// The fleet engine driving this runtime end to end. The fake cluster has no network, so the
// endpoint resolver points the health probe at a local HTTP server standing in for the pod.
let fake: FakeApiServer;
let health: Server;
let fleet: Fleet;
const events: FleetEvent[] = [];
const logger = recordingLogger();

beforeAll(async () => {
  fake = await FakeApiServer.start({ namespaces: ["fleet-e2e"] });
  health = createServer((req, res) => {
    res.writeHead(req.url === "/health" ? 200 : 404).end("ok");
  });
  await new Promise<void>((r) => health.listen(0, "127.0.0.1", r));
  const port = (health.address() as AddressInfo).port;
  const runtime = kubernetesRuntime({
    kubeConfig: fake.kubeConfig(),
    namespace: "fleet-e2e",
    logger,
    endpointResolver: () => `http://127.0.0.1:${port}/mcp`,
  });
  fleet = createFleet({
    runtimes: { docker: runtime },
    logger,
    reconciler: { backoffBaseMs: 5, backoffMaxMs: 40, maxRestarts: 3, resyncIntervalMs: 60_000 },
  });
  fleet.subscribe((e) => events.push(e));
  await fleet.start();
});

afterAll(async () => {
  await fleet.close();
  await new Promise((r) => health.close(r));
  await fake.close();
});

describe("fleet engine on the Kubernetes runtime (fake API server)", () => {
  it("creates an instance that reaches running, with its secret only in the Secret, and deletes it", async () => {
    const inst = await fleet.instances.create({
      name: "k8s-e2e",
      json_spec: {
        type: "docker",
        image: "ghcr.io/example/mcp:1",
        port: 3000,
        health_check: { path: "/health", interval: 1, timeout: 1, retries: 2 },
        environment: { LOG_LEVEL: "debug" },
      },
      secrets: { API_KEY: CANARY },
    });
    const up = await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 15_000 });
    expect(up.status).toBe("running");
    const secret = fake.list("Secret", "fleet-e2e")[0] as any;
    expect(Buffer.from(secret.data.API_KEY, "base64").toString()).toBe(CANARY);
    const dep = fake.list("Deployment", "fleet-e2e")[0] as any;
    expect(dep.metadata.labels["mcpfleet.instance-id"]).toBe(inst.id);
    const visible = JSON.stringify([
      dep,
      fake.list("Service", "fleet-e2e"),
      fake.list("Pod", "fleet-e2e"),
      events,
      logger.lines,
    ]);
    expect(visible).not.toContain(CANARY);
    await fleet.instances.delete(inst.id);
    await until(async () => fake.list("Deployment", "fleet-e2e").length === 0, "deployment removed");
    await fleet.idle();
    expect(fake.list("Secret", "fleet-e2e")).toEqual([]);
  });
});
