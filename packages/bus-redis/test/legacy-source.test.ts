import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createEvent, recordingLogger } from "@mcpfleet/core";
import { describeWith } from "@mcpfleet/core/testing";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import { decodeLegacyEvent, type LegacyRedisSource, legacyRedisSource } from "../src/index.js";
import { fakeFleet } from "./fake-fleet.js";
import { REDIS_URL, redisService, until } from "./helpers.js";
import { freePort } from "./own-redis.js";

const redis = await redisService();
const fixture = (name: string) =>
  JSON.stringify(JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")));
const CREATED = fixture("legacy-event-instance-created.json");
const DELETED = fixture("legacy-event-instance-deleted.json");

describeWith([redis], "legacyRedisSource on real Redis pub/sub", () => {
  const open: (LegacyRedisSource | Redis)[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      if (o instanceof Redis) o.disconnect();
      else await o.close();
    }
  });

  function setup(publishStatus = false) {
    const ns = `legacy-test-${randomUUID().slice(0, 8)}:`;
    const channels = {
      created: `${ns}MCPServerInstanceCreated`,
      deleted: `${ns}MCPServerInstanceDeleted`,
      statusChanged: `${ns}MCPServerInstanceStatusChanged`,
    };
    const fake = fakeFleet();
    const logger = recordingLogger();
    const source = legacyRedisSource({ url: REDIS_URL, fleet: fake.fleet, channels, publishStatus, logger });
    const pub = new Redis(REDIS_URL);
    open.push(source, pub);
    return { ...fake, source, pub, channels, logger };
  }

  it("start keeps trying while Redis is unreachable; its signal gives up with BUS_UNAVAILABLE, nothing left connecting", async () => {
    const fake = fakeFleet();
    const source = legacyRedisSource({ url: `redis://127.0.0.1:${await freePort()}`, fleet: fake.fleet });
    open.push(source);
    const abort = new AbortController();
    const started = source.start({ signal: abort.signal });
    let settled = false;
    started.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false); // still trying: no answer from Redis yet
    abort.abort();
    await expect(started).rejects.toMatchObject({ code: "BUS_UNAVAILABLE" });
    // an aborted signal refuses at once; close ends cleanly
    await expect(source.start({ signal: abort.signal })).rejects.toMatchObject({ code: "BUS_UNAVAILABLE" });
  });

  it("turns the created and deleted fixtures into fleet commands, idempotently", async () => {
    const { source, pub, channels, instances, calls } = setup();
    await source.start();
    expect(await pub.publish(channels.created, CREATED)).toBe(1);
    await pub.publish(channels.created, CREATED); // duplicate: skipped
    await until("two created messages", () => source.stats.received === 2);
    await source.idle();
    expect(source.stats).toMatchObject({ created: 1, skipped: 1, failed: 0 });
    const creates = calls.filter((c) => c.method === "create");
    expect(creates).toHaveLength(1);
    expect(creates[0]?.arg).toMatchObject({
      name: "fs-instance-1",
      server_spec_id: "7b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e",
      json_spec: { type: "docker", image: "mcp/filesystem:latest", port: 8001 },
    });
    expect(instances.size).toBe(1);

    await pub.publish(channels.deleted, DELETED);
    await pub.publish(channels.deleted, DELETED); // already gone: skipped
    await until("deletes", () => source.stats.received === 4);
    await source.idle();
    expect(instances.size).toBe(0);
    expect(source.stats).toMatchObject({ created: 1, deleted: 1, skipped: 2, failed: 0 });
  });

  it("skips a created event whose instance name already exists", async () => {
    const { source, pub, channels, fleet, calls } = setup();
    await fleet.instances.create({ name: "fs-instance-1", json_spec: { type: "url", endpoint: "http://x" } });
    await source.start();
    await pub.publish(channels.created, CREATED);
    await until("message", () => source.stats.received === 1);
    await source.idle();
    expect(source.stats.skipped).toBe(1);
    expect(calls.filter((c) => c.method === "create")).toHaveLength(1); // only ours
  });

  it("counts undecodable messages, logs without the payload, and keeps going", async () => {
    const { source, pub, channels, logger, instances } = setup();
    await source.start();
    const canary = "CANARY-s3cr3t-value";
    await pub.publish(
      channels.created,
      JSON.stringify({ data: JSON.stringify({ event_type: "MCPServerInstanceCreated", secret: canary }) }),
    );
    await pub.publish(channels.created, "garbage");
    await pub.publish(channels.created, CREATED);
    await until("three messages", () => source.stats.received === 3);
    await source.idle();
    expect(source.stats).toMatchObject({ failed: 2, created: 1 });
    expect(instances.size).toBe(1);
    expect(JSON.stringify(logger.lines)).not.toContain(canary);
  });

  it("publishes MCPServerInstanceStatusChanged back on the legacy channel with the legacy id", async () => {
    const { source, pub, channels, emit, instances } = setup(true);
    await source.start();
    const listener = new Redis(REDIS_URL);
    open.push(listener);
    const got: string[] = [];
    listener.on("message", (_c: string, m: string) => got.push(m));
    await listener.subscribe(channels.statusChanged);
    await pub.publish(channels.created, CREATED);
    await until("created", () => instances.size === 1);
    const inst = [...instances.values()][0]!;
    emit(
      createEvent("MCPServerInstanceStatusChanged", inst.id, {
        instance_id: inst.id,
        status: "running",
        previous_status: "starting",
      }),
    );
    emit(createEvent("MCPServerInstanceUpdated", inst.id, { instance_id: inst.id })); // not forwarded
    await until("status message", () => got.length === 1);
    const decoded = decodeLegacyEvent(got[0]!, "MCPServerInstanceStatusChanged");
    expect(decoded.data).toMatchObject({
      instance_id: "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
      status: "running",
      previous_status: "starting",
    });
    expect(source.stats.statusPublished).toBe(1);
  });

  it("validates its options", () => {
    expect(() => legacyRedisSource({} as never)).toThrow(
      expect.objectContaining({ code: "OPTIONS_INVALID", path: "fleet" }),
    );
    expect(() => legacyRedisSource({ fleet: fakeFleet().fleet, url: "http://x" })).toThrow(/option "url"/);
  });
});
