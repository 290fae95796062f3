import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createFleet, type Fleet, memoryBus, memoryRuntime, memorySecrets, recordingLogger } from "@mcpfleet/core";
import { describeWith } from "@mcpfleet/core/testing";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import { decodeLegacyEvent, type LegacyRedisSource, legacyRedisSource } from "../src/index.js";
import { REDIS_URL, redisService, until } from "./helpers.js";

const redis = await redisService();
const fixture = (name: string) =>
  JSON.stringify(JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")));

describeWith([redis], "legacyRedisSource driving a real fleet (createFleet + memoryRuntime)", () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it("creates the fixture instance, reports its status on the legacy channel, then deletes it", async () => {
    const runtime = memoryRuntime();
    const fleet: Fleet = createFleet({
      runtimes: { docker: runtime },
      bus: memoryBus(),
      secrets: memorySecrets({ "secret_ref:instance_123:API_KEY": "CANARY-api-key" }),
    });
    await fleet.start();
    closers.push(() => fleet.close());
    // the legacy event references its server definition by id: register the seed server under that id
    const server = JSON.parse(readFileSync(new URL("./fixtures/server-filesystem.json", import.meta.url), "utf8"));
    // the original system keeps the secret under its own scope (instance_123): its server definition grants it
    await fleet.servers.register({
      ...server,
      id: "7b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e",
      secret_scopes: ["instance_123"],
    });
    const ns = `legacy-fleet-${randomUUID().slice(0, 8)}:`;
    const channels = {
      created: `${ns}MCPServerInstanceCreated`,
      deleted: `${ns}MCPServerInstanceDeleted`,
      statusChanged: `${ns}MCPServerInstanceStatusChanged`,
    };
    const logger = recordingLogger();
    const source: LegacyRedisSource = legacyRedisSource({
      url: REDIS_URL,
      fleet,
      channels,
      publishStatus: true,
      logger,
    });
    closers.push(async () => {
      if (source.stats.failed > 0) console.error(JSON.stringify(logger.lines));
    });
    closers.push(() => source.close());
    await source.start();
    const pub = new Redis(REDIS_URL);
    const listener = new Redis(REDIS_URL);
    closers.push(async () => {
      pub.disconnect();
      listener.disconnect();
    });
    const statuses: string[] = [];
    listener.on("message", (_c: string, m: string) => statuses.push(m));
    await listener.subscribe(channels.statusChanged);

    await pub.publish(channels.created, fixture("legacy-event-instance-created.json"));
    await until("instance created", () => source.stats.created === 1);
    const inst = await fleet.instances.get("fs-instance-1");
    expect(inst.json_spec).toMatchObject({ type: "docker", image: "mcp/filesystem:latest", port: 8001 });
    await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 15_000 });
    await until("a running status on the legacy channel", () =>
      statuses.some((m) => decodeLegacyEvent(m).data.status === "running"),
    );
    const running = statuses.map((m) => decodeLegacyEvent(m)).find((e) => e.data.status === "running");
    expect(running?.data.instance_id).toBe("6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"); // the legacy id
    expect(statuses.join("\n")).not.toContain("CANARY-api-key");

    await pub.publish(channels.created, fixture("legacy-event-instance-created.json")); // replay: skipped
    await until("replay handled", () => source.stats.received === 2);
    await source.idle();
    expect(source.stats).toMatchObject({ created: 1, skipped: 1, failed: 0 });
    expect((await fleet.instances.list()).filter((i) => i.name === "fs-instance-1")).toHaveLength(1);

    await pub.publish(channels.deleted, fixture("legacy-event-instance-deleted.json"));
    await until("deleted", () => source.stats.deleted === 1);
    await until("runtime removed the instance", () => !runtime.ids().includes(inst.id));
  });
});
