import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createFleet, type EnvSchema, FleetError, memoryRuntime } from "../../src/index.js";
import { deployRequest } from "../../src/testing/index.js";

const Lambda = z.object({ type: z.literal("lambda"), fn: z.string(), memory_mb: z.number().default(256) });

describe("deployRequest: the DeployRequest a fleet would build", () => {
  it("equals what the engine hands the runtime (env schema defaults, secrets, spec hash, custom type)", async () => {
    const runtime = memoryRuntime({ types: ["docker", "lambda"] });
    const fleet = createFleet({ specTypes: { lambda: Lambda }, runtimes: { docker: runtime, lambda: runtime } });
    await fleet.start();
    try {
      const env_schema: EnvSchema = [
        { name: "LEVEL", type: "string", required: false, secret: false, default: "info" },
        { name: "PORT", type: "integer", required: false, secret: false },
        { name: "API_KEY", type: "string", secret: true, required: true },
      ];
      const server = await fleet.servers.register({ name: "s", docker_image_url: "mcp/x:1", env_schema });
      const cases = [
        { json_spec: { type: "docker", image: "mcp/x:1", environment: { PORT: "8080" } }, server_spec_id: server.id },
        { json_spec: { type: "lambda", fn: "resize", environment: { PORT: 1 } } },
      ];
      for (const c of cases) {
        const secrets = { API_KEY: "canary-dr-1" };
        const inst = await fleet.instances.create({ name: `i${cases.indexOf(c)}`, ...c, secrets });
        await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
        const engine = runtime.requests.filter((r) => r.instance.id === inst.id).at(-1)!;
        const built = deployRequest(c.json_spec, {
          id: inst.id,
          name: inst.name,
          secrets,
          specTypes: { lambda: Lambda },
          ...(c.server_spec_id ? { envSchema: env_schema, serverSpecId: server.id } : {}),
        });
        expect(built).toEqual(engine);
        expect(built.instance.specHash).toBe(inst.spec_hash);
      }
    } finally {
      await fleet.close();
      await runtime.close();
    }
  });

  it("variant specs differ in hash; a ref without a value is SECRET_NOT_FOUND; refs resolve from `refs` (their scopes granted)", () => {
    const a = deployRequest({ type: "process", command: ["node", "s.js"] }, { id: "x" });
    const b = deployRequest({ type: "process", command: ["node", "s.js"], environment: { V: "b" } }, { id: "x" });
    expect(a.instance.specHash).not.toBe(b.instance.specHash);
    expect(b.env).toEqual({ V: "b" });
    const spec = {
      type: "url",
      endpoint: "https://example.com/mcp",
      authentication: { type: "bearer", token: "secret_ref:vault:tok" },
    };
    const fails = (o: Parameters<typeof deployRequest>[1]) => {
      try {
        deployRequest(spec, o);
      } catch (e) {
        return e as FleetError;
      }
      throw new Error("expected a FleetError");
    };
    // a ref to another scope is refused as the engine refuses it without a grant
    expect(fails({}).code).toBe("SECRET_SCOPE_REFUSED");
    const own = { ...spec, authentication: { type: "bearer", token: "secret_ref:instance_y:tok" } };
    const missing = (() => {
      try {
        deployRequest(own, { id: "y" });
      } catch (e) {
        return e as FleetError;
      }
    })();
    expect(FleetError.isInstance(missing)).toBe(true);
    expect(missing?.code).toBe("SECRET_NOT_FOUND");
    expect(missing?.path).toBe("authentication.token");
    expect(deployRequest(spec, { refs: { "secret_ref:vault:tok": "t0k" } }).secrets.authToken).toBe("t0k");
  });
});
