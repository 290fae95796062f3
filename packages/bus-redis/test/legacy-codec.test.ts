import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeLegacyEvent, encodeLegacyEvent } from "../src/index.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("decodeLegacyEvent", () => {
  it("decodes the created fixture (data is a JSON string) into a CloudEvents FleetEvent", () => {
    const raw = fixture("legacy-event-instance-created.json");
    const event = decodeLegacyEvent(JSON.stringify(JSON.parse(raw)), "MCPServerInstanceCreated");
    expect(event).toMatchObject({
      specversion: "1.0",
      id: "5f0c1d2e-8a4b-4c6d-9e7f-0a1b2c3d4e5f",
      type: "MCPServerInstanceCreated",
      source: "legacy-redis",
      subject: "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
      datacontenttype: "application/json",
      time: "2024-11-22T01:46:40.123Z",
      data: {
        instance_id: "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        server_spec_id: "7b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e",
        name: "fs-instance-1",
        json_spec: {
          type: "docker",
          image: "mcp/filesystem:latest",
          port: 8001,
          environment: { ALLOWED_DIRECTORIES: "/tmp,/var/tmp", API_KEY: "secret_ref:instance_123:API_KEY" },
        },
      },
    });
  });

  it("decodes the deleted fixture, which carries only instance_id", () => {
    const event = decodeLegacyEvent(fixture("legacy-event-instance-deleted.json"));
    expect(event.type).toBe("MCPServerInstanceDeleted");
    expect(event.id).toBe("8c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f");
    expect(event.data).toEqual({ instance_id: "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" });
    expect(event.time).toBe("2024-11-22T01:48:20.500Z");
  });

  it("accepts an already parsed envelope and a Buffer", () => {
    const raw = fixture("legacy-event-instance-deleted.json");
    expect(decodeLegacyEvent(JSON.parse(raw)).id).toBe(decodeLegacyEvent(Buffer.from(raw)).id);
  });

  it("refuses bad input with SPEC_INVALID and the path of every problem", () => {
    expect(() => decodeLegacyEvent("not json")).toThrow(expect.objectContaining({ code: "SPEC_INVALID" }));
    expect(() => decodeLegacyEvent(JSON.stringify({ data: "{oops" }))).toThrow(
      expect.objectContaining({ code: "SPEC_INVALID", path: "data" }),
    );
    try {
      decodeLegacyEvent(JSON.stringify({ data: JSON.stringify({ event_type: "Nope", data: {} }) }));
      expect.unreachable();
    } catch (err) {
      const paths = (err as { issues: { path: string }[] }).issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(["data.event_type", "data.event_id", "data.data.instance_id"]));
    }
    const created = JSON.parse(fixture("legacy-event-instance-created.json"));
    expect(() => decodeLegacyEvent(created, "MCPServerInstanceDeleted")).toThrow(/does not match the channel/);
    const inner = JSON.parse(created.data);
    delete inner.data.json_spec;
    expect(() => decodeLegacyEvent({ data: JSON.stringify(inner) })).toThrow(
      expect.objectContaining({ path: "data.data.json_spec" }),
    );
  });

  it("encodes back into the original envelope", () => {
    const event = decodeLegacyEvent(fixture("legacy-event-instance-deleted.json"));
    const again = decodeLegacyEvent(encodeLegacyEvent(event));
    expect(again).toEqual(event);
  });
});
