import { describe, expect, it } from "vitest";
import { createFleet, type FleetError, memoryBus, memoryRuntime, memoryStore } from "../../src/index.js";

const spec = (replicas?: number) => ({
  type: "docker",
  image: "mcp/x:1",
  port: 8000,
  ...(replicas ? { replicas } : {}),
});

describe("replicas need a runtime that can run them", () => {
  it("refused at create and update where the runtime cannot (UNSUPPORTED at json_spec.replicas)", async () => {
    await using fleet = createFleet({ runtimes: { docker: memoryRuntime({ replicas: false, name: "one-copy" }) } });
    const err = (await fleet.instances.create({ name: "a", json_spec: spec(2) }).catch((e) => e)) as FleetError;
    expect(err.code).toBe("UNSUPPORTED");
    expect(err.path).toBe("json_spec.replicas");
    expect(err.message).toContain("one-copy");
    expect(await fleet.instances.list()).toEqual([]);
    const ok = await fleet.instances.create({ name: "b", json_spec: spec(1), start: false });
    await expect(fleet.instances.update(ok.id, { json_spec: { ...spec(3), type: "container" } })).rejects.toMatchObject(
      {
        code: "UNSUPPORTED",
      },
    );
  });

  it("accepted where the runtime runs replicas", async () => {
    await using fleet = createFleet({ runtimes: { docker: memoryRuntime() } });
    const inst = await fleet.instances.create({ name: "a", json_spec: spec(2), start: false });
    expect(inst.json_spec.replicas).toBe(2);
  });

  it("an API-only process cannot check; the worker's deploy fails the instance with the reason", async () => {
    const store = memoryStore();
    const bus = memoryBus();
    await using api = createFleet({ role: "api", store, bus, runtimes: {} });
    await using worker = createFleet({
      role: "worker",
      store,
      bus,
      runtimes: { docker: memoryRuntime({ replicas: false }) },
    });
    await api.start();
    await worker.start();
    const inst = await api.instances.create({ name: "a", json_spec: spec(2) });
    const failed = await api.instances.waitFor(inst.id, "failed", { timeoutMs: 5000 });
    expect(failed.status_reason).toContain("cannot run replicas");
    await store.close();
    await bus.close();
  });
});

describe("a server's docker_image_url is the default image of its instances", () => {
  it("fills a missing image at create and update; an explicit image wins", async () => {
    await using fleet = createFleet({ runtimes: { docker: memoryRuntime() } });
    const server = await fleet.servers.register({ name: "fs", docker_image_url: "mcp/filesystem:latest" });
    const a = await fleet.instances.create({
      name: "a",
      server_spec_id: server.id,
      json_spec: { type: "docker", port: 8001 },
      start: false,
    });
    expect(a.json_spec.image).toBe("mcp/filesystem:latest");
    const b = await fleet.instances.create({
      name: "b",
      server_spec_id: server.id,
      json_spec: { type: "docker", image: "mcp/other:2" },
      start: false,
    });
    expect(b.json_spec.image).toBe("mcp/other:2");
    const updated = await fleet.instances.update(b.id, { json_spec: { type: "docker", port: 9000 } });
    expect(updated.json_spec.image).toBe("mcp/filesystem:latest");
    // without a server the image stays required
    await expect(fleet.instances.create({ name: "c", json_spec: { type: "docker" } })).rejects.toMatchObject({
      code: "SPEC_INVALID",
    });
  });
});
