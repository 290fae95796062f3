import { afterEach, describe, expect, it } from "vitest";
import { memorySecrets, memoryStore } from "../../src/index.js";
import { dockerSpec, type Harness, harness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.fleet.close();
  h = undefined;
});

const CANARY = "canary-scope-7f3a91";

describe("secret scopes", () => {
  it("an instance cannot reference another instance's secrets, on create or update", async () => {
    const secrets = memorySecrets();
    h = await harness({ secrets });
    const victim = await h.fleet.instances.create({
      name: "victim",
      json_spec: dockerSpec(),
      secrets: { API_KEY: CANARY },
    });
    const stolen = `secret_ref:instance_${victim.id}:API_KEY`;
    const err = await h.fleet.instances
      .create({ name: "thief", json_spec: dockerSpec({ environment: { STOLEN: stolen } }) })
      .catch((e) => e);
    expect(err.code).toBe("SECRET_SCOPE_REFUSED");
    expect(err.path).toBe("json_spec.environment.STOLEN");
    expect(JSON.stringify(err)).not.toContain(CANARY);
    expect((await h.fleet.instances.list()).map((i) => i.name)).toEqual(["victim"]);

    const thief = await h.fleet.instances.create({ name: "thief", json_spec: dockerSpec() });
    const upd = await h.fleet.instances
      .update(thief.id, { json_spec: dockerSpec({ environment: { STOLEN: stolen } }) })
      .catch((e) => e);
    expect(upd.code).toBe("SECRET_SCOPE_REFUSED");
    // url specs: token and headers are checked too
    const url = await h.fleet.instances
      .create({
        name: "thief-url",
        json_spec: {
          type: "url",
          endpoint: "https://mcp.example.com/mcp",
          headers: { "X-Key": stolen },
        },
      })
      .catch((e) => e);
    expect(url.code).toBe("SECRET_SCOPE_REFUSED");
    expect(url.path).toBe("json_spec.headers.X-Key");
  });

  it("scopes granted by the server definition, an admin grant or the fleet are allowed; others are not", async () => {
    h = await harness({ sharedSecretScopes: ["fleet-shared"] });
    const server = await h.fleet.servers.register({ name: "srv", secret_scopes: ["team-a"] });
    expect(server.secret_scopes).toEqual(["team-a"]);
    const env = {
      A: "secret_ref:team-a:K",
      B: "secret_ref:fleet-shared:K",
    };
    await expect(
      h.fleet.instances.create({ name: "ok", server_spec_id: server.id, json_spec: dockerSpec({ environment: env }) }),
    ).resolves.toMatchObject({ name: "ok" });
    const refused = await h.fleet.instances
      .create({ name: "no", json_spec: dockerSpec({ environment: env }) })
      .catch((e) => e);
    expect(refused.code).toBe("SECRET_SCOPE_REFUSED");
    expect(refused.issues.map((i: { path: string }) => i.path)).toEqual(["json_spec.environment.A"]);
    const granted = await h.fleet.instances.create({
      name: "granted",
      json_spec: dockerSpec({ environment: env }),
      secret_scopes: ["team-a"],
    });
    expect(granted.secret_scopes).toEqual(["team-a"]);
    // withdrawing the grant refuses the spec that needs it
    const withdrawn = await h.fleet.instances.update(granted.id, { secret_scopes: [] }).catch((e) => e);
    expect(withdrawn.code).toBe("SECRET_SCOPE_REFUSED");
  });

  it("a stored spec with a foreign ref (written around the API) fails at deploy; nothing is deployed", async () => {
    const store = memoryStore();
    h = await harness({ store, secrets: memorySecrets() });
    const inst = await h.fleet.instances.create({ name: "later", json_spec: dockerSpec(), start: false });
    const cur = (await store.instances.get(inst.id))!;
    await store.instances.update({
      ...cur,
      json_spec: dockerSpec({ environment: { X: "secret_ref:instance_other:K" } }),
    });
    await h.fleet.instances.start(inst.id);
    const failed = await h.fleet.instances.waitFor(inst.id, "failed");
    expect(failed.status_reason).toMatch(/SECRET_SCOPE_REFUSED/);
    expect(h.runtime.deployCount(inst.id)).toBe(0);
  });
});

describe("literal credentials", () => {
  it("a url spec's literal token and header values move into the secret store; the spec keeps refs", async () => {
    const secrets = memorySecrets();
    h = await harness({ secrets });
    const inst = await h.fleet.instances.create({
      name: "remote",
      json_spec: {
        type: "url",
        endpoint: "https://mcp.example.com/mcp",
        authentication: { type: "bearer", token: CANARY },
        headers: { "X-Api-Key": `${CANARY}-h`, Accept: "application/json" },
      },
    });
    const spec = inst.json_spec as { authentication: { token: string }; headers: Record<string, string> };
    expect(spec.authentication.token).toBe(`secret_ref:instance_${inst.id}:AUTH_TOKEN`);
    expect(spec.headers["X-Api-Key"]).toBe(`secret_ref:instance_${inst.id}:headers.X-Api-Key`);
    expect(JSON.stringify(await h.fleet.instances.get(inst.id))).not.toContain(CANARY);
    expect(JSON.stringify(h.events)).not.toContain(CANARY);
    expect(await secrets.get({ scope: `instance_${inst.id}`, key: "AUTH_TOKEN" })).toBe(CANARY);
    expect(await secrets.get({ scope: `instance_${inst.id}`, key: "headers.X-Api-Key" })).toBe(`${CANARY}-h`);
  });

  it("names shaped like instance ids are refused (they could never be reached by name)", async () => {
    h = await harness();
    const err = await h.fleet.instances
      .create({ name: "0b3f5a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", json_spec: dockerSpec() })
      .catch((e) => e);
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.path).toBe("name");
  });
});
