import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseContainerStartRequest } from "../../src/index.js";
import { type Harness, harness, seed } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.fleet.close();
  h = undefined;
});

const withServer = (doc: Record<string, unknown>, id: string) => ({ ...doc, server_spec_id: id });

describe("seed documents through the fleet", () => {
  it("server-filesystem + instance-filesystem: required var present, default overridden", async () => {
    h = await harness();
    const server = await h.fleet.servers.register(seed("server-filesystem.json"));
    const inst = await h.fleet.instances.create(withServer(seed("instance-filesystem.json"), server.id) as never);
    await h.fleet.instances.waitFor(inst.id, "running");
    const req = h.runtime.requests.at(-1)!;
    expect(req.env).toMatchObject({ ALLOWED_DIRECTORIES: "/tmp,/var/tmp", MAX_FILE_SIZE: "5MB" });
  });

  it("instance-filesystem without the required var is refused with its path", async () => {
    h = await harness();
    const server = await h.fleet.servers.register(seed("server-filesystem.json"));
    const doc = seed("instance-filesystem.json");
    delete doc.json_spec.environment.ALLOWED_DIRECTORIES;
    const err = await h.fleet.instances.create(withServer(doc, server.id) as never).catch((e) => e);
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues.map((i: { path: string }) => i.path)).toContain("json_spec.environment.ALLOWED_DIRECTORIES");
  });

  it("server-external-url + instance-external-url register and create", async () => {
    // the seed points at localhost: loopback is allowed only through the allowlist (the quick start's)
    h = await harness({ endpointPolicy: { allow: ["loopback"] } });
    const server = await h.fleet.servers.register(seed("server-external-url.json"));
    const inst = await h.fleet.instances.create(withServer(seed("instance-external-url.json"), server.id) as never);
    expect(inst.json_spec.type).toBe("url");
    expect(inst.server_spec_id).toBe(server.id);
  });

  it("container-start-request: the host bind mount is refused at create, naming the path", async () => {
    h = await harness();
    const spec = parseContainerStartRequest(seed("container-start-request.json")).json_spec;
    const err = await h.fleet.instances.create({ name: "started", json_spec: spec }).catch((e) => e);
    expect(err.code).toBe("HOST_PATH_REFUSED");
    expect(err.path).toBe("json_spec.volumes.0.source");
    expect(err.message).toMatch(/\/host\/path/);
    expect(await h.fleet.instances.list()).toEqual([]);
  });

  it("container-start-request deploys when the host allows the path, with its limits", async () => {
    h = await harness({ allowedHostPaths: ["/host"] });
    const spec = parseContainerStartRequest(seed("container-start-request.json")).json_spec;
    const inst = await h.fleet.instances.create({ name: "allowed", json_spec: spec });
    await h.fleet.instances.waitFor(inst.id, "running");
    const req = h.runtime.requests.at(-1)!;
    expect(req.spec).toMatchObject({
      type: "docker",
      restartPolicy: "unless-stopped",
      labels: { "custom.label": "value" },
    });
    expect((req.spec as { resources?: { memoryBytes?: number } }).resources?.memoryBytes).toBe(512 * 1024 * 1024);
  });

  it("templates: both formats load; fastapi instantiates with the seed request and 2 replicas", async () => {
    h = await harness({ allowedHostPaths: [resolve("./app")] });
    const mine = await h.fleet.templates.load(seed("template-my-mcp.json"));
    expect(mine.env_schema.find((e) => e.name === "MCP_SERVICE_NAME")?.required).toBe(true);
    await h.fleet.templates.load(seed("template-fastapi.json"));
    expect((await h.fleet.templates.list()).map((t) => t.key).sort()).toEqual(["fastapi", "my-mcp"]);
    const body = seed("create-from-template-request.json");
    const inst = await h.fleet.templates.instantiate(body.template, body);
    expect(inst.name).toBe("my-app");
    await h.fleet.instances.waitFor(inst.id, "running");
    const req = h.runtime.requests.at(-1)!;
    expect(req.spec).toMatchObject({ type: "docker", replicas: 2, image: "python:3.11-slim" });
    expect(req.env).toMatchObject({ DATABASE_URL: "sqlite:///app.db", PYTHONPATH: "/app" });
  });
});
