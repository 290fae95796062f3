import { afterEach, describe, expect, it } from "vitest";
import { memorySecrets, memoryStore } from "../../src/index.js";
import { dockerSpec, type Harness, harness } from "./harness.js";

const CANARY = "canary-7f3a9c1e-do-not-leak";
let h: Harness | undefined;
afterEach(async () => {
  await h?.fleet.close();
  h = undefined;
});

describe("secret values never leak", () => {
  it("the canary reaches the runtime and nothing else: events, logs, store, errors", async () => {
    const store = memoryStore();
    const secrets = memorySecrets();
    h = await harness({ store, secrets });
    const server = await h.fleet.servers.register({
      name: "with-secret",
      env_schema: [
        { name: "API_KEY", type: "string", required: true, secret: true },
        { name: "MODE", type: "string", required: false, default: "fast" },
      ],
    });
    const inst = await h.fleet.instances.create({
      name: "canary",
      server_spec_id: server.id,
      json_spec: dockerSpec(),
      secrets: { API_KEY: CANARY },
    });
    expect(inst.json_spec).toMatchObject({ environment: { API_KEY: `secret_ref:instance_${inst.id}:API_KEY` } });
    await h.fleet.instances.waitFor(inst.id, "running");
    // an update and a failing deploy exercise more paths
    h.runtime.faults.failDeploy(1, { message: "deploy broke" });
    await h.fleet.instances.update(inst.id, { json_spec: dockerSpec({ port: 9999 }), secrets: { API_KEY: CANARY } });
    await h.fleet.instances.waitFor(inst.id, "running");

    const request = h.runtime.requests.at(-1)!;
    expect(request.secrets.env.API_KEY).toBe(CANARY);
    expect(request.env.MODE).toBe("fast");
    expect(request.env.API_KEY).toBeUndefined();

    const haystacks = {
      events: JSON.stringify(h.events),
      logs: JSON.stringify(h.logs, (_k, v) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)),
      store: JSON.stringify([await store.instances.list(), await store.servers.list()]),
      api: JSON.stringify([await h.fleet.instances.get(inst.id), await h.fleet.instances.list()]),
    };
    for (const [where, text] of Object.entries(haystacks))
      expect(text.includes(CANARY), `canary found in ${where}`).toBe(false);
    expect(haystacks.logs.length).toBeGreaterThan(100); // the logger did record things
  });

  it("a literal value for a secret env var is refused with the var's path", async () => {
    h = await harness();
    const server = await h.fleet.servers.register({
      name: "strict",
      env_schema: [{ name: "API_KEY", type: "string", required: true, secret: true }],
    });
    const err = await h.fleet.instances
      .create({ name: "lit", server_spec_id: server.id, json_spec: dockerSpec({ environment: { API_KEY: CANARY } }) })
      .catch((e) => e);
    expect(["SPEC_INVALID", "SECRET_LITERAL_REFUSED"]).toContain(err.code);
    expect(err.issues.map((i: { path: string }) => i.path)).toContain("json_spec.environment.API_KEY");
    expect(err.message.includes(CANARY)).toBe(false);
    expect(JSON.stringify(err).includes(CANARY)).toBe(false);
  });

  it("a missing secret fails the instance with SECRET_NOT_FOUND naming the ref; nothing is deployed", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({
      name: "missing",
      json_spec: dockerSpec({ environment: { API_KEY: "secret_ref:instance_123:API_KEY" } }),
      secret_scopes: ["instance_123"], // the seed's scope, granted as an admin would
    });
    await h.fleet.instances.waitFor(inst.id, "failed");
    const failed = await h.fleet.instances.get(inst.id);
    expect(failed.status_reason).toMatch(/SECRET_NOT_FOUND/);
    expect(failed.status_reason).toMatch(/secret_ref:instance_123:API_KEY/);
    expect(h.runtime.deployCount(inst.id)).toBe(0);
  });
});
