import { afterEach, describe, expect, it } from "vitest";
import { FleetError, memorySecrets } from "../../src/index.js";
import { dockerSpec, eventually, type Harness, harness, statuses } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.fleet.close();
  h = undefined;
});

describe("fleet lifecycle on the memory runtime", () => {
  it("create -> running, with every status change published in order", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({ name: "a", json_spec: dockerSpec() });
    expect(inst.status).toBe("pending");
    expect(inst.generation).toBe(1);
    const running = await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    expect(running.observed_generation).toBe(1);
    expect(running.endpoint).toBe(`memory://${inst.id}`);
    expect(statuses(h.events, inst.id)).toEqual(["provisioning", "starting", "running"]);
    const created = h.events.find((e) => e.type === "MCPServerInstanceCreated");
    expect(created).toMatchObject({ specversion: "1.0", subject: inst.id, datacontenttype: "application/json" });
    expect(created?.data).toMatchObject({ instance_id: inst.id, name: "a", generation: 1 });
    expect(h.runtime.deployCount(inst.id)).toBe(1);
  });

  it("stop -> stopped removes the deployment; start -> running deploys again", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({ name: "b", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "running");
    await h.fleet.instances.stop(inst.id);
    const stopped = await h.fleet.instances.waitFor(inst.id, "stopped");
    expect(stopped.desired_state).toBe("stopped");
    expect(await h.runtime.inspect(inst.id)).toBeUndefined();
    expect(statuses(h.events, inst.id).slice(-2)).toEqual(["stopping", "stopped"]);
    await h.fleet.instances.start(inst.id);
    await h.fleet.instances.waitFor(inst.id, "running");
    expect(h.runtime.deployCount(inst.id)).toBe(2);
  });

  it("delete removes the deployment, the secrets and the document", async () => {
    const secrets = memorySecrets();
    h = await harness({ secrets });
    const inst = await h.fleet.instances.create({ name: "c", json_spec: dockerSpec(), secrets: { API_KEY: "k-123" } });
    await h.fleet.instances.waitFor(inst.id, "running");
    expect(await secrets.get({ scope: `instance_${inst.id}`, key: "API_KEY" })).toBe("k-123");
    await h.fleet.instances.delete(inst.id);
    await h.fleet.instances.waitFor(inst.id, "deleted").catch(() => undefined);
    await eventually(async () => (await h!.fleet.instances.list()).length === 0, 5000, "document removal");
    expect(h.runtime.ids()).toEqual([]);
    const err = await secrets.get({ scope: `instance_${inst.id}`, key: "API_KEY" }).catch((e) => e);
    expect(FleetError.isInstance(err) && err.code).toBe("SECRET_NOT_FOUND");
    expect(statuses(h.events, inst.id).slice(-2)).toEqual(["deleting", "deleted"]);
    expect(h.events.some((e) => e.type === "MCPServerInstanceDeleted" && e.subject === inst.id)).toBe(true);
  });

  it("a spec update bumps the generation and replaces the deployment", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({ name: "d", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "running");
    const updated = await h.fleet.instances.update(inst.id, { json_spec: dockerSpec({ port: 9000 }) });
    expect(updated.generation).toBe(2);
    expect(updated.spec_hash).not.toBe(inst.spec_hash);
    await eventually(async () => (await h!.runtime.inspect(inst.id))?.specHash === updated.spec_hash);
    const after = await h.fleet.instances.waitFor(inst.id, "running");
    expect(after.observed_generation).toBe(2);
    expect(h.runtime.deployCount(inst.id)).toBe(2);
  });

  it("an update that does not change the spec does not redeploy", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({ name: "e", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "running");
    const updated = await h.fleet.instances.update(inst.id, { description: "same spec", json_spec: dockerSpec() });
    expect(updated.generation).toBe(1);
    await h.fleet.idle();
    expect(h.runtime.deployCount(inst.id)).toBe(1);
  });

  it("get and start/stop accept the instance name; unknown ids are NOT_FOUND", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({ name: "by-name", json_spec: dockerSpec() });
    expect((await h.fleet.instances.get("by-name")).id).toBe(inst.id);
    const err = await h.fleet.instances.get("nope").catch((e) => e);
    expect(err.code).toBe("NOT_FOUND");
  });

  it("duplicate names are refused; bad names are SPEC_INVALID with a path", async () => {
    h = await harness();
    await h.fleet.instances.create({ name: "dup", json_spec: dockerSpec() });
    expect((await h.fleet.instances.create({ name: "dup", json_spec: dockerSpec() }).catch((e: any) => e)).code).toBe(
      "ALREADY_EXISTS",
    );
    const bad = await h.fleet.instances.create({ name: "has space", json_spec: dockerSpec() }).catch((e) => e);
    expect(bad.code).toBe("SPEC_INVALID");
    expect(bad.issues[0].path).toBe("name");
  });

  it("a spec error lists every issue under json_spec", async () => {
    h = await harness();
    const err = await h.fleet.instances
      .create({ name: "x", json_spec: { type: "docker", image: "bad image;rm -rf /", port: 70000 } })
      .catch((e) => e);
    expect(FleetError.isInstance(err)).toBe(true);
    expect(err.code).toBe("SPEC_INVALID");
    const paths = err.issues.map((i: { path: string }) => i.path);
    expect(paths).toContain("json_spec.image");
    expect(paths).toContain("json_spec.port");
  });

  it("a spec type with no runtime fails with RUNTIME_UNAVAILABLE", async () => {
    h = await harness({ runtimes: {} });
    const inst = await h.fleet.instances.create({ name: "nort", json_spec: dockerSpec() });
    const err = await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 3000 }).catch((e) => e);
    expect(err.code).toBe("DEPLOY_FAILED");
    const failed = await h.fleet.instances.get(inst.id);
    expect(failed.status).toBe("failed");
    expect(failed.status_reason).toMatch(/no runtime configured for spec type "docker"/);
  });

  it("waitFor times out with the current status, and honours abort", async () => {
    h = await harness({ role: "api" });
    const inst = await h.fleet.instances.create({ name: "w", json_spec: dockerSpec() });
    const err = await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 50 }).catch((e) => e);
    expect(err.code).toBe("TIMEOUT");
    expect(err.message).toMatch(/status pending/);
    const ctrl = new AbortController();
    const p = h.fleet.instances.waitFor(inst.id, "running", { signal: ctrl.signal });
    ctrl.abort();
    expect((await p.catch((e) => e)).code).toBe("ABORTED");
  });

  it("servers: register, refuse delete while in use, then delete", async () => {
    h = await harness();
    const server = await h.fleet.servers.register({ name: "srv", docker_image_url: "mcp/x:1", env_schema: [] });
    const inst = await h.fleet.instances.create({ name: "u", server_spec_id: server.id, json_spec: dockerSpec() });
    const err = await h.fleet.servers.delete(server.id).catch((e) => e);
    expect(err.code).toBe("IN_USE");
    await h.fleet.instances.delete(inst.id);
    await eventually(async () => (await h!.fleet.instances.list()).length === 0);
    await h.fleet.servers.delete(server.id);
    expect((await h.fleet.servers.list()).length).toBe(0);
    expect(h.events.map((e) => e.type)).toContain("MCPServerRegistered");
    expect(h.events.map((e) => e.type)).toContain("MCPServerDeleted");
  });

  it("close leaves running instances running and is idempotent; await using works", async () => {
    const local = await harness();
    const inst = await local.fleet.instances.create({ name: "keep", json_spec: dockerSpec() });
    await local.fleet.instances.waitFor(inst.id, "running");
    {
      await using _f = local.fleet;
    }
    await local.fleet.close();
    expect((await local.runtime.inspect(inst.id))?.phase).toBe("running");
    expect((await local.fleet.connection(inst.id).catch((e) => e)).code).toBe("CLOSED");
  });
});
