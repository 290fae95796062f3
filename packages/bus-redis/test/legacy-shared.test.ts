import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEvent, fileStore, memoryStore } from "@mcpfleet/core";
import { describeWith } from "@mcpfleet/core/testing";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import { decodeLegacyEvent, LEGACY_ID_RECORD_KIND, type LegacyRedisSource, legacyRedisSource } from "../src/index.js";
import { fakeFleet } from "./fake-fleet.js";
import { REDIS_URL, redisService, until } from "./helpers.js";

const redis = await redisService();
const fixture = (name: string) =>
  JSON.stringify(JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")));
const CREATED = fixture("legacy-event-instance-created.json");
const DELETED = fixture("legacy-event-instance-deleted.json");
const LEGACY_ID = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

describeWith([redis], "legacyRedisSource with a stored id mapping (real Redis)", () => {
  const open: (LegacyRedisSource | Redis)[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      if (o instanceof Redis) o.disconnect();
      else await o.close();
    }
  });
  const channelsOf = () => {
    const ns = `legacy-shared-${randomUUID().slice(0, 8)}:`;
    return {
      created: `${ns}MCPServerInstanceCreated`,
      deleted: `${ns}MCPServerInstanceDeleted`,
      statusChanged: `${ns}MCPServerInstanceStatusChanged`,
    };
  };
  const client = () => {
    const r = new Redis(REDIS_URL);
    open.push(r);
    return r;
  };

  it("stores the mapping in the store's records, so a restarted source deletes by it", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "mcpfleet-legacy-")), "store.json");
    const channels = channelsOf();
    const fake = fakeFleet();
    const pub = client();
    const first = legacyRedisSource({
      url: REDIS_URL,
      fleet: fake.fleet,
      channels,
      records: fileStore({ path }).records,
    });
    open.push(first);
    await first.start();
    await pub.publish(channels.created, CREATED);
    await until("created", () => first.stats.created === 1);
    await first.idle();
    const inst = [...fake.instances.values()][0]!;
    const record = await fileStore({ path }).records!.get(`legacy-id:${LEGACY_ID}`);
    expect(record).toMatchObject({ kind: LEGACY_ID_RECORD_KIND, name: inst.id, data: { legacy_id: LEGACY_ID } });
    await first.close();
    // the description marker is gone (edited by someone): only the stored mapping knows the instance
    fake.instances.set(inst.id, { ...inst, description: "edited" });
    const second = legacyRedisSource({
      url: REDIS_URL,
      fleet: fake.fleet,
      channels,
      records: fileStore({ path }).records,
    });
    open.push(second);
    await second.start();
    const before = fake.calls.length;
    await pub.publish(channels.deleted, DELETED);
    await until("deleted", () => second.stats.received === 1);
    await second.idle();
    expect(second.stats).toMatchObject({ deleted: 1, failed: 0 });
    expect(fake.instances.size).toBe(0);
    // found by the mapping directly, never by listing every instance
    expect(fake.calls.slice(before).map((c) => c.method)).toEqual(["get", "delete"]);
  });

  it("two sources on one fleet: one create, each status change published once with the legacy id", async () => {
    const channels = channelsOf();
    const fake = fakeFleet();
    const store = memoryStore();
    const [a, b] = [0, 1].map(() =>
      legacyRedisSource({ url: REDIS_URL, fleet: fake.fleet, channels, publishStatus: true, records: store.records }),
    ) as [LegacyRedisSource, LegacyRedisSource];
    open.push(a, b);
    await Promise.all([a.start(), b.start()]);
    const listener = client();
    const got: string[] = [];
    listener.on("message", (_c: string, m: string) => got.push(m));
    await listener.subscribe(channels.statusChanged);
    await client().publish(channels.created, CREATED);
    await until("both handled", () => a.stats.received === 1 && b.stats.received === 1);
    await Promise.all([a.idle(), b.idle()]);
    expect(fake.instances.size).toBe(1);
    expect(a.stats.created + b.stats.created).toBe(1);
    const inst = [...fake.instances.values()][0]!;
    for (const [status, previous] of [
      ["running", "starting"],
      ["deleted", "deleting"],
    ] as const)
      fake.emit(createEvent("MCPServerInstanceStatusChanged", inst.id, { status, previous_status: previous }));
    await until("two status messages", () => got.length >= 2);
    await Promise.all([a.idle(), b.idle()]);
    expect(got).toHaveLength(2);
    expect(got.map((m) => decodeLegacyEvent(m, "MCPServerInstanceStatusChanged").data)).toEqual([
      { instance_id: LEGACY_ID, status: "running", previous_status: "starting", status_reason: null },
      { instance_id: LEGACY_ID, status: "deleted", previous_status: "deleting", status_reason: null },
    ]);
    expect(a.stats.statusPublished + b.stats.statusPublished).toBe(2);
    // the instance is gone: its mapping too
    expect(await store.records!.get(`legacy-id:${LEGACY_ID}`)).toBeUndefined();
  });

  it("refuses a records option that is not a repository", () => {
    expect(() => legacyRedisSource({ fleet: fakeFleet().fleet, records: {} as never })).toThrow(
      expect.objectContaining({ code: "OPTIONS_INVALID", path: "records" }),
    );
  });
});
