import { createFleet, type FleetEvent, memoryRuntime, memoryStore, recordingLogger } from "@mcpfleet/core";
import { afterEach, describe, expect, it } from "vitest";
import { infisicalSecrets } from "../src/index.js";
import { FakeInfisical } from "./fake-infisical.js";

const CANARY = "canary-infisical-3b91e2-do-not-leak";

async function until(fn: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !fn(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!fn()) throw new Error(`timed out waiting for ${what}`);
}

describe("a fleet with infisicalSecrets (fake Infisical)", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it("stores the instance's secret in Infisical; the value reaches the runtime and nothing else", async () => {
    const fake = await new FakeInfisical().start();
    cleanup.push(() => fake.stop());
    const logger = recordingLogger();
    const store = memoryStore();
    const runtime = memoryRuntime();
    const secrets = infisicalSecrets({
      siteUrl: fake.url,
      auth: { clientId: "client-id-1", clientSecret: "client-secret-1" },
      projectId: "proj-1",
      environment: "dev",
      logger,
    });
    const fleet = createFleet({ runtimes: { docker: runtime }, store, secrets, logger });
    cleanup.push(() => fleet.close());
    const events: FleetEvent[] = [];
    fleet.subscribe((e) => events.push(e));
    await fleet.start();

    const inst = await fleet.instances.create({
      name: "with-vault-secret",
      json_spec: { type: "docker", image: "mcp/example:1", port: 8000, environment: { MODE: "fast" } },
      secrets: { API_KEY: CANARY },
    });
    await fleet.instances.waitFor(inst.id, "running");

    // In Infisical: the instance's folder holds the secret.
    expect(fake.secretsAt("dev", `/mcpfleet/instance_${inst.id}`)).toEqual({ API_KEY: CANARY });
    // At the runtime: resolved into the secret env, not the plain env.
    const request = runtime.requests.at(-1)!;
    expect(request.secrets.env.API_KEY).toBe(CANARY);
    expect(request.env.API_KEY).toBeUndefined();
    // Nowhere else.
    const haystacks = {
      instance: JSON.stringify([await fleet.instances.get(inst.id), await store.instances.list()]),
      events: JSON.stringify(events),
      logs: JSON.stringify(logger.lines),
    };
    for (const [where, text] of Object.entries(haystacks))
      expect(text.includes(CANARY), `canary in ${where}`).toBe(false);
    expect(haystacks.instance).toContain(`secret_ref:instance_${inst.id}:API_KEY`);

    // Deleting the instance deletes its folder.
    await fleet.instances.delete(inst.id);
    await until(() => fake.secretsAt("dev", `/mcpfleet/instance_${inst.id}`) === undefined, "the scope to be deleted");
  });
});
