import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type CustomSpec,
  createFleet,
  type Fleet,
  FleetError,
  memoryRuntime,
  memorySecrets,
  parseInstanceSpec,
  type SpecParseFunction,
  specTypeRegistry,
} from "../../src/index.js";

/** An adopter's spec type as a zod 4 schema (zod implements Standard Schema's `~standard`). */
const LambdaSpec = z.object({
  type: z.literal("lambda"),
  function_name: z.string().min(1),
  memory_mb: z.number().int().min(128).max(10240).default(512),
  region: z.string().default("eu-west-1"),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({ LOG_LEVEL: "info" }),
});

/** The same idea as a hand-written parse function (no schema library). */
const parseQueue: SpecParseFunction = (raw) => {
  const issues = [];
  if (typeof raw.queue !== "string" || raw.queue.length === 0)
    issues.push({ path: "queue", message: "must be a queue name" });
  if (raw.batch !== undefined && (!Number.isInteger(raw.batch) || (raw.batch as number) < 1))
    issues.push({ path: "batch", message: "must be a positive integer" });
  if (issues.length > 0) throw new FleetError("SPEC_INVALID", "invalid queue spec", { path: issues[0]!.path, issues });
  return { queue: raw.queue, batch: raw.batch ?? 10 };
};

const error = async (p: Promise<unknown> | (() => unknown)): Promise<FleetError> => {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    if (FleetError.isInstance(err)) return err;
    throw err;
  }
  throw new Error("expected a FleetError");
};

let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

async function lambdaFleet() {
  const runtime = memoryRuntime({ name: "lambda-rt", types: ["lambda", "queue"] });
  const secrets = memorySecrets();
  fleet = createFleet({
    specTypes: { lambda: LambdaSpec, queue: parseQueue },
    runtimes: { lambda: runtime, queue: runtime },
    secrets,
    reconciler: { backoffBaseMs: 5, backoffMaxMs: 20 },
  });
  await fleet.start();
  return { fleet, runtime, secrets };
}

describe("createFleet({ specTypes }): a Standard Schema (zod)", () => {
  it("reaches the runtime with the schema's defaults applied, and runs", async () => {
    const { fleet, runtime } = await lambdaFleet();
    const inst = await fleet.instances.create({ name: "fn", json_spec: { type: "lambda", function_name: "resize" } });
    await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    const spec = runtime.requests.at(-1)?.spec as CustomSpec;
    expect(spec).toMatchObject({
      type: "lambda",
      function_name: "resize",
      memory_mb: 512,
      region: "eu-west-1",
      environment: { LOG_LEVEL: "info" },
      raw: { type: "lambda", function_name: "resize" },
    });
    expect(runtime.requests.at(-1)?.env).toEqual({ LOG_LEVEL: "info" });
    // the stored document stays as written
    expect((await fleet.instances.get(inst.id)).json_spec).toEqual({ type: "lambda", function_name: "resize" });
  });

  it("a bad spec is SPEC_INVALID with every path from the schema's issues", async () => {
    const { fleet, runtime } = await lambdaFleet();
    const err = await error(
      fleet.instances.create({
        name: "bad",
        json_spec: { type: "lambda", function_name: "", memory_mb: 64, environment: { OK: "1", "BAD-NAME": "x" } },
      }),
    );
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues.map((i) => i.path).sort()).toEqual([
      "json_spec.environment.BAD-NAME",
      "json_spec.function_name",
      "json_spec.memory_mb",
    ]);
    expect(await fleet.instances.list()).toEqual([]);
    expect(runtime.requests).toEqual([]);
  });

  it("secrets of a custom type become refs in the stored spec and values only in the DeployRequest", async () => {
    const { fleet, runtime, secrets } = await lambdaFleet();
    const inst = await fleet.instances.create({
      name: "fn-secret",
      json_spec: { type: "lambda", function_name: "f", environment: { REGION: "x" } },
      secrets: { API_TOKEN: "canary-lambda-7731" },
    });
    await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    const stored = await fleet.instances.get(inst.id);
    expect(JSON.stringify(stored)).not.toContain("canary-lambda-7731");
    expect((stored.json_spec as { environment: Record<string, string> }).environment.API_TOKEN).toBe(
      `secret_ref:instance_${inst.id}:API_TOKEN`,
    );
    const req = runtime.requests.at(-1)!;
    expect(req.secrets.env).toEqual({ API_TOKEN: "canary-lambda-7731" });
    expect(req.env).toEqual({ REGION: "x" });
    expect(await secrets.get({ scope: `instance_${inst.id}`, key: "API_TOKEN" })).toBe("canary-lambda-7731");
  });

  it("an update is parsed by the same registry (a changed default-bearing field replaces)", async () => {
    const { fleet, runtime } = await lambdaFleet();
    const inst = await fleet.instances.create({ name: "fn-up", json_spec: { type: "lambda", function_name: "a" } });
    await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    const err = await error(fleet.instances.update(inst.id, { json_spec: { type: "lambda", function_name: 7 } }));
    expect(err.issues.map((i) => i.path)).toEqual(["json_spec.function_name"]);
    await fleet.instances.update(inst.id, { json_spec: { type: "lambda", function_name: "a", memory_mb: 1024 } });
    await fleet.idle();
    await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    expect((runtime.requests.at(-1)!.spec as CustomSpec).memory_mb).toBe(1024);
  });
});

describe("createFleet({ specTypes }): a parse function", () => {
  it("its output reaches the runtime; its FleetError issues are the SPEC_INVALID paths", async () => {
    const { fleet, runtime } = await lambdaFleet();
    const inst = await fleet.instances.create({ name: "q", json_spec: { type: "queue", queue: "jobs" } });
    await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    expect(runtime.requests.at(-1)?.spec).toMatchObject({ type: "queue", queue: "jobs", batch: 10, environment: {} });
    const err = await error(fleet.instances.create({ name: "q2", json_spec: { type: "queue", batch: 0 } }));
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues.map((i) => i.path)).toEqual(["json_spec.queue", "json_spec.batch"]);
  });

  it("a plain Error thrown by the parse function is SPEC_INVALID with its message", () => {
    const types = {
      thing: () => {
        throw new Error("thing needs a name");
      },
    };
    const err = (() => {
      try {
        parseInstanceSpec({ type: "thing" }, { types });
      } catch (e) {
        return e as FleetError;
      }
    })();
    expect(err?.code).toBe("SPEC_INVALID");
    expect(err?.issues).toEqual([{ path: "", message: "thing needs a name" }]);
  });

  it("core still checks environment and health_check of a custom type (malformed ref, bad path)", () => {
    const err = (() => {
      try {
        parseInstanceSpec(
          { type: "queue", queue: "q", environment: { K: "secret_ref:bad ref" }, health_check: "no-slash" },
          { types: { queue: parseQueue } },
        );
      } catch (e) {
        return e as FleetError;
      }
    })();
    expect(err?.code).toBe("SPEC_INVALID");
    expect(err?.issues.map((i) => i.path).sort()).toEqual(["environment.K", "health_check"]);
    const ok = parseInstanceSpec(
      { type: "queue", queue: "q", health_check: { path: "/healthz", interval: 2 } },
      { types: { queue: parseQueue } },
    );
    expect(ok.healthCheck).toEqual({ path: "/healthz", intervalMs: 2000, timeoutMs: 5000, retries: 3 });
  });
});

describe("one registry for every type", () => {
  it("built-ins parse through it exactly as parseInstanceSpec does, and list first", () => {
    const registry = specTypeRegistry({ lambda: LambdaSpec });
    expect(registry.types).toEqual(["docker", "container", "url", "process", "lambda"]);
    const doc = { type: "container", image: "nginx:1", port: 80, environment: { A: 1 } };
    expect(registry.parse(doc)).toEqual(parseInstanceSpec(doc));
    const unknown = (() => {
      try {
        registry.parse({ type: "lamda" });
      } catch (e) {
        return e as FleetError;
      }
    })();
    expect(unknown?.issues).toEqual([
      { path: "type", message: "must be one of docker, container, url, process, lambda" },
    ]);
  });

  it("a fleet without the type refuses its specs (the API process needs the same specTypes)", async () => {
    fleet = createFleet({});
    const err = await error(fleet.instances.create({ name: "x", json_spec: { type: "lambda", function_name: "f" } }));
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues[0]).toMatchObject({ path: "json_spec.type" });
  });

  it("an asynchronous schema is refused clearly, not awaited", () => {
    const asyncSchema = {
      "~standard": { version: 1 as const, vendor: "test", validate: async (v: unknown) => ({ value: v }) },
    };
    const err = (() => {
      try {
        parseInstanceSpec({ type: "later" }, { types: { later: asyncSchema } });
      } catch (e) {
        return e as FleetError;
      }
    })();
    expect(err?.code).toBe("UNSUPPORTED");
    expect(err?.message).toContain("synchronously");
  });
});

describe("createFleet refuses inconsistent specTypes and runtimes", () => {
  const cases: [string, () => unknown, string][] = [
    ["a built-in replaced", () => createFleet({ specTypes: { docker: LambdaSpec } }), "specTypes.docker"],
    ["a bad type name", () => createFleet({ specTypes: { "Bad Name": LambdaSpec } }), "specTypes.Bad Name"],
    ["not a schema or function", () => createFleet({ specTypes: { x: { parse: 1 } as never } }), "specTypes.x"],
    [
      "a runtime for an unregistered type",
      () => createFleet({ runtimes: { lambda: memoryRuntime({ types: ["lambda"] }) } }),
      "runtimes.lambda",
    ],
    [
      "a runtime whose types leave out its key",
      () => createFleet({ specTypes: { lambda: LambdaSpec }, runtimes: { lambda: memoryRuntime() } }),
      "runtimes.lambda",
    ],
  ];
  it.each(cases)("%s: OPTIONS_INVALID naming the option", async (_, make, path) => {
    const err = await error(make);
    expect(err.code).toBe("OPTIONS_INVALID");
    expect(err.path).toBe(path);
    expect(err.message).toContain(`[mcpfleet/core] option "${path}"`);
  });

  it("a runtime without declared types serves the key it is given", async () => {
    const rt = memoryRuntime({ types: ["lambda"] });
    const { types: _, ...untyped } = rt;
    fleet = createFleet({ specTypes: { lambda: LambdaSpec }, runtimes: { lambda: { ...untyped, types: undefined } } });
    expect(fleet.runtimeFor("lambda")?.name).toBe("memory");
  });
});
